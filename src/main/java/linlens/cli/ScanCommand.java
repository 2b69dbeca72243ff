package linlens.cli;

import linlens.model.InputException;
import linlens.model.Transformer;
import linlens.scan.DatasetResolver;
import linlens.scan.DatasetScan;
import linlens.scan.ScanEngine;
import linlens.scan.ScanSchema;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "scan", header = "Run the analyses over every prompt of a dataset, into Parquet", description = {
        "Analyse every prompt of a dataset (JSON Lines, CSV, TSV, Parquet, or text",
        "with one prompt a line) with one model load; the results are committed in",
        "batches as Parquet files under --out, with a DuckDB view 'results' over them",
        "in results.duckdb. --resume continues a stopped scan; 'linlens query' runs SQL.",
        "--engine spark runs the same scan as an Apache Spark job (README: \"Scans on Spark\")."})
public class ScanCommand implements Callable<Integer> {
    @Mixin CommonOptions common;
    @Mixin ThreadsOption threads;
    @Spec CommandSpec spec;

    @Option(names = "--dataset", required = true, paramLabel = "FILE", description = "The prompts: .jsonl/.ndjson, .csv, .tsv, .parquet, or any other name for text with one prompt a line.")
    String dataset;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "The results folder (absent or empty; with --resume, a stopped scan's). With --engine spark also any Hadoop URI (file:///..., hdfs://...).")
    String out;

    @Option(names = "--engine", paramLabel = "E", defaultValue = "local", description = "local (this process) or spark (an Apache Spark job; the spark/ module) (default: ${DEFAULT-VALUE}).")
    String engine;

    @Option(names = "--master", paramLabel = "URL", description = "With --engine spark: the Spark master, e.g. local[2] or spark://host:7077 (default: local[*]).")
    String master;

    @Option(names = "--analyses", split = ",", paramLabel = "A",
            description = "Any of predict, decompose, attribute, layers, concept (default: predict,attribute; predict is always on).")
    List<String> analyses;

    @Option(names = "--concept", paramLabel = "NAME", description = "The concept of the concept analysis (see 'linlens concepts list'); adds it to --analyses.")
    String concept;

    @Option(names = "--k", paramLabel = "K", defaultValue = "4", description = "Singular values of each matrix-free top-k (decompose, concept; default: ${DEFAULT-VALUE}).")
    int k;

    @Option(names = "--max-tokens", paramLabel = "N", defaultValue = "256", description = "Longer prompts are recorded with an error (default: ${DEFAULT-VALUE}).")
    int maxTokens;

    @Option(names = "--limit", paramLabel = "N", description = "Only the first N rows of the dataset.")
    Long limit;

    @Option(names = "--sample", paramLabel = "N", description = "A random sample of N rows (the same for the same --seed and dataset).")
    Long sample;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "0", description = "The sample's seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--prompt-column", paramLabel = "NAME", description = "The prompt's field or column (default: prompt).")
    String promptColumn;

    @Option(names = "--shard", paramLabel = "i/N", description = "Only the rows whose index modulo N is i (0-based), e.g. 0/4.")
    String shard;

    @Option(names = "--resume", description = "Continue the scan in --out, skipping the rows it has committed (refused when the model, dataset or options differ).")
    boolean resume;

    @Option(names = "--batch", paramLabel = "N", defaultValue = "32", description = "Rows per committed part (default: ${DEFAULT-VALUE}; a part is also committed after 60 s).")
    int batch;

    /** Option errors (OptionException) are rendered with the command line's names by {@link Main}. */
    @Override
    public Integer call() throws Exception {
        Bounds.within("--k", k, 1, 4096, null);
        Bounds.within("--max-tokens", maxTokens, 1, 1 << 20, null);
        Bounds.within("--batch", batch, 1, 1_000_000, null);
        if (limit != null) Bounds.atLeast("--limit", limit, 1);
        if (sample != null) Bounds.atLeast("--sample", sample, 1);
        int[] sh = parseShard(shard);
        ScanEngine other = engine(engine, master, resume);
        // --out: a folder here, unless another engine writes to a URI with a scheme (hdfs://, s3a://...)
        Path outDir = other == null ? localPath(out, false) : isRemote(out) ? null : localPath(out, true);
        PrintWriter o = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        List<String> groups = new java.util.ArrayList<>(analyses == null ? ScanSchema.DEFAULT_GROUPS : analyses);
        if (concept != null && !groups.contains("concept")) groups.add("concept");
        var options = new DatasetScan.Options(groups, k, maxTokens, limit, sample, seed,
                promptColumn, sh[0], sh[1], resume, threads.threads, batch, 60, concept);
        // a built-in dataset's name is fetched into the cache on first use, as a catalog model is
        Path file = DatasetResolver.FILES.resolve(linlens.datasets.Datasets.resolve(dataset,
                line -> { if (!common.quiet) err.println(line); }, ConsoleProgress.of(err, common.quiet)).toString());
        DatasetScan scan = DatasetScan.prepare(file, outDir, options);
        threads.apply();
        Transformer m = common.load(err);
        if (options.maxTokens() > m.config().context())
            throw new InputException("--max-tokens " + maxTokens + " out of range 1.." + m.config().context() + " (the model's context)");
        var summary = other == null ? scan.run(m, ScanProgress.of(err, common.quiet))
                : other.run(new ScanEngine.Request(scan, out, outDir, m, Path.of(linlens.analysis.ModelInfo.of(m).source()), common.model,
                        master, threads.threads, err, common.quiet), ScanProgress.of(err, common.quiet));
        o.printf("scanned %d prompts (%d with an error)%s; %d rows in %s%n", summary.scanned(), summary.errors(),
                summary.resumed() > 0 ? ", " + summary.resumed() + " done before" : "", summary.total(), outDir != null ? outDir : out);
        if (outDir != null)
            o.printf("query: linlens query %s \"SELECT row_index, predicted_token FROM results ORDER BY row_index LIMIT 10\"%n", outDir);
        return 0;
    }

    /**
     * The engine --engine names: null for the local one (this process), else the one found on the
     * class path; refuses options that only one of them takes.
     */
    static ScanEngine engine(String name, String master, boolean resume) {
        if (name.equals("local")) {
            if (master != null) throw new InputException("--master: only with --engine spark");
            return null;
        }
        if (!name.equals("spark")) throw new InputException("--engine '" + name + "': choose local or spark");
        if (resume)
            throw new InputException("--resume: not with --engine spark (a Spark job commits all its parts or none; run it again into a new --out)");
        ScanEngine e = ScanEngine.find(name);
        if (e == null)
            throw new InputException("--engine spark: the Spark module is not on the class path; run it through bin/linlens (which builds spark/ on first use)"
                    + " or build it with 'mvn install -DskipTests && (cd spark && mvn package -DskipTests)'");
        return e;
    }

    /** A URI with a scheme other than file: (hdfs://, s3a://, ...): not a folder of this machine. */
    static boolean isRemote(String out) {
        int colon = out.indexOf("://");
        return colon > 1 && out.substring(0, colon).matches("[A-Za-z][A-Za-z0-9+.-]*") && !out.regionMatches(true, 0, "file:", 0, 5);
    }

    /** --out as a folder of this machine (for another engine, a file: URI as its path). */
    static Path localPath(String out, boolean uri) {
        try {
            if (uri && out.regionMatches(true, 0, "file:", 0, 5)) return Path.of(java.net.URI.create(out));
            return Path.of(out);
        } catch (IllegalArgumentException | java.nio.file.FileSystemNotFoundException e) {
            throw new InputException("--out " + out + ": not a valid path (" + e.getMessage() + ")");
        }
    }

    /** "i/N" → {i, N}; absent → {0, 1}. */
    static int[] parseShard(String s) {
        if (s == null) return new int[]{0, 1};
        String[] p = s.split("/", -1);
        try {
            if (p.length == 2) {
                int i = Integer.parseInt(p[0].strip()), n = Integer.parseInt(p[1].strip());
                if (n >= 1 && n <= 1_000_000 && i >= 0 && i < n) return new int[]{i, n};
            }
        } catch (NumberFormatException ignored) {
            // said below
        }
        throw new InputException("--shard '" + s + "': expected i/N with 0 <= i < N, e.g. 0/4");
    }
}
