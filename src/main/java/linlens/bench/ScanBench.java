package linlens.bench;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.ObjectMapper;
import linlens.model.ModelLoader;
import linlens.model.Transformer;
import linlens.report.OutputFiles;
import linlens.scan.DatasetScan;
import linlens.scan.ResultsQuery;
import linlens.scan.ScanSchema;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The bench's scan stage: what {@code linlens scan} does with the default analyses, end to end,
 * over a few prompts written as a JSON Lines dataset in a temporary folder: read the dataset,
 * load the model (as the command does, from its file), scan through {@link DatasetScan} (the
 * model's SHA-256 for scan.json, the prompts, the Parquet parts, the DuckDB view). It reports
 * prompts per hour and how much of the wall time is spent outside the per-prompt work (the rows'
 * own {@code time_total_ms}: tokenizing, forward pass, analyses), split by phase.
 */
public final class ScanBench {
    /**
     * The fastest repeat's figures (seconds).
     *
     * @param prepare         reading the dataset and checking the folder
     * @param modelLoad       loading the model
     * @param setup           from the scan's start to its first row: hashing the model, scan.json, the part store
     * @param promptSeconds   the rows' own time, summed: tokenizing, forward pass and analyses
     * @param commits         writing the Parquet parts
     * @param finish          after the last part: the DuckDB database with its view
     * @param outsideFraction (wall − analyses) / wall
     */
    public record Result(int prompts, List<String> analyses, int repeats,
                  @JsonProperty("wall_s_min") double wallMin, @JsonProperty("wall_s_median") double wallMedian,
                  @JsonProperty("prompts_per_hour") double promptsPerHour,
                  @JsonProperty("prepare_s") double prepare, @JsonProperty("model_load_s") double modelLoad,
                  @JsonProperty("setup_s") double setup, @JsonProperty("prompt_analyses_s") double promptSeconds,
                  @JsonProperty("commit_s") double commits, @JsonProperty("finish_s") double finish,
                  @JsonProperty("outside_analyses_fraction") double outsideFraction) {}

    private final Path model;
    private final int warmup, repeats;

    ScanBench(Path model, int warmup, int repeats) {
        this.model = model;
        this.warmup = warmup;
        this.repeats = repeats;
    }

    Result run(List<String> prompts) throws Exception {
        for (int i = 0; i < warmup; i++) once(prompts);
        List<Result> runs = new ArrayList<>();
        for (int i = 0; i < repeats; i++) {
            if (i > 0) System.gc();  // untimed, as for the other stages
            runs.add(once(prompts));
        }
        double[] walls = runs.stream().mapToDouble(Result::wallMin).sorted().toArray();
        Result best = runs.stream().min((a, b) -> Double.compare(a.wallMin(), b.wallMin())).orElseThrow();
        return new Result(best.prompts(), best.analyses(), repeats, walls[0], walls[walls.length / 2], best.promptsPerHour(),
                best.prepare(), best.modelLoad(), best.setup(), best.promptSeconds(), best.commits(), best.finish(), best.outsideFraction());
    }

    /** One scan into a fresh temporary folder, removed afterwards. */
    private Result once(List<String> prompts) throws Exception {
        Path tmp = Files.createTempDirectory("linlens-bench-scan");
        try {
            Path dataset = tmp.resolve("prompts.jsonl");
            ObjectMapper json = new ObjectMapper();
            StringBuilder b = new StringBuilder();
            for (String p : prompts) b.append(json.writeValueAsString(Map.of("prompt", p))).append('\n');
            Files.writeString(dataset, b);
            Path out = tmp.resolve("out");
            var options = new DatasetScan.Options(ScanSchema.DEFAULT_GROUPS, 4, 256, null, null, 0, null, 0, 1, false, null, 32, 60);

            long t0 = System.nanoTime();
            DatasetScan scan = DatasetScan.prepare(dataset, out, options);
            long t1 = System.nanoTime();
            Transformer m = ModelLoader.load(model);
            long t2 = System.nanoTime();
            long[] started = {0}, lastRow = {0}, lastCommit = {0}, commits = {0};
            scan.run(m, new DatasetScan.Listener() {
                @Override public void started(long total, long done) { started[0] = System.nanoTime(); }
                @Override public void row(long done, long total) { lastRow[0] = System.nanoTime(); }
                @Override public void committed(Path part, int rows, long done, long total) {
                    long now = System.nanoTime();
                    commits[0] += now - Math.max(lastRow[0], Math.max(started[0], lastCommit[0]));
                    lastCommit[0] = now;
                }
            });
            long t3 = System.nanoTime();

            double wall = (t3 - t0) / 1e9;
            Object sum = ResultsQuery.run(out, "SELECT coalesce(sum(time_total_ms), 0) FROM results").rows().getFirst().getFirst();
            double analyses = ((Number) sum).doubleValue() / 1e3;
            return new Result(prompts.size(), options.groups(), 1, wall, wall, prompts.size() / wall * 3600,
                    (t1 - t0) / 1e9, (t2 - t1) / 1e9, (started[0] - t2) / 1e9, analyses, commits[0] / 1e9, (t3 - lastCommit[0]) / 1e9,
                    (wall - analyses) / wall);
        } finally {
            OutputFiles.delete(tmp);
        }
    }

    /**
     * The scan stage's prompts from the bench prompt's tokens: {@code count} leading-token prefixes
     * of lengths spread evenly from one token to all of them (repeating when there are more prompts
     * than tokens), as text.
     */
    public static List<String> prefixes(linlens.tokenizer.Tokenizer tokenizer, String text, int count) {
        int[] ids = tokenizer.encode(text, false, false);
        List<String> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int n = ids.length <= 1 || count == 1 ? ids.length : 1 + (int) ((long) i * (ids.length - 1) / (count - 1));
            out.add(tokenizer.decode(Arrays.copyOf(ids, n)).strip());
        }
        return out;
    }

}
