package linlens.bench;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import linlens.analysis.ArraySink;
import linlens.analysis.LayerAnalysis;
import linlens.analysis.MatrixFreeSvd;
import linlens.analysis.ModelInfo;
import linlens.analysis.PromptContext;
import linlens.analysis.Spectrum;
import linlens.analysis.Svd;
import linlens.analysis.TokenDecoder;
import linlens.blas.Arith;
import linlens.blas.Blas;
import linlens.blas.WeightGemm;
import linlens.analysis.JacobianOperator;
import linlens.linear.SweepMemory;
import linlens.model.WeightStream;
import linlens.format.StoredMatrix;
import linlens.linear.DetachedSystem;
import linlens.linear.Precision;
import linlens.linear.Site;
import linlens.model.ForwardPass;
import linlens.model.ForwardTrace;
import linlens.model.MlpPath;
import linlens.model.Transformer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Times the stages of the job on one model and prompt, fp32 for the linear system: the forward
 * pass, the full detached Jacobian, the per-position SVDs with token decoding, the
 * matrix-free tokens-combined top-k, and (when asked) the layer sweep of {@code linlens layers}
 * over every layer and site, materialized or matrix-free. Each stage is warmed up, then repeated; it reports wall
 * time, floating-point operations (GEMM operations counted as issued, plus the documented
 * LAPACK estimate for the SVDs), GFLOP/s, the ratio to the sgemm peak measured in the same run,
 * and peak memory.
 */
public final class Benchmark {
    /** Work memory the Jacobian sweep may use for its buffers (as in the decompose job). */
    public static final long JACOBIAN_BUDGET = 1L << 30;
    /** Golub and Van Loan's operation count for Σ, U and V of a square m×m matrix: 21·m³. */
    static final double SVD_FLOPS_PER_CUBE = 21;

    public enum Stage {
        FORWARD, JACOBIAN, FORWARD_JACOBIAN, SVD_DECODE, TOPK, TOPK_LAST, LAYERS, LAYERS_TOPK, SCAN;

        /** What runs without --stages: the decompose job's stages (the layer sweeps are long, and asked for by name). */
        public static final List<Stage> DEFAULT = List.of(FORWARD, JACOBIAN, FORWARD_JACOBIAN, SVD_DECODE, TOPK);
    }

    /** The layer sweep decodes what {@code linlens layers} decodes by default: 4 pairs, 6 tokens each. */
    static final int LAYER_COMPONENTS = 4, LAYER_TOP = 6;

    /**
     * @param layers         the layers of the layer sweeps (null: every layer)
     * @param powerIterations the matrix-free top-k's power iterations q (2q+2 sweeps)
     * @param oversampling   its vectors beyond k per sweep
     * @param sweepBytes     the work memory a Jacobian's sweeps may use (vectors per sweep follow from it)
     */
    public record Options(int warmup, int repeats, int topK, int decodeComponents, List<Stage> stages, int[] layers,
                          int powerIterations, int oversampling, long sweepBytes) {
        public Options(int warmup, int repeats, int topK, int decodeComponents, List<Stage> stages) {
            this(warmup, repeats, topK, decodeComponents, stages, null, MatrixFreeSvd.POWER_ITERATIONS,
                    MatrixFreeSvd.OVERSAMPLING, JACOBIAN_BUDGET);
        }
    }

    public record SgemmPeak(double gflops, List<String> shapes) {}

    public record StageResult(String stage, @JsonProperty("wall_s_min") double wallMin,
                              @JsonProperty("wall_s_median") double wallMedian, int repeats, double flops,
                              @JsonProperty("gemm_flops") double gemmFlops, @JsonProperty("gemm_s") double gemmSeconds,
                              @JsonProperty("gflop_per_s") double gflops, @JsonProperty("fraction_of_sgemm_peak") double peakFraction,
                              @JsonProperty("peak_rss_bytes") long peakRss, @JsonProperty("peak_heap_bytes") long peakHeap,
                              String note, @JsonProperty("decode_s") double decodeSeconds,
                              @JsonProperty("disk_wait_s") double diskWaitSeconds,
                              @JsonProperty("disk_read_bytes") long diskReadBytes,
                              @JsonProperty("paged_in_bytes") long pagedInBytes, int sweeps) {
        StageResult withNote(String text) {
            return new StageResult(stage, wallMin, wallMedian, repeats, flops, gemmFlops, gemmSeconds, gflops, peakFraction, peakRss,
                    peakHeap, text, decodeSeconds, diskWaitSeconds, diskReadBytes, pagedInBytes, sweeps);
        }

        StageResult withSweeps(int count) {
            return new StageResult(stage, wallMin, wallMedian, repeats, flops, gemmFlops, gemmSeconds, gflops, peakFraction, peakRss,
                    peakHeap, note, decodeSeconds, diskWaitSeconds, diskReadBytes, pagedInBytes, count);
        }

        StageResult withPeak(double peakGflops) {
            return new StageResult(stage, wallMin, wallMedian, repeats, flops, gemmFlops, gemmSeconds, gflops, gflops / peakGflops, peakRss,
                    peakHeap, note, decodeSeconds, diskWaitSeconds, diskReadBytes, pagedInBytes, sweeps);
        }

        /** Wall time over the time the counted FLOPs take at the sgemm peak: 1 is the machine's limit. */
        @JsonProperty("at_peak_ratio")
        public double atPeakRatio() { return peakFraction > 0 ? 1 / peakFraction : Double.NaN; }
    }

    public record PromptResult(int tokens, @JsonProperty("token_ids") int[] ids,
                               @JsonProperty("jacobian_bytes") long jacobianBytes,
                               @JsonProperty("memory_target_bytes") long memoryTarget, List<StageResult> stages) {}

    public record Report(ModelInfo model, @JsonProperty("stored_weights_bytes") long storedBytes,
                         @JsonProperty("matrix_parameters") long parameters,
                         @JsonProperty("cpu_cores") int cores, @JsonProperty("blas_threads") int blasThreads,
                         @JsonProperty("java") String java, @JsonProperty("sgemm_peak") SgemmPeak peak,
                         @JsonProperty("cpu_model") String cpuModel, @JsonProperty("physical_memory_bytes") long physicalMemory,
                         @JsonProperty("streaming") boolean streaming,
                         @JsonInclude(JsonInclude.Include.NON_NULL) @JsonProperty("disk_read_rate") DiskRate diskRate,
                         List<PromptResult> prompts,
                         @JsonInclude(JsonInclude.Include.NON_NULL) ScanBench.Result scan) {}

    private final Transformer model;
    private final Options opt;
    private final Consumer<String> log;

    public Benchmark(Transformer model, Options opt, Consumer<String> log) {
        this.model = model;
        this.opt = opt;
        this.log = log;
    }

    /**
     * Runs every stage on every prompt. The sgemm peak is measured before and after the stages and
     * the better of the two is the reference, so a busy moment at the start cannot inflate the ratios.
     */
    public Report run(List<int[]> prompts) throws Exception {
        return run(prompts, List.of());
    }

    /**
     * As {@link #run(List)}, and the scan stage (when asked) over {@code scanPrompts}; the
     * per-prompt stages run only when one of them is asked.
     */
    public Report run(List<int[]> prompts, List<String> scanPrompts) throws Exception {
        SgemmPeak before = sgemmPeak();
        log.accept(String.format("sgemm peak %.1f GFLOP/s (%s)", before.gflops(), String.join(", ", before.shapes())));
        List<PromptResult> measured = new ArrayList<>();
        if (opt.stages().stream().anyMatch(s -> s != Stage.SCAN))
            for (int[] ids : prompts) measured.add(prompt(ids, before.gflops()));
        ScanBench.Result scan = null;
        if (opt.stages().contains(Stage.SCAN)) {
            scan = new ScanBench(Path.of(model.source()), opt.warmup(), opt.repeats()).run(scanPrompts);
            log.accept(String.format("  %-22s %d prompts: %8.3f s  %.0f prompts/hour  model load %.2f s, per-prompt analyses %.2f s, "
                            + "outside them %.1f%% of the wall time", "scan", scan.prompts(), scan.wallMin(), scan.promptsPerHour(),
                    scan.modelLoad(), scan.promptSeconds(), 100 * scan.outsideFraction()));
        }
        SgemmPeak after = sgemmPeak();
        // the disk's own rate, where the weights stream from it: what a disk-bound stage is compared with
        DiskRate diskRate = WeightStream.of(model).streaming() ? DiskRate.measure(Path.of(model.source()), log) : null;
        log.accept(String.format("sgemm peak after the stages %.1f GFLOP/s", after.gflops()));
        SgemmPeak peak = after.gflops() > before.gflops() ? after : before;
        List<PromptResult> out = new ArrayList<>();
        for (PromptResult p : measured) {
            List<StageResult> st = new ArrayList<>();
            for (StageResult r : p.stages()) st.add(r.withPeak(peak.gflops()));
            out.add(new PromptResult(p.tokens(), p.ids(), p.jacobianBytes(), p.memoryTarget(), st));
        }
        return new Report(ModelInfo.of(model), Files.size(Path.of(model.source())), matrixParameters(),
                Runtime.getRuntime().availableProcessors(), Blas.threads(), Runtime.version().toString(), peak,
                ProcessMemory.cpuModel(), WeightStream.physicalMemory(), WeightStream.of(model).streaming(), diskRate, out, scan);
    }

    /** Entries of the model's weight matrices (embedding, separate head, every layer's projections). */
    private long matrixParameters() {
        long p = (long) model.embedding().rows() * model.embedding().cols();
        if (!model.tiedHead()) p += (long) model.output().rows() * model.output().cols();
        for (Transformer.Layer l : model.layers())
            for (StoredMatrix w : List.of(l.wq(), l.wk(), l.wv(), l.wo(), l.gate(), l.up(), l.down()))
                p += (long) w.rows() * w.cols();
        return p;
    }

    /** The best sgemm rate over a square product and the Jacobian sweep's largest shape (capped for big models). */
    SgemmPeak sgemmPeak() {
        int d = model.config().dim(), f = model.config().ffnDim();
        int[][] shapes = {{2048, 2048, 2048}, {Math.min(8 * d, 4096), Math.min(f, 4096), Math.min(d, 2048)}};
        double best = 0;
        List<String> names = new ArrayList<>();
        Random rnd = new Random(1);
        for (int[] s : shapes) {
            int m = s[0], n = s[1], k = s[2];
            float[] a = new float[m * k], b = new float[k * n], c = new float[m * n];
            for (int i = 0; i < a.length; i++) a[i] = rnd.nextFloat();
            for (int i = 0; i < b.length; i++) b[i] = rnd.nextFloat();
            for (int r = 0; r < 8; r++) {
                long t0 = System.nanoTime();
                Blas.sgemm(false, false, m, n, k, 1f, a, 0, k, b, 0, n, 0f, c, 0, n);
                double g = 2.0 * m * n * k / (System.nanoTime() - t0);
                if (r >= 2) best = Math.max(best, g);   // the first rounds warm caches and threads
            }
            names.add(m + "x" + n + "x" + k);
        }
        return new SgemmPeak(best, names);
    }

    private PromptResult prompt(int[] ids, double peak) throws Exception {
        int n = ids.length, d = model.config().dim();
        long jacBytes = 4L * n * d * d;
        long target = Files.size(Path.of(model.source())) + 2 * jacBytes + (1L << 30);
        log.accept("prompt of " + n + " tokens");
        List<StageResult> res = new ArrayList<>();
        ForwardPass fp = new ForwardPass(model);
        // the forward stage's own trace is the one the other stages use (a 70B forward pass reads the whole model)
        ForwardTrace[] traced = {null};
        if (opt.stages().contains(Stage.FORWARD)) {
            StageResult r = measure("forward", peak, 0, null, () -> traced[0] = fp.run(ids));
            logStage(r);
            res.add(r);
        }
        ForwardTrace tr = traced[0] != null ? traced[0] : fp.run(ids);
        jacobian = null;
        for (Stage s : opt.stages()) {
            if (s == Stage.SCAN || s == Stage.FORWARD) continue;  // the scan runs over many prompts, once after the prompts' stages
            StageResult r = switch (s) {
                case FORWARD -> throw new IllegalStateException("measured above");
                case JACOBIAN -> measure("jacobian", peak, 0, "all J_i by reverse sweeps of " + vectorsPerSweep(n) + " cotangents",
                        () -> jacobian = system(tr).jacobian(opt.sweepBytes()));
                // what the reference's one autograd call does: a forward pass, then J (no logits: J needs only y)
                case FORWARD_JACOBIAN -> measure("forward_jacobian", peak, 0, "fp64 forward pass without logits + fp32 J",
                        () -> system(new ForwardPass(model).logits(false).run(ids)).jacobian(opt.sweepBytes()));
                case SVD_DECODE -> {
                    float[] jac = jacobian != null ? jacobian : system(tr).jacobian(opt.sweepBytes());
                    TokenDecoder dec = new TokenDecoder(model);
                    yield measure("svd_decode", peak, n * SVD_FLOPS_PER_CUBE * Math.pow(d, 3) + combinedSvdFlops(n, d),
                            "SVDs of every J_i and of the tokens-combined [J_0 … J_T]; SVD FLOPs: 21·d³ per position and "
                                    + "4·d²·nd + 22·d³ tokens combined (LAPACK gesdd, estimates); decoding GEMMs counted",
                            () -> svdAndDecode(jac, tr, dec));
                }
                case TOPK -> {
                    MatrixFreeSvd.Result[] got = {null};
                    StageResult t = measure("topk_tokens_combined", peak, 0, topkNote(),
                            () -> {
                                DetachedSystem<float[]> sys = system(tr);
                                return got[0] = MatrixFreeSvd.top(sys, JacobianOperator.allPositions(sys), opt.topK(),
                                        opt.oversampling(), opt.powerIterations(), 1, tr.y());
                            }).withSweeps(got[0].sweeps());
                    yield jacobian != null || (long) n * d * d <= AGREEMENT_MAX_ENTRIES ? t.withNote(t.note() + "; " + agreement(tr, got[0])) : t;
                }
                case TOPK_LAST -> {
                    MatrixFreeSvd.Result[] got = {null};
                    yield measure("topk_last_position", peak, 0, topkNote(),
                            () -> got[0] = MatrixFreeSvd.top(system(tr).lastPositionOnly(), new int[]{0}, opt.topK(),
                                    opt.oversampling(), opt.powerIterations(), 1, tr.y())).withSweeps(got[0].sweeps());
                }
                case LAYERS -> measure("layers", peak, 0, layersText() + " × layer/attn/mlp: cumulative and layer-wise J, "
                                + "full SVDs (LAPACK, not counted), " + LAYER_COMPONENTS + " pairs decoded each",
                        () -> layerSweep(tr, false));
                case LAYERS_TOPK -> measure("layers_topk", peak, 0, layersText() + " × layer/attn/mlp matrix-free: top-" + opt.topK()
                                + " of the cumulative and layer-wise J, last position and tokens combined, "
                                + LAYER_COMPONENTS + " pairs decoded each",
                        () -> layerSweep(tr, true));
                case SCAN -> throw new IllegalStateException("the scan stage runs over many prompts");
            };
            logStage(r);
            res.add(r);
        }
        jacobian = null;
        return new PromptResult(n, ids, jacBytes, target, res);
    }

    /** The J the jacobian stage made for this prompt (null before it): the SVD stage and the top-k's check reuse it. */
    private float[] jacobian;

    private void logStage(StageResult r) {
        log.accept(String.format("  %-22s %8.3f s  %8.1f GFLOP/s  %5.1f%% of sgemm peak  in GEMMs %6.3f s  decoding %6.3f s  "
                        + "disk wait %6.3f s  read %6.2f GB  peak RSS %6.0f MB",
                r.stage(), r.wallMin(), r.gflops(), 100 * r.peakFraction(), r.gemmSeconds(), r.decodeSeconds(), r.diskWaitSeconds(),
                r.diskReadBytes() / 1e9, r.peakRss() / 1e6));
    }

    private String topkNote() {
        return "k=" + opt.topK() + ", randomized block Krylov, " + opt.powerIterations() + " power iteration"
                + (opt.powerIterations() == 1 ? "" : "s") + ", oversampling " + opt.oversampling();
    }

    private String layersText() {
        return opt.layers() == null ? "every layer" : "layers " + Arrays.toString(opt.layers()).replaceAll("[\\[\\] ]", "");
    }

    private int vectorsPerSweep(int n) {
        return SweepMemory.vectorsPerSweep(opt.sweepBytes(), SweepMemory.bytesPerVector(model.config(), n, Arith.F32), model.config().dim());
    }

    /** LAPACK gesdd on the d × n·d tokens-combined J, an estimate: 4·m²·n + 22·m³ (m = d, n = n·d; Golub and Van Loan). */
    static double combinedSvdFlops(int n, int d) {
        return 4.0 * d * d * ((double) n * d) + 22.0 * Math.pow(d, 3);
    }

    /**
     * Up to this many entries of J (n·d·d: 64 tokens of a 640-wide model), the top-k is also checked
     * against LAPACK's full SVD; beyond, materializing J and its SVD would take longer than the stage.
     */
    static final long AGREEMENT_MAX_ENTRIES = 64L * 640 * 640;

    /**
     * Untimed: how far the matrix-free top-k is from the full SVD of the materialized
     * tokens-combined J (LAPACK, fp64): the largest relative difference of the top 8 singular
     * values and the largest principal angle between the top-k left singular subspaces.
     */
    private String agreement(ForwardTrace tr, MatrixFreeSvd.Result r) {
        int n = tr.n(), d = model.config().dim(), k = opt.topK(), top = Math.min(8, k);
        float[] jac = jacobian != null ? jacobian : system(tr).jacobian(opt.sweepBytes());
        double[] jac64 = new double[jac.length];
        for (int i = 0; i < jac.length; i++) jac64[i] = jac[i];
        Spectrum exact = Svd.combined(Arith.F64, jac64, n, d, k, tr.y());
        double[] s = exact.singularValues();
        double sigma = 0;
        for (int i = 0; i < top; i++) sigma = Math.max(sigma, Math.abs(r.singularValues()[i] - s[i]) / s[i]);
        double[][] exactU = exact.u();
        double worstTop = Arrays.stream(MatrixFreeSvd.principalAngles(Arrays.copyOf(r.u(), top), Arrays.copyOf(exactU, top)))
                .max().orElse(0);
        double worstAll = Arrays.stream(MatrixFreeSvd.principalAngles(r.u(), exactU)).max().orElse(0);
        return String.format("vs LAPACK's full SVD of J: top-%d singular values max relative difference %.2e; "
                + "largest principal angle between the left singular subspaces: top-%d %.2e rad, top-%d %.2e rad",
                top, sigma, top, worstTop, k, worstAll);
    }

    /** {@code linlens layers} with every layer and site, fp32, materialized or matrix-free (top-k of size --k). */
    private LayerAnalysis.Result layerSweep(ForwardTrace tr, boolean matrixFree) {
        int[] all = opt.layers() != null ? opt.layers() : java.util.stream.IntStream.range(0, model.config().layers()).toArray();
        var o = new LayerAnalysis.Options(all, List.of(Site.values()), Precision.FP32, MlpPath.UP, LAYER_COMPONENTS, LAYER_TOP);
        return new LayerAnalysis().run(PromptContext.of(model, "", tr), matrixFree ? o.matrixFree(opt.topK()) : o,
                linlens.model.Progress.NONE, ArraySink.NONE);
    }

    private DetachedSystem<float[]> system(ForwardTrace tr) {
        return new DetachedSystem<>(model, tr, MlpPath.UP, Arith.F32);
    }

    private Object svdAndDecode(float[] jac, ForwardTrace tr, TokenDecoder dec) {
        int n = tr.n(), d = model.config().dim();
        List<double[]> us = new ArrayList<>(), vs = new ArrayList<>();
        for (int t = 0; t < n; t++) {
            Spectrum s = Svd.of(Arith.F32, jac, t * d * d, d, d, opt.decodeComponents(), tr.y(), t);
            us.addAll(List.of(s.u()));
            vs.addAll(List.of(s.v()));
        }
        Spectrum comb = Svd.combined(Arith.F32, jac, n, d, opt.decodeComponents(), tr.y());
        us.addAll(List.of(comb.u()));
        vs.addAll(List.of(comb.v()));
        dec.byUnembedding(us.toArray(double[][]::new), 8);
        return dec.byEmbeddingCosine(vs.toArray(double[][]::new), 8);
    }

    /**
     * Warm-up runs, then timed repeats; FLOPs are the GEMM operations one run issues plus
     * {@code extraFlops}. Peak memory covers the timed repeats.
     */
    private StageResult measure(String name, double peak, double extraFlops, String note, Supplier<Object> work) {
        for (int i = 0; i < opt.warmup(); i++) work.get();
        double[] secs = new double[opt.repeats()];
        long flops = 0;
        double gemmSecs = 0, best = Double.POSITIVE_INFINITY;  // inside BLAS GEMM calls, in the fastest repeat
        double decodeSecs = 0, waitSecs = 0;  // decoding weight tiles; waiting for streamed weights (fastest repeat)
        long readBytes = 0, pagedIn = 0;       // from the disk (the kernel's count for this process), paged in by the stream
        ProcessMemory.reset();
        for (int i = 0; i < secs.length; i++) {
            if (i > 0) System.gc();  // untimed: each repeat starts from the live set alone, as one run would
            long f0 = Blas.gemmFlops(), g0 = Blas.gemmNanos(), d0 = WeightGemm.decodeNanos(), w0 = WeightStream.waitNanos();
            long r0 = ProcessMemory.diskReadBytes(), p0 = WeightStream.loadedBytes(), t0 = System.nanoTime();
            work.get();
            secs[i] = (System.nanoTime() - t0) / 1e9;
            flops = Blas.gemmFlops() - f0;
            if (secs[i] < best) {
                best = secs[i];
                gemmSecs = (Blas.gemmNanos() - g0) / 1e9;
                decodeSecs = (WeightGemm.decodeNanos() - d0) / 1e9;
                waitSecs = (WeightStream.waitNanos() - w0) / 1e9;
                readBytes = ProcessMemory.diskReadBytes() - r0;
                pagedIn = WeightStream.loadedBytes() - p0;
            }
        }
        long rss = ProcessMemory.peakRss(), heap = ProcessMemory.peakHeap();
        double[] sorted = secs.clone();
        Arrays.sort(sorted);
        double total = flops + extraFlops, g = total / sorted[0] / 1e9;
        return new StageResult(name, sorted[0], sorted[sorted.length / 2], secs.length, total, flops, gemmSecs, g, g / peak, rss,
                heap, note, decodeSecs, waitSecs, readBytes, pagedIn, 0);
    }
}
