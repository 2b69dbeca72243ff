package linlens.cli;

import linlens.analysis.OptionException;
import linlens.format.ModelFormatException;
import linlens.model.InputException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.Arrays;

/**
 * The {@code linlens} command. Every failure ends as one line on stderr: exit code 2 for bad input
 * (options, prompts, model files), 1 for internal failures (including running out of memory), with
 * the stack trace only under {@code --verbose}.
 */
@Command(name = "linlens", mixinStandardHelpOptions = true, version = "linlens 0.1.0",
        description = "Exact linear decompositions of LLM next-token predictions (detached Jacobians).",
        // the analyses' subcommands come first, from linlens.analysis.Analyses (commandLine)
        subcommands = {TokenizeCommand.class, ModelsCommand.class, DatasetsCommand.class, ScanCommand.class, ConceptsCommand.class, QueryCommand.class, ScanReportCommand.class,
                BenchCommand.class, ServeCommand.class,
                CommandLine.HelpCommand.class})
public final class Main implements java.util.concurrent.Callable<Integer> {
    public static final int EXIT_BAD_INPUT = 2, EXIT_FAILURE = 1;

    // Built up front: after an OutOfMemoryError or StackOverflowError the handler must not need
    // to build strings, load classes or grow buffers to say what happened.
    static final String OUT_OF_MEMORY = "linlens: error: out of memory (try a shorter prompt or smaller counts, "
            + "or a larger heap: LINLENS_JAVA_OPTS=-Xmx16g)";
    static final String STACK_OVERFLOW = "linlens: error: stack overflow (try a shorter input, or a larger stack: "
            + "LINLENS_JAVA_OPTS=-Xss16m)";
    static final String CANNOT_WRITE_STDOUT = "linlens: cannot write to standard output";
    static final String START_WITH = "start with: linlens decompose --help";
    private static final String VERBOSE_HINT = " (--verbose shows the stack trace)";

    /** Released when memory runs out, so that reporting it has room to work. */
    private static volatile byte[] reserve = new byte[1 << 20];

    @Spec CommandSpec spec;

    /**
     * No subcommand: the usage with the command list and where to start, on stderr with exit 2
     * (a command line that does nothing is a usage error; --help is the way to ask for it).
     */
    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        spec.commandLine().usage(err);
        err.println();
        err.println(START_WITH);
        return EXIT_BAD_INPUT;
    }

    public static void main(String[] args) {
        PrintWriter out = new PrintWriter(System.out, true), err = new PrintWriter(System.err, true);
        boolean verbose = Arrays.asList(args).contains("--verbose");
        // 'serve' keeps running when one request's worker fails (it answers that request itself);
        // any other command cannot finish once one of its threads died, so it ends right there.
        boolean serving = args.length > 0 && "serve".equals(args[0]);
        Thread.setDefaultUncaughtExceptionHandler((thread, t) -> {
            int code = report(t, err, verbose);
            if (!serving) Runtime.getRuntime().exit(code);
        });
        int code;
        try {
            code = execute(args, out, err);
        } catch (Throwable t) {
            code = report(t, err, verbose);
        }
        System.exit(code);
    }

    /** Runs the command line; returns the exit code. */
    public static int execute(String[] args, PrintWriter out, PrintWriter err) {
        boolean verbose = Arrays.asList(args).contains("--verbose");
        int code;
        try {
            code = commandLine(out, err, verbose).execute(args);
        } catch (Throwable t) {
            // Errors (OutOfMemoryError, StackOverflowError...) pass through picocli untouched:
            // its handlers only ever see Exceptions.
            code = report(t, err, verbose);
        } finally {
            ThreadsOption.restore();
        }
        try {
            // PrintWriter and PrintStream swallow write errors (closed pipe, full disk): ask them.
            if (out.checkError()) {
                err.println(CANNOT_WRITE_STDOUT);
                err.flush();
                if (code == 0) code = EXIT_FAILURE;
            }
        } catch (Throwable t) {
            if (code == 0) code = EXIT_FAILURE;
        }
        return code;
    }

    static CommandLine commandLine(PrintWriter out, PrintWriter err, boolean verbose) {
        CommandLine annotated = new CommandLine(new Main());
        // every analysis is a subcommand, listed first; then the annotated tools
        CommandLine cl = new CommandLine(annotated.getCommandSpec().userObject());
        for (var sub : cl.getSubcommands().keySet().toArray(String[]::new)) cl.getCommandSpec().removeSubcommand(sub);
        for (var a : linlens.analysis.Analyses.ALL) cl.addSubcommand(a.name(), AnalysisCommand.of(a));
        annotated.getSubcommands().forEach((name, sub) -> { if (!cl.getSubcommands().containsKey(name)) cl.addSubcommand(name, sub); });
        addHelpOptions(cl);
        cl.setOut(out).setErr(err);
        cl.setParameterExceptionHandler((ex, a) -> {
            try {
                err.println("linlens: " + firstLine(ex.getMessage(), "invalid command line")
                        + " (see '" + ex.getCommandLine().getCommandSpec().qualifiedName() + " --help')");
                if (verbose) ex.printStackTrace(err);
                err.flush();
            } catch (Throwable t) {
                report(t, err, false);
            }
            return EXIT_BAD_INPUT;
        });
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> report(ex, err, verbose));
        return cl;
    }

    /** --help/-h and --version/-V on every (sub)command, so that e.g. 'linlens steer --help' needs no --target. */
    private static void addHelpOptions(CommandLine cl) {
        CommandSpec spec = cl.getCommandSpec();
        boolean hasHelp = spec.options().stream().anyMatch(o -> o.usageHelp());
        if (!hasHelp && !spec.helpCommand()) spec.mixinStandardHelpOptions(true);
        if (spec.version().length == 0) spec.version(spec.root().version());
        for (CommandLine sub : cl.getSubcommands().values()) addHelpOptions(sub);
    }

    /**
     * Prints the one line for a failure (and its trace with --verbose) and returns the exit code.
     * Never throws: it is the last thing between a failure and a raw JVM stack trace.
     */
    static int report(Throwable t, PrintWriter err, boolean verbose) {
        if (t instanceof VirtualMachineError) reserve = null;
        int code = EXIT_FAILURE;
        try {
            Throwable user = userError(t);
            code = user != null ? EXIT_BAD_INPUT : EXIT_FAILURE;
            String line;
            if (t instanceof OutOfMemoryError || t.getCause() instanceof OutOfMemoryError) line = OUT_OF_MEMORY;
            else if (t instanceof StackOverflowError || t.getCause() instanceof StackOverflowError) line = STACK_OVERFLOW;
            // an analysis's option error names its options as typed here (--mlp-path)
            else if (user instanceof OptionException o) line = "linlens: " + firstLine(o.render(OptionException.CLI), "bad option");
            else if (user != null) line = "linlens: " + firstLine(user.getMessage(), user.getClass().getSimpleName());
            else line = "linlens: error: " + firstLine(message(t), t.getClass().getSimpleName()) + (verbose ? "" : VERBOSE_HINT);
            err.println(line);
            if (verbose) t.printStackTrace(err);
            err.flush();
        } catch (Throwable again) {
            try {
                // a failure while reporting (no memory even now, a broken stderr): the pre-built line, raw
                System.err.println(t instanceof StackOverflowError ? STACK_OVERFLOW : OUT_OF_MEMORY);
            } catch (Throwable ignored) {
                // nothing is left to tell it with; the exit code still says it
            }
        }
        return code;
    }

    /** The bad-input exception behind a failure (also when wrapped, e.g. by a worker thread), or null. */
    private static Throwable userError(Throwable t) {
        for (int depth = 0; t != null && depth < 16; t = t.getCause(), depth++)
            if (t instanceof InputException || t instanceof ModelFormatException) return t;
        return null;
    }

    /** The message of a failure, or of its cause when a wrapper only repeats the cause's class name. */
    private static String message(Throwable t) {
        String m = t.getMessage();
        Throwable c = t.getCause();
        if (c != null && (m == null || m.equals(c.toString())) && c.getMessage() != null) return c.getMessage();
        return m;
    }

    private static String firstLine(String message, String fallback) {
        if (message == null || message.isBlank()) return fallback;
        int nl = message.indexOf('\n');
        return (nl < 0 ? message : message.substring(0, nl)).strip();
    }
}
