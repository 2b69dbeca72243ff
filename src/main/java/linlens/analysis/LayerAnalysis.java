package linlens.analysis;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import linlens.blas.Arith;
import linlens.linear.DetachedSystem;
import linlens.linear.Precision;
import linlens.linear.Site;
import linlens.model.ForwardPass;
import linlens.model.ForwardTrace;
import linlens.model.MlpPath;
import linlens.model.Transformer;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Layer by layer (METHOD.md section 5): for each chosen layer and site (layer / attn / mlp),
 * the output is the model's final norm applied, frozen, to that site's vector at the last
 * position. Its cumulative Jacobian (w.r.t. the input embeddings) and layer-wise Jacobian
 * (w.r.t. the residual stream entering the layer) come from one reverse sweep each; both are
 * checked for reconstruction, decomposed and decoded (a logit lens that is exact).
 *
 * <p>Matrix-free ({@link Options#matrixFree}), no Jacobian is formed: each one's top k, at the
 * last position and tokens combined, comes from {@link MatrixFreeSvd} on a {@link JacobianOperator},
 * and each reconstruction from one forward sweep of the actual input (J·x). Memory is O(k·n·d)
 * instead of O(n·d²) per site, for prompts whose J would not fit.
 */
public final class LayerAnalysis {
    private LayerAnalysis() {}

    private static final long SWEEP_BUDGET = 512L << 20;

    /**
     * @param export     where to write every site's Jacobians and spectra as .npy (null: nowhere;
     *                   needs the materialized J, so not with matrixFree)
     * @param matrixFree top-k of each Jacobian from sweeps only, J never formed
     * @param k          singular values of each matrix-free top-k (0: {@code components})
     */
    public record Options(int[] layers, List<Site> sites, Precision precision, MlpPath mlpPath, int components, int top,
                          linlens.report.NpyExport export, boolean matrixFree, int k) {
        public Options {
            // callers check their users' values against the model first (e.g. layers < L); these never make sense
            if (components < 1 || top < 1 || k < 0)
                throw new IllegalArgumentException("components and top must be at least 1, k at least 0: " + components + ", " + top + ", " + k);
        }

        public Options(int[] layers, List<Site> sites, Precision precision, MlpPath mlpPath, int components, int top) {
            this(layers, sites, precision, mlpPath, components, top, null);
        }

        public Options(int[] layers, List<Site> sites, Precision precision, MlpPath mlpPath, int components, int top,
                       linlens.report.NpyExport export) {
            this(layers, sites, precision, mlpPath, components, top, export, false, 0);
        }

        /** The same analysis matrix-free, with top-k of size k (0: components). */
        public Options matrixFree(int k) {
            return new Options(layers, sites, precision, mlpPath, components, top, export, true, k);
        }

        /** The size of each matrix-free top-k. */
        public int topK() { return k > 0 ? k : components; }
    }

    /** One Jacobian's reading: its reconstruction check and spectra at the last position and tokens combined. */
    public record JacobianReading(@JsonProperty("relative_error") double relativeError,
                                  @JsonProperty("last_position") SpectrumSummary lastPosition,
                                  @JsonProperty("tokens_combined") SpectrumSummary tokensCombined) {}

    public record SiteResult(int layer, String key, String hook, JacobianReading cumulative, JacobianReading layerwise,
                             @JsonProperty("projection_on_final") double[] projectionOnFinal) {}

    /**
     * @param matrixFree how the top-k were computed when matrix-free (absent otherwise)
     * @param stableRank per key and layer; null when matrix-free (it needs every singular value)
     */
    public record Result(Decomposition.ModelInfo model, String prompt, List<Decomposition.TokenInfo> tokens,
                         Decomposition.Prediction prediction, String precision, @JsonProperty("mlp_path") String mlpPath,
                         @JsonInclude(JsonInclude.Include.NON_NULL) @JsonProperty("matrix_free") MatrixFreeSvd.Info matrixFree,
                         int[] layers, List<String> keys, List<SiteResult> sites,
                         @JsonProperty("stable_rank") Map<String, double[]> stableRank,
                         @JsonProperty("timings_ms") Map<String, Double> timingsMs) {}

    /** About eight evenly spaced layers, always including the last. */
    public static int[] defaultLayers(int total) {
        int count = Math.min(8, total);
        int[] l = new int[count];
        for (int i = 0; i < count; i++) l[i] = (int) Math.round((double) (i + 1) * total / count) - 1;
        return java.util.Arrays.stream(l).distinct().toArray();
    }

    public static Result run(Transformer m, String prompt, ForwardTrace tr, Options o, Consumer<String> progress) {
        return o.precision() == Precision.FP32 ? run(m, prompt, tr, o, progress, Arith.F32) : run(m, prompt, tr, o, progress, Arith.F64);
    }

    private static <A> Result run(Transformer m, String prompt, ForwardTrace tr, Options o, Consumer<String> progress, Arith<A> ar) {
        long t0 = System.nanoTime();
        int n = tr.n(), d = m.config().dim(), L = m.config().layers();
        for (int l : o.layers()) if (l < 0 || l >= L) throw new linlens.model.InputException("layer " + l + " out of range 0.." + (L - 1));
        if (o.matrixFree() && o.export() != null)
            throw new IllegalArgumentException("the export writes the full Jacobians: not with the matrix-free analysis");
        if (o.matrixFree() && (o.topK() < 1 || o.topK() > d))
            throw new linlens.model.InputException("--k " + o.topK() + " out of range 1.." + d);
        DetachedSystem<A> sys = new DetachedSystem<>(m, tr, o.mlpPath(), ar);
        TokenDecoder dec = new TokenDecoder(m);
        // The final layer's full-model spectrum anchors the projections ("paths" of singular vectors).
        List<int[]> order = new ArrayList<>();
        for (int l : o.layers()) for (Site s : o.sites()) order.add(new int[]{l, s.ordinal()});
        // Forward or reverse by cost: one forward sweep of all n·d input tangents through the
        // deepest layer gives every site's cumulative J (rows ∝ n·n·d per layer); reverse needs one
        // sweep per site back to layer 0 (rows ∝ n·d per layer crossed).
        int deepest = java.util.Arrays.stream(o.layers()).max().orElse(0);
        long forwardCost = (long) n * (deepest + 1), reverseCost = 0;
        for (int[] ls : order) reverseCost += ls[0] + 1;
        long heldBytes = (long) order.size() * n * d * d * (ar == Arith.F32 ? 4 : 8);
        Map<Integer, A> forward = !o.matrixFree() && forwardCost < reverseCost && heldBytes < (2L << 30)
                ? forwardCumulative(m, tr, sys, ar, order, deepest, n, d) : null;
        progress.accept(o.matrixFree() ? "matrix-free top-" + o.topK() + " of every Jacobian"
                : (forward != null ? "forward" : "reverse") + " sweeps (cost " + forwardCost + " vs " + reverseCost + ")");
        List<Raw> raws = new ArrayList<>();
        int done = 0, sweeps = 0;
        for (int[] ls : order) {
            int l = ls[0];
            Site site = Site.values()[ls[1]];
            double[] siteVec = siteVector(tr, l, site, d);
            double[] scale = finalNormScale(m, siteVec);
            double[] out = new double[d];
            for (int j = 0; j < d; j++) out[j] = siteVec[j] * scale[j];
            Raw raw;
            if (o.matrixFree()) {
                TopK t = topK(sys, tr, l, site, scale, out, o.topK(), o.components());
                raw = t.raw();
                sweeps += t.sweeps();
            } else {
                raw = materialized(sys, tr, forward == null ? null : forward.get(l * 3 + site.ordinal()), l, site, scale, out, o);
            }
            raws.add(raw);
            progress.accept(String.format("layer %d %s: cumulative error %.2e, layer-wise %.2e (%d/%d)",
                    l, site.key, raw.cumErr(), raw.lwErr(), ++done, order.size()));
        }
        double sweepMs = Decomposition.ms(t0);
        var mfInfo = o.matrixFree() ? new MatrixFreeSvd.Info(o.topK(), MatrixFreeSvd.OVERSAMPLING, MatrixFreeSvd.POWER_ITERATIONS, sweeps) : null;
        long t1 = System.nanoTime();
        List<Spectrum> all = new ArrayList<>();
        for (Raw r : raws) all.addAll(List.of(r.cumLast, r.lwLast));
        List<SpectrumSummary> perPos = SpectrumSummary.decode(dec, all, 0, o.top());
        List<Spectrum> comb = new ArrayList<>();
        for (Raw r : raws) comb.addAll(List.of(r.cumComb, r.lwComb));
        List<SpectrumSummary> combined = SpectrumSummary.decode(dec, comb, n, o.top());
        Raw fin = raws.stream().filter(r -> r.layer == L - 1 && r.site == Site.LAYER).findFirst().orElse(null);
        List<SiteResult> results = new ArrayList<>();
        Map<String, double[]> stable = o.matrixFree() ? null : new LinkedHashMap<>();
        if (stable != null) for (Site s : o.sites()) stable.put(s.key, new double[o.layers().length]);
        for (int i = 0; i < raws.size(); i++) {
            Raw r = raws.get(i);
            double[] proj = fin == null ? null : projection(r.cumComb, fin.cumComb);
            results.add(new SiteResult(r.layer, r.site.key, "blocks." + r.layer + ".hook_" + r.site.hookName,
                    new JacobianReading(r.cumErr, perPos.get(2 * i), combined.get(2 * i)),
                    new JacobianReading(r.lwErr, perPos.get(2 * i + 1), combined.get(2 * i + 1)), proj));
            if (stable != null) stable.get(r.site.key)[indexOf(o.layers(), r.layer)] = r.cumComb.stableRank();
        }
        if (o.export() != null) {
            Map<String, Object> ctx = new LinkedHashMap<>();
            ctx.put("kind", "layers");
            ctx.put("model", Decomposition.info(m));
            ctx.put("positions", Decomposition.tokens(m, tr.ids()));
            ctx.put("layers", o.layers());
            ctx.put("keys", o.sites().stream().map(x -> x.key + " (" + x.hookName + ")").toList());
            ctx.put("precision", ar.name());
            try {
                o.export().commit(ctx);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
        Map<String, Double> times = new LinkedHashMap<>();
        times.put(o.matrixFree() ? "matrix_free_svd" : "jacobians_and_svd", sweepMs);
        times.put("decode", Decomposition.ms(t1));
        return new Result(Decomposition.info(m), prompt, Decomposition.tokens(m, tr.ids()), Decomposition.predict(m, tr, 5),
                o.precision().label(), o.mlpPath().name().toLowerCase(), mfInfo, o.layers(), o.sites().stream().map(s -> s.key).toList(),
                results, stable, times);
    }

    /**
     * One site from its materialized Jacobians: the cumulative one from {@code forwardCumulative}
     * when given (else a reverse sweep), the layer-wise one by a reverse sweep through the layer;
     * reconstruction, full SVDs, and the export when asked.
     */
    private static <A> Raw materialized(DetachedSystem<A> sys, ForwardTrace tr, A forwardCum, int l, Site site, double[] scale,
                                        double[] out, Options o) {
        Arith<A> ar = sys.arith();
        int n = tr.n(), d = sys.dim();
        A outScale = ar.fromDoubles(scale);
        var jacs = forwardCum != null
                ? new DetachedSystem.SiteJacobians<>(sys.layerwiseJacobian(l, site, outScale, SWEEP_BUDGET), forwardCum)
                : sys.siteJacobians(l, site, outScale, true, SWEEP_BUDGET);
        // biases make each map affine: out = Σ J_i x_i + c
        double cumErr = Decomposition.relativeError(plus(toDoubles(ar, sys.apply(jacs.cumulative(), ar.fromDoubles(tr.x())), d),
                toDoubles(ar, sys.siteConstant(0, l, site, outScale), d)), out);
        double lwErr = Decomposition.relativeError(plus(toDoubles(ar, sys.apply(jacs.layerwise(), ar.fromDoubles(tr.resid()[l])), d),
                toDoubles(ar, sys.siteConstant(l, l, site, outScale), d)), out);
        int K = o.components();
        Raw raw = new Raw(l, site, cumErr, lwErr,
                Svd.of(ar, jacs.cumulative(), (n - 1) * d * d, d, d, K, out, n - 1),
                Svd.combined(ar, jacs.cumulative(), n, d, K, out),
                Svd.of(ar, jacs.layerwise(), (n - 1) * d * d, d, d, K, out, n - 1),
                Svd.combined(ar, jacs.layerwise(), n, d, K, out));
        if (o.export() != null) {
            String tag = "L" + l + "_" + site.key;
            try {
                o.export().add(tag + "_cumulative", new int[]{n, d, d}, jacs.cumulative(),
                        "layer " + l + " " + site.hookName + ": J_t w.r.t. the embeddings x_t, [t][output][input]");
                o.export().add(tag + "_layerwise", new int[]{n, d, d}, jacs.layerwise(),
                        "layer " + l + " " + site.hookName + ": J_t w.r.t. the residual stream entering layer " + l);
                o.export().add(tag + "_output", new int[]{d}, out, "the site's final-normed output at the last position");
                o.export().add(tag + "_cumulative_combined_singular_values", new int[]{raw.cumComb.singularValues().length},
                        raw.cumComb.singularValues(), "SVD of the cumulative [J_0 … J_{n-1}]");
                o.export().add(tag + "_layerwise_combined_singular_values", new int[]{raw.lwComb.singularValues().length},
                        raw.lwComb.singularValues(), "SVD of the layer-wise [J_0 … J_{n-1}]");
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
        return raw;
    }

    /** One site's two Jacobians: reconstruction errors and spectra at the last position and tokens combined. */
    private record Raw(int layer, Site site, double cumErr, double lwErr, Spectrum cumLast, Spectrum cumComb,
                       Spectrum lwLast, Spectrum lwComb) {}

    private record TopK(Raw raw, int sweeps) {}

    /**
     * One site matrix-free: the top k of its cumulative and layer-wise Jacobians, at the last
     * position and tokens combined (the leading {@code keep} pairs kept for decoding), and each
     * Jacobian's reconstruction error from one forward sweep of its actual input: the embeddings
     * (cumulative) or the residual stream entering the layer (layer-wise), plus the biases' constant.
     */
    private static <A> TopK topK(DetachedSystem<A> sys, ForwardTrace tr, int l, Site site, double[] scale, double[] out,
                                 int k, int keep) {
        Arith<A> ar = sys.arith();
        int n = tr.n(), d = sys.dim();
        int[] all = JacobianOperator.allPositions(sys), last = {n - 1};
        A outScale = ar.fromDoubles(scale);
        var cum = JacobianOperator.site(sys, l, site, scale, false, all);
        var lw = JacobianOperator.site(sys, l, site, scale, true, all);
        double cumErr = Decomposition.relativeError(plus(cum.apply(tr.x()), toDoubles(ar, sys.siteConstant(0, l, site, outScale), d)), out);
        double lwErr = Decomposition.relativeError(plus(lw.apply(tr.resid()[l]), toDoubles(ar, sys.siteConstant(l, l, site, outScale), d)), out);
        MatrixFreeSvd.Result cumLast = MatrixFreeSvd.top(JacobianOperator.site(sys, l, site, scale, false, last), k, out),
                cumComb = MatrixFreeSvd.top(cum, k, out),
                lwLast = MatrixFreeSvd.top(JacobianOperator.site(sys, l, site, scale, true, last), k, out),
                lwComb = MatrixFreeSvd.top(lw, k, out);
        Raw raw = new Raw(l, site, cumErr, lwErr, Spectrum.topK(cumLast, n - 1, keep), Spectrum.topK(cumComb, -1, keep),
                Spectrum.topK(lwLast, n - 1, keep), Spectrum.topK(lwComb, -1, keep));
        // two forward sweeps for the reconstructions, and the Krylov sweeps
        return new TopK(raw, 2 + cumLast.sweeps() + cumComb.sweeps() + lwLast.sweeps() + lwComb.sweeps());
    }

    /**
     * Cumulative Jacobians of every requested site, keyed layer·3 + site, from forward sweeps of
     * all n·d unit input tangents: tangent (t, j) read at a site gives column j of that site's J_t,
     * scaled by the site's frozen final norm.
     */
    private static <A> Map<Integer, A> forwardCumulative(Transformer m, ForwardTrace tr, DetachedSystem<A> sys, Arith<A> ar,
                                                       List<int[]> order, int deepest, int n, int d) {
        Map<Integer, A> cum = new java.util.HashMap<>();
        Map<Integer, double[]> scales = new java.util.HashMap<>();
        for (int[] ls : order) {
            int key = ls[0] * 3 + ls[1];
            cum.put(key, ar.alloc(n * d * d));
            scales.put(key, finalNormScale(m, siteVector(tr, ls[0], Site.values()[ls[1]], d)));
        }
        var cfg = m.config();
        int bytes = ar == Arith.F32 ? 4 : 8;
        long perTangent = (long) n * (2L * d + cfg.ffnDim() + (long) (cfg.heads() + cfg.kvHeads()) * cfg.headDim()) * bytes;
        int total = n * d, block = (int) Math.max(1, Math.min(total, SWEEP_BUDGET / perTangent));
        for (int e0 = 0; e0 < total; e0 += block) {
            int k = Math.min(block, total - e0), first = e0;
            A v = ar.alloc(n * k * d);
            for (int c = 0; c < k; c++) {
                int e = e0 + c, t = e / d, j = e % d;
                ar.set(v, (t * k + c) * d + j, 1.0);
            }
            sys.jvpSites(v, k, deepest, (layer, site, vals) -> {
                A jac = cum.get(layer * 3 + site.ordinal());
                if (jac == null) return;
                double[] sc = scales.get(layer * 3 + site.ordinal());
                for (int c = 0; c < k; c++) {
                    int e = first + c, t = e / d, j = e % d;
                    for (int r = 0; r < d; r++) ar.set(jac, (t * d + r) * d + j, sc[r] * ar.get(vals, c * d + r));
                }
            });
        }
        return cum;
    }

    /** The site's vector at the last position (before the final norm). */
    static double[] siteVector(ForwardTrace tr, int layer, Site site, int d) {
        double[] src = switch (site) {
            case LAYER -> tr.resid()[layer + 1];
            case ATTN -> tr.attnOut()[layer];
            case MLP -> tr.mlpOut()[layer];
        };
        return java.util.Arrays.copyOfRange(src, (tr.n() - 1) * d, tr.n() * d);
    }

    /** The final norm's frozen scales w ⊙ r(v) for one vector. */
    static double[] finalNormScale(Transformer m, double[] v) {
        return new ForwardPass(m).finalNormScales(v);
    }

    /** ‖U_finalᵀ u_k‖ for each of this spectrum's leading left singular vectors. */
    static double[] projection(Spectrum s, Spectrum fin) {
        double[] p = new double[s.u().length];
        for (int k = 0; k < p.length; k++) {
            double sum = 0;
            for (double[] f : fin.u()) {
                double dot = 0;
                for (int j = 0; j < f.length; j++) dot += f[j] * s.u()[k][j];
                sum += dot * dot;
            }
            p[k] = Math.sqrt(sum);
        }
        return p;
    }

    private static int indexOf(int[] a, int v) {
        for (int i = 0; i < a.length; i++) if (a[i] == v) return i;
        return -1;
    }

    private static double[] plus(double[] a, double[] b) {
        for (int i = 0; i < a.length; i++) a[i] += b[i];
        return a;
    }

    static <A> double[] toDoubles(Arith<A> ar, A a, int n) {
        double[] d = new double[n];
        for (int i = 0; i < n; i++) d[i] = ar.get(a, i);
        return d;
    }
}
