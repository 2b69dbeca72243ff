package linlens.analysis;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import linlens.blas.Arith;
import linlens.linear.DetachedSystem;
import linlens.linear.OrdinaryJacobian;
import linlens.linear.Precision;
import linlens.model.ForwardPass;
import linlens.model.ForwardTrace;
import linlens.model.MlpPath;
import linlens.model.Progress;
import linlens.model.Transformer;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The main job: one prompt's detached Jacobians J_i for every input position, the check that
 * they reproduce the output embedding, and their SVDs decoded to tokens (METHOD.md 2–4).
 * Matrix-free ({@link Options#matrixFree}, METHOD.md 7), J is never formed: the reconstruction is
 * one forward sweep of the input (J·x), and the top k of the tokens-combined J and of the last
 * position's J_T come from {@link MatrixFreeSvd}, for prompts whose J would not fit in memory.
 */
public final class Decomposition {
    private Decomposition() {}

    /** Work memory the Jacobian sweep may use for its buffers (not counting J itself). */
    private static final long SWEEP_BUDGET = 1L << 30;

    /**
     * @param nonlinear  also compute the ordinary Jacobian (nothing frozen) and its reconstruction
     * @param export     where to write the arrays (null: nowhere)
     * @param matrixFree never form J (then neither nonlinear nor export: both need a full Jacobian)
     * @param k          singular values of each matrix-free top-k (0: {@code components})
     */
    public record Options(Precision precision, MlpPath mlpPath, int components, int top, boolean nonlinear,
                          linlens.report.NpyExport export, boolean matrixFree, int k) {
        public Options {
            // callers check their users' values against the model first (e.g. components ≤ d); these never make sense
            if (components < 1 || top < 1 || k < 0)
                throw new IllegalArgumentException("components and top must be at least 1, k at least 0: " + components + ", " + top + ", " + k);
        }

        public Options(Precision precision, MlpPath mlpPath, int components, int top) {
            this(precision, mlpPath, components, top, false, null);
        }

        public Options(Precision precision, MlpPath mlpPath, int components, int top, boolean nonlinear,
                       linlens.report.NpyExport export) {
            this(precision, mlpPath, components, top, nonlinear, export, false, 0);
        }

        /** The matrix-free job with top-k of size k (0: components). */
        public static Options matrixFree(Precision precision, MlpPath mlpPath, int components, int top, int k) {
            return new Options(precision, mlpPath, components, top, false, null, true, k);
        }

        /** The size of each matrix-free top-k. */
        public int topK() { return k > 0 ? k : components; }
    }

    public record ModelInfo(String architecture, String family, @JsonProperty("hidden_size") int hiddenSize,
                            int layers, @JsonProperty("vocab_size") int vocabSize, String source) {}

    public record TokenInfo(int id, String text) {}

    public record Candidate(@JsonProperty("token_id") int tokenId, String text, double probability, double logit) {}

    public record Prediction(@JsonProperty("token_id") int tokenId, String text, double probability, double logit,
                             List<Candidate> top) {}

    public record Reconstruction(@JsonProperty("relative_error") double relativeError, String precision,
                                 @JsonProperty("mlp_path") String mlpPath,
                                 @JsonProperty("output_norm") double outputNorm,
                                 @JsonProperty("constant_norm") double constantNorm) {}

    /** A column (output space) or row (input space) of J_i with a large norm, decoded. */
    public record Line(int index, double norm, List<String> tokens, @JsonProperty("token_ids") List<Integer> tokenIds) {}

    /** One J_t's spectrum; matrix-free: its top k only, no stable rank (null) and no top columns and rows. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record PositionSvd(int position, String token, @JsonProperty("singular_values") double[] singularValues,
                              @JsonInclude(JsonInclude.Include.ALWAYS) @JsonProperty("stable_rank") Double stableRank,
                              List<SpectrumSummary.Component> components,
                              @JsonProperty("top_columns") List<Line> topColumns, @JsonProperty("top_rows") List<Line> topRows) {}

    public record NonlinearReconstruction(@JsonProperty("relative_error") double relativeError) {}

    /** The vectors behind the reconstruction check: y, Σ J_i x_i, and the ordinary J's Σ J_i x_i if computed. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record ReconstructionVectors(double[] y, double[] detached, double[] nonlinear) {}

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Result(ModelInfo model, String prompt, List<TokenInfo> tokens, Prediction prediction,
                         Reconstruction reconstruction,
                         @JsonProperty("nonlinear_reconstruction") NonlinearReconstruction nonlinearReconstruction,
                         List<PositionSvd> svd, @JsonProperty("svd_combined") SpectrumSummary svdCombined,
                         @JsonProperty("reconstruction_vectors") ReconstructionVectors reconstructionVectors,
                         @JsonProperty("matrix_free") MatrixFreeSvd.Info matrixFree,
                         @JsonProperty("timings_ms") Map<String, Double> timingsMs) {}

    /** Model-level facts for reports. */
    public static ModelInfo info(Transformer m) {
        var c = m.config();
        return new ModelInfo(c.architecture(), m.family().name(), c.dim(), c.layers(), c.vocab(), m.source());
    }

    public static List<TokenInfo> tokens(Transformer m, int[] ids) {
        List<TokenInfo> t = new ArrayList<>();
        for (int id : ids) t.add(new TokenInfo(id, m.tokenizer().decode(id)));
        return t;
    }

    /** The next-token distribution's top k from a forward trace. */
    public static Prediction predict(Transformer m, ForwardTrace tr, int k) {
        double[] lg = tr.logits();
        double max = Double.NEGATIVE_INFINITY;
        for (double v : lg) max = Math.max(max, v);
        double sum = 0;
        for (double v : lg) sum += Math.exp(v - max);
        int[] order = topIndices(lg, Math.max(1, k));
        List<Candidate> top = new ArrayList<>();
        for (int id : order) top.add(new Candidate(id, m.tokenizer().decode(id), Math.exp(lg[id] - max) / sum, lg[id]));
        Candidate best = top.getFirst();
        return new Prediction(best.tokenId(), best.text(), best.probability(), best.logit(), top);
    }

    /** Indices of the k largest values, largest first. */
    public static int[] topIndices(double[] v, int k) {
        k = Math.min(k, v.length);
        int[] idx = new int[k];
        double[] best = new double[k];
        java.util.Arrays.fill(best, Double.NEGATIVE_INFINITY);
        java.util.Arrays.fill(idx, -1);
        for (int i = 0; i < v.length; i++) {
            if (v[i] <= best[k - 1]) continue;
            int p = k - 1;
            while (p > 0 && best[p - 1] < v[i]) { best[p] = best[p - 1]; idx[p] = idx[p - 1]; p--; }
            best[p] = v[i];
            idx[p] = i;
        }
        return idx;
    }

    /**
     * Refuses, before any work, a prompt whose full Jacobian cannot be materialized: more than
     * 2³¹−1 entries (one Java array), or more than the heap limit for J with the tokens-combined
     * SVD's copies (about 4·n·d² values at once: J, its d × n·d rearrangement, LAPACK's copy of it
     * and V). The message points to --matrix-free.
     */
    public static void checkMaterializable(int n, int d, Precision precision) {
        long entries = (long) n * d * d;
        if (entries > Integer.MAX_VALUE)
            throw new linlens.model.InputException("the full Jacobian (" + n + "×" + d + "×" + d + " = " + entries
                    + " entries) is too large to materialize: use --matrix-free");
        long need = 4 * entries * (precision == Precision.FP32 ? 4 : 8), heap = Runtime.getRuntime().maxMemory();
        if (need > heap)
            throw new linlens.model.InputException(String.format("the full Jacobian of %d tokens and its SVD need about %.1f GB, "
                    + "more than the %.1f GB Java heap: use --matrix-free (or a larger -Xmx in LINLENS_JAVA_OPTS)",
                    n, need / 1e9, heap / 1e9));
    }

    /** ‖a − b‖ / ‖b‖. */
    public static double relativeError(double[] a, double[] b) {
        double num = 0, den = 0;
        for (int i = 0; i < b.length; i++) { num += (a[i] - b[i]) * (a[i] - b[i]); den += b[i] * b[i]; }
        return Math.sqrt(num / den);
    }

    public static Result run(Transformer m, String prompt, int[] ids, Options o, double loadMs) {
        Map<String, Double> times = new LinkedHashMap<>();
        times.put("load", loadMs);
        return run(m, prompt, forward(m, ids, times, o.nonlinear()), o, times, Progress.NONE).result();
    }

    /** The forward pass that records the frozen factors, its time added to {@code times}. */
    public static ForwardTrace forward(Transformer m, int[] ids, Map<String, Double> times) {
        return forward(m, ids, times, false);
    }

    /** {@link #forward}, also keeping the activations the ordinary Jacobian needs when asked. */
    public static ForwardTrace forward(Transformer m, int[] ids, Map<String, Double> times, boolean keepActivations) {
        long t0 = System.nanoTime();
        ForwardTrace tr = new ForwardPass(m).keepActivations(keepActivations).run(ids);
        times.put("forward", ms(t0));
        return tr;
    }

    /**
     * A result with the arrays behind it: the output embedding y, its reconstruction Σ J_i x_i,
     * and every J_i as one (n, d, d) array in the job's precision (row = output feature; null
     * when matrix-free).
     */
    public record Detail<A>(Result result, double[] y, double[] reconstructed, Arith<A> arith, A jacobian) {}

    /**
     * The job on a finished forward pass (its prediction is available before this long step);
     * {@code times} holds the timings so far and receives the rest.
     */
    public static Detail<?> run(Transformer m, String prompt, ForwardTrace tr, Options o, Map<String, Double> times,
                                Progress progress) {
        if (o.matrixFree())
            return o.precision() == Precision.FP32
                    ? finishMatrixFree(m, prompt, tr, o, Arith.F32, times, progress)
                    : finishMatrixFree(m, prompt, tr, o, Arith.F64, times, progress);
        return o.precision() == Precision.FP32
                ? finish(m, prompt, tr, o, Arith.F32, times, progress)
                : finish(m, prompt, tr, o, Arith.F64, times, progress);
    }

    /**
     * The job without J: y reconstructed by one forward sweep of the input (plus the biases'
     * constant), then the top k of the tokens-combined [J_0 … J_T] and of J_T, decoded as the
     * materialized job decodes them.
     */
    private static <A> Detail<A> finishMatrixFree(Transformer m, String prompt, ForwardTrace tr, Options o, Arith<A> ar,
                                                  Map<String, Double> times, Progress progress) {
        int n = tr.n(), d = m.config().dim(), k = o.topK();
        if (o.nonlinear() || o.export() != null)
            throw new IllegalArgumentException("the ordinary Jacobian and the export need a full Jacobian: not matrix-free");
        if (k < 1 || k > d) throw new linlens.model.InputException("--k " + k + " out of range 1.." + d);
        long t0 = System.nanoTime();
        progress.update("reconstruction", 0, 1);
        DetachedSystem<A> sys = new DetachedSystem<>(m, tr, o.mlpPath(), ar);
        var all = JacobianOperator.finalOutput(sys, JacobianOperator.allPositions(sys));
        double[] yHat = all.apply(tr.x());
        A constant = sys.constant();
        double norm = 0, cNorm = 0;
        for (int i = 0; i < d; i++) {
            double c = ar.get(constant, i);
            yHat[i] += c;
            cNorm += c * c;
            norm += tr.y()[i] * tr.y()[i];
        }
        Reconstruction rec = new Reconstruction(relativeError(yHat, tr.y()), o.precision().label(),
                o.mlpPath().name().toLowerCase(), Math.sqrt(norm), Math.sqrt(cNorm));
        progress.update("reconstruction", 1, 1);
        times.put("reconstruction", ms(t0));

        t0 = System.nanoTime();
        progress.update("top-k", 0, 2);
        MatrixFreeSvd.Result comb = MatrixFreeSvd.top(all, k, tr.y());
        progress.update("top-k", 1, 2);
        MatrixFreeSvd.Result last = MatrixFreeSvd.top(JacobianOperator.finalOutput(sys, new int[]{n - 1}), k, tr.y());
        progress.update("top-k", 2, 2);
        times.put("top_k", ms(t0));

        t0 = System.nanoTime();
        progress.update("decode", 0, 1);
        TokenDecoder dec = new TokenDecoder(m);
        SpectrumSummary lastSummary = SpectrumSummary.decode(dec, List.of(Spectrum.topK(last, n - 1, o.components())), 0, o.top()).getFirst();
        SpectrumSummary combSummary = SpectrumSummary.decode(dec, List.of(Spectrum.topK(comb, -1, o.components())), n, o.top()).getFirst();
        List<PositionSvd> svd = List.of(new PositionSvd(n - 1, m.tokenizer().decode(tr.ids()[n - 1]), lastSummary.singularValues(),
                lastSummary.stableRank(), lastSummary.components(), null, null));
        progress.update("decode", 1, 1);
        times.put("decode", ms(t0));
        // the reconstruction's J·x sweep, and the Krylov sweeps
        var info = new MatrixFreeSvd.Info(k, MatrixFreeSvd.OVERSAMPLING, MatrixFreeSvd.POWER_ITERATIONS, 1 + comb.sweeps() + last.sweeps());
        Result result = new Result(info(m), prompt, tokens(m, tr.ids()), predict(m, tr, 5), rec, null, svd, combSummary,
                new ReconstructionVectors(tr.y(), yHat, null), info, times);
        return new Detail<>(result, tr.y(), yHat, ar, null);
    }

    private static <A> Detail<A> finish(Transformer m, String prompt, ForwardTrace tr, Options o, Arith<A> ar,
                                        Map<String, Double> times, Progress progress) {
        // J_t is d×d: it has at most d singular pairs, columns and rows
        int n = tr.n(), d = m.config().dim(), K = Math.min(o.components(), d);
        long t0 = System.nanoTime();
        DetachedSystem<A> sys = new DetachedSystem<>(m, tr, o.mlpPath(), ar);
        A jac = sys.jacobian(SWEEP_BUDGET, progress);
        times.put("jacobian", ms(t0));

        // y = Σ J_i x_i + c; c (from biases) comes from its own sweep, not from y
        A recon = sys.apply(jac, ar.fromDoubles(tr.x()));
        A constant = sys.constant();
        double[] yHat = new double[d];
        double norm = 0, cNorm = 0;
        for (int i = 0; i < d; i++) {
            double c = ar.get(constant, i);
            yHat[i] = ar.get(recon, i) + c;
            cNorm += c * c;
            norm += tr.y()[i] * tr.y()[i];
        }
        Reconstruction rec = new Reconstruction(relativeError(yHat, tr.y()), o.precision().label(),
                o.mlpPath().name().toLowerCase(), Math.sqrt(norm), Math.sqrt(cNorm));

        NonlinearReconstruction nonlin = null;
        double[] yOrd = null, ordinary = null;
        if (o.nonlinear()) {
            t0 = System.nanoTime();
            ordinary = new OrdinaryJacobian(m, tr).jacobian(SWEEP_BUDGET);
            yOrd = new double[d];
            for (int t = 0; t < n; t++)
                Arith.F64.gemm(false, true, 1, d, d, tr.x(), t * d, d, ordinary, t * d * d, d, true, yOrd, 0, d);
            nonlin = new NonlinearReconstruction(relativeError(yOrd, tr.y()));
            times.put("nonlinear_jacobian", ms(t0));
        }

        t0 = System.nanoTime();
        List<Spectrum> spectra = new ArrayList<>();
        for (int t = 0; t < n; t++) {
            spectra.add(Svd.of(ar, jac, t * d * d, d, d, K, tr.y(), t));
            progress.update("svd", t + 1, n);
        }
        Spectrum combined = Svd.combined(ar, jac, n, d, K, tr.y());
        times.put("svd", ms(t0));

        t0 = System.nanoTime();
        progress.update("decode", 0, 1);
        TokenDecoder dec = new TokenDecoder(m);
        List<SpectrumSummary> perPos = SpectrumSummary.decode(dec, spectra, 0, o.top());
        SpectrumSummary comb = SpectrumSummary.decode(dec, List.of(combined), n, o.top()).getFirst();
        // all positions' lines decoded in one pass; start[t] is where position t's lines begin
        // (not t·K: a position has fewer than K lines when K exceeds what J_t has)
        List<JacobianViews.Line> cols = new ArrayList<>(), rows = new ArrayList<>();
        int[] colStart = new int[n + 1], rowStart = new int[n + 1];
        for (int t = 0; t < n; t++) {
            cols.addAll(JacobianViews.topColumns(ar, jac, t * d * d, d, K));
            rows.addAll(JacobianViews.topRows(ar, jac, t * d * d, d, K));
            colStart[t + 1] = cols.size();
            rowStart[t + 1] = rows.size();
        }
        var colTok = dec.byUnembedding(cols.stream().map(JacobianViews.Line::vector).toArray(double[][]::new), o.top());
        var rowTok = dec.byEmbeddingCosine(rows.stream().map(JacobianViews.Line::vector).toArray(double[][]::new), o.top());
        List<PositionSvd> svd = new ArrayList<>();
        for (int t = 0; t < n; t++) {
            List<Line> c = new ArrayList<>(), r = new ArrayList<>();
            for (int i = colStart[t]; i < colStart[t + 1]; i++) c.add(line(cols.get(i), colTok.get(i)));
            for (int i = rowStart[t]; i < rowStart[t + 1]; i++) r.add(line(rows.get(i), rowTok.get(i)));
            SpectrumSummary s = perPos.get(t);
            svd.add(new PositionSvd(t, m.tokenizer().decode(tr.ids()[t]), s.singularValues(), s.stableRank(), s.components(), c, r));
        }
        times.put("decode", ms(t0));

        progress.update("decode", 1, 1);
        if (o.export() != null) {
            t0 = System.nanoTime();
            try {
                export(o.export(), m, tr, ar, jac, spectra, combined, ordinary, K);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            times.put("export", ms(t0));
        }
        Result result = new Result(info(m), prompt, tokens(m, tr.ids()), predict(m, tr, 5), rec, nonlin, svd, comb,
                new ReconstructionVectors(tr.y(), yHat, yOrd), null, times);
        return new Detail<>(result, tr.y(), yHat, ar, jac);
    }

    private static Line line(JacobianViews.Line l, List<TokenDecoder.Token> toks) {
        return new Line(l.index(), l.norm(), toks.stream().map(TokenDecoder.Token::text).toList(),
                toks.stream().map(TokenDecoder.Token::id).toList());
    }

    /** Writes J, the SVDs and (if computed) the ordinary J as .npy arrays with a manifest. */
    private static <A> void export(linlens.report.NpyExport ex, Transformer m, ForwardTrace tr, Arith<A> ar, A jac,
                                   List<Spectrum> spectra, Spectrum combined, double[] ordinary, int K) throws java.io.IOException {
        int n = tr.n(), d = m.config().dim();
        ex.add("jacobian", new int[]{n, d, d}, jac, "detached J_t, [t][output][input]: y = Σ_t J_t x_t");
        ex.add("x", new int[]{n, d}, tr.x(), "input embeddings as the first layer receives them");
        ex.add("y", new int[]{d}, tr.y(), "output embedding: final-normed hidden state at the last position");
        double[] sv = new double[n * d], u = new double[n * K * d], v = new double[n * K * d];
        for (Spectrum s : spectra) {
            int t = s.position();
            System.arraycopy(s.singularValues(), 0, sv, t * d, d);
            for (int k = 0; k < s.u().length; k++) {
                System.arraycopy(s.u()[k], 0, u, (t * K + k) * d, d);
                System.arraycopy(s.v()[k], 0, v, (t * K + k) * d, d);
            }
        }
        ex.add("singular_values", new int[]{n, d}, sv, "per position, descending");
        ex.add("u", new int[]{n, K, d}, u, "leading left singular vectors per position, oriented u·y > 0");
        ex.add("v", new int[]{n, K, d}, v, "matching right singular vectors per position");
        double[] cu = new double[K * d], cv = new double[K * n * d];
        for (int k = 0; k < combined.u().length; k++) {
            System.arraycopy(combined.u()[k], 0, cu, k * d, d);
            System.arraycopy(combined.v()[k], 0, cv, k * n * d, n * d);
        }
        ex.add("combined_singular_values", new int[]{combined.singularValues().length}, combined.singularValues(),
                "SVD of [J_0 … J_{n-1}] (d × n·d)");
        ex.add("combined_u", new int[]{K, d}, cu, "tokens-combined left singular vectors");
        ex.add("combined_v", new int[]{K, n, d}, cv, "tokens-combined right singular vectors, by position");
        if (ordinary != null) ex.add("ordinary_jacobian", new int[]{n, d, d}, ordinary, "ordinary J (nothing frozen), fp64");
        Map<String, Object> ctx = new LinkedHashMap<>();
        ctx.put("kind", "decompose");
        ctx.put("model", info(m));
        ctx.put("positions", tokens(m, tr.ids()));
        ctx.put("precision", ar.name());
        ex.commit(ctx);
    }

    static double ms(long t0) { return (System.nanoTime() - t0) / 1e6; }
}
