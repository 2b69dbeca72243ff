package linlens.cli;

import linlens.bench.Benchmark;
import linlens.bench.ScanBench;
import linlens.model.InputException;
import linlens.model.Prompts;
import linlens.model.Transformer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "bench", header = "Time each stage of the job against this machine's sgemm peak", description = {
        "Time the job's stages (forward pass, full detached Jacobian, forward pass + Jacobian, SVD and decoding,",
        "matrix-free top-k; on request the layer sweep over every layer and site, materialized or matrix-free) with",
        "warm-up and repeats: wall time, FLOPs, GFLOP/s, fraction of the sgemm peak measured in the same run, peak",
        "memory. Prompts of given token counts are the leading tokens of --prompt or --prompt-file. The scan stage",
        "runs 'linlens scan' (default analyses) over --scan-prompts prefixes of the prompt: prompts per hour, and the",
        "share of the wall time outside the per-prompt work (model load, hashing, Parquet and DuckDB writes)."})
public final class BenchCommand implements Callable<Integer> {
    /** Warm-up and timed runs per stage: a bound so that a typo cannot keep the machine busy for days. */
    static final int MAX_RUNS = 1000;

    @Mixin CommonOptions common;
    @Spec CommandSpec spec;

    @Mixin PromptOption promptOption;

    @Option(names = "--prompt-file", paramLabel = "FILE", description = "Read the prompt text from a UTF-8 file instead.")
    Path promptFile;

    @Option(names = "--tokens", split = ",", paramLabel = "N[,N...]",
            description = "Benchmark the first N tokens of the prompt for each N (default: the whole prompt).")
    List<Integer> tokens;

    @Option(names = "--stages", split = ",", paramLabel = "STAGE[,STAGE...]",
            description = "Any of forward, jacobian, forward_jacobian, svd_decode, topk, topk_last, layers, layers_topk, scan "
                    + "(default: forward, jacobian, forward_jacobian, svd_decode, topk).")
    List<String> stages;

    @Option(names = "--warmup", description = "Untimed runs per stage (default: ${DEFAULT-VALUE}).", defaultValue = "1")
    int warmup;

    @Option(names = "--repeats", description = "Timed runs per stage (default: ${DEFAULT-VALUE}).", defaultValue = "3")
    int repeats;

    @Option(names = "--k", description = "Singular triplets of the matrix-free top-k, in topk and layers_topk (default: ${DEFAULT-VALUE}).", defaultValue = "16")
    int topK;

    @Option(names = "--power-iterations", paramLabel = "Q", defaultValue = "3",
            description = "Power iterations of the matrix-free top-k (2Q+2 sweeps; default: ${DEFAULT-VALUE}).")
    int powerIterations;

    @Option(names = "--oversampling", paramLabel = "P", defaultValue = "16",
            description = "Vectors beyond --k in each sweep of the matrix-free top-k (default: ${DEFAULT-VALUE}).")
    int oversampling;

    @Option(names = "--layers", split = ",", paramLabel = "L[,L...]",
            description = "Layers of the layer sweeps (default: every layer).")
    List<Integer> layers;

    @Option(names = "--sweep-memory", paramLabel = "MB", defaultValue = "1024",
            description = "Work memory of the Jacobian's sweeps, in MB: more carries more cotangents per sweep (default: ${DEFAULT-VALUE}).")
    long sweepMemory;

    @Option(names = "--scan-prompts", paramLabel = "N", defaultValue = "8",
            description = "Prompts of the scan stage: leading-token prefixes of the prompt, from one token to all (default: ${DEFAULT-VALUE}).")
    int scanPrompts;

    @Mixin ThreadsOption threads;

    @Option(names = "--json", paramLabel = "FILE", description = "Write the report as JSON.")
    Path json;

    @Override
    public Integer call() throws Exception {
        Bounds.within("--warmup", warmup, 0, MAX_RUNS, null);
        Bounds.within("--repeats", repeats, 1, MAX_RUNS, null);
        Bounds.atLeast("--k", topK, 1);
        if (tokens != null) for (int n : tokens) Bounds.atLeast("--tokens", n, 1);
        Bounds.within("--scan-prompts", scanPrompts, 1, 100_000, null);
        Bounds.within("--power-iterations", powerIterations, 0, 20, null);
        Bounds.within("--oversampling", oversampling, 0, 4096, null);
        Bounds.within("--sweep-memory", sweepMemory, 16, 1 << 20, "MB");
        List<Benchmark.Stage> st = parseStages();
        OutputTargets.check(json, null, null);
        threads.apply();
        String text = promptText();
        PrintWriter out = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        Transformer m = common.load(err);
        if (st.contains(Benchmark.Stage.TOPK) || st.contains(Benchmark.Stage.TOPK_LAST) || st.contains(Benchmark.Stage.LAYERS_TOPK))
            Bounds.width("--k", topK, m);
        int[] all = Prompts.encode(m, text);
        List<int[]> prompts = new ArrayList<>();
        for (int n : tokens == null ? List.of(all.length) : tokens) {
            if (n < 1 || n > all.length)
                throw new InputException("--tokens " + n + " out of range: the prompt has " + all.length + " tokens");
            prompts.add(Arrays.copyOf(all, n));
        }
        List<String> scanTexts = st.contains(Benchmark.Stage.SCAN) ? ScanBench.prefixes(m.tokenizer(), text, scanPrompts) : List.of();
        int[] layerList = null;
        if (layers != null) {
            layerList = layers.stream().mapToInt(Integer::intValue).toArray();
            for (int l : layerList) Bounds.within("--layers", l, 0, m.config().layers() - 1, null);
        }
        var options = new Benchmark.Options(warmup, repeats, topK, 8, st, layerList, powerIterations, oversampling, sweepMemory << 20);
        var report = new Benchmark(m, options, out::println).run(prompts, scanTexts);
        if (json != null) {
            JsonOutput.write(json, report);
            out.println("JSON written to " + json);
        }
        return 0;
    }

    private String promptText() {
        if (promptFile == null) return promptOption.prompt;
        try {
            return Files.readString(promptFile, StandardCharsets.UTF_8).strip();
        } catch (IOException e) {
            throw new InputException("cannot read --prompt-file " + promptFile + ": " + e.getMessage());
        }
    }

    private List<Benchmark.Stage> parseStages() {
        if (stages == null) return Benchmark.Stage.DEFAULT;
        List<Benchmark.Stage> st = new ArrayList<>();
        for (String s : stages) {
            try {
                st.add(Benchmark.Stage.valueOf(s.trim().toUpperCase()));
            } catch (IllegalArgumentException e) {
                throw new InputException("unknown stage '" + s + "' (expected one of " + String.join(", ",
                        java.util.Arrays.stream(Benchmark.Stage.values()).map(v -> v.name().toLowerCase()).toList()) + ")");
            }
        }
        return st;
    }
}
