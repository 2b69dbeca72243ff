package linlens.cli;

import linlens.format.ModelFormatException;
import linlens.model.InputException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.PrintWriter;
import java.util.Arrays;

/** The {@code linlens} command. Bad input ends with one line on stderr and exit code 2. */
@Command(name = "linlens", mixinStandardHelpOptions = true, version = "linlens 0.1.0",
        description = "Exact linear decompositions of LLM next-token predictions (detached Jacobians).",
        subcommands = {DecomposeCommand.class, LayersCommand.class, AttributeCommand.class, SteerCommand.class,
                PredictCommand.class, TokenizeCommand.class, ModelsCommand.class, BenchCommand.class, ServeCommand.class})
public final class Main implements Runnable {
    public static final int EXIT_BAD_INPUT = 2, EXIT_FAILURE = 1;

    @Override
    public void run() { new CommandLine(this).usage(System.out); }

    public static void main(String[] args) {
        System.exit(execute(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Runs the command line; returns the exit code. */
    public static int execute(String[] args, PrintWriter out, PrintWriter err) {
        boolean verbose = Arrays.asList(args).contains("--verbose");
        CommandLine cl = new CommandLine(new Main());
        cl.setOut(out).setErr(err);
        cl.setParameterExceptionHandler((ex, a) -> {
            String sub = ex.getCommandLine().getCommandName();
            err.println("linlens: " + ex.getMessage() + " (see 'linlens " + ("linlens".equals(sub) ? "" : sub + " ") + "--help')");
            return EXIT_BAD_INPUT;
        });
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            Throwable t = ex;
            boolean user = t instanceof ModelFormatException || t instanceof InputException;
            String msg = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
            if (t instanceof OutOfMemoryError) msg = "out of memory (try a shorter prompt or a larger -Xmx via LINLENS_JAVA_OPTS)";
            err.println("linlens: " + (user ? "" : "error: ") + msg.lines().findFirst().orElse(msg));
            if (verbose) t.printStackTrace(err);
            return user ? EXIT_BAD_INPUT : EXIT_FAILURE;
        });
        return cl.execute(args);
    }
}
