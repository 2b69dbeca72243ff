package linlens.analysis;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import linlens.blas.Arith;
import linlens.linear.DetachedSystem;
import linlens.linear.Precision;
import linlens.linear.SweepMemory;
import linlens.linear.Site;
import linlens.model.ForwardPass;
import linlens.model.ForwardTrace;
import linlens.model.MlpPath;
import linlens.model.Progress;
import linlens.model.Transformer;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.io.PrintWriter;

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
public final class LayerAnalysis implements Analysis<LayerAnalysis.Options> {

    /**
     * @param layers     0-based layers to read (null: {@link #defaultLayers})
     * @param keys       sites within each layer (null: all)
     * @param matrixFree top-k of each Jacobian from sweeps only, J never formed (then no arrays, no report)
     * @param k          singular values of each matrix-free top-k (null: {@code components})
     */
    public record Options(@Param(description = "Layers (0-based; default: about 8 evenly spaced, including the last).",
                                  label = "L", limit = Param.Limit.LAYER) int[] layers,
                          @Param(description = "Sites: layer, attn, mlp (default: all).") List<Site> keys,
                          @Param(defaultValue = "fp32") Precision precision,
                          @Param(defaultValue = "up") MlpPath mlpPath,
                          @Param(description = "Singular pairs decoded per Jacobian.", defaultValue = "4", min = 1,
                                  limit = Param.Limit.HIDDEN_SIZE) int components,
                          @Param(description = "Tokens per singular vector.", defaultValue = "6", min = 1,
                                  limit = Param.Limit.VOCAB_SIZE) int top,
                          @Param boolean matrixFree,
                          @Param(label = "K", min = 1, limit = Param.Limit.HIDDEN_SIZE) Integer k,
                          @Param(description = "Also read a concept ('linlens concepts list') at every site: its logit there, its share of the site's top singular subspaces.",
                                  label = "NAME") String concept) {
        public Options {
            // ParamSpec.build checks users' values; these never make sense from any caller
            if (components < 1 || top < 1 || (k != null && k < 1))
                throw new IllegalArgumentException("components and top must be at least 1, k at least 1: " + components + ", " + top + ", " + k);
            if (keys != null) keys = List.copyOf(keys);
        }

        public Options(int[] layers, List<Site> keys, Precision precision, MlpPath mlpPath, int components, int top) {
            this(layers, keys, precision, mlpPath, components, top, false, null, null);
        }

        /** The same analysis matrix-free, with top-k of size k (null: components). */
        public Options matrixFree(Integer k) {
            return new Options(layers, keys, precision, mlpPath, components, top, true, k, concept);
        }

        /** The same analysis reading a concept at every site. */
        public Options withConcept(String name) {
            return new Options(layers, keys, precision, mlpPath, components, top, matrixFree, k, name);
        }

        /** The size of each matrix-free top-k. */
        public int topK() { return k != null ? k : components; }

        /** The sites asked for. */
        public List<Site> sites() { return keys != null ? keys : List.of(Site.values()); }

        /** The layers asked for in a model of {@code total} layers. */
        public int[] layers(int total) { return layers != null ? layers : defaultLayers(total); }
    }

    @Override public String name() { return "layers"; }

    @Override public String summary() { return "The decomposition layer by layer: residual, attention, MLP"; }

    @Override public List<String> description() {
        return List.of("Layer by layer: for each layer and site (layer = resid_post, attn = attn_out, mlp = mlp_out) the final",
                "norm of the site's last-position vector, its cumulative Jacobian (w.r.t. the embeddings) and layer-wise",
                "Jacobian (w.r.t. the layer input), reconstruction errors, spectra, stable rank and decoded tokens.");
    }

    @Override public Class<Options> optionsType() { return Options.class; }

    @Override public void check(Options o) {
        if (o.k() != null && !o.matrixFree()) throw new OptionException("{k} sets the matrix-free top-k: use it with {matrix_free}");
        if (o.concept() != null) linlens.concepts.ConceptLibrary.standard().resolve(o.concept());
    }

    @Override public boolean hasArrays() { return true; }

    @Override public String noArrays(Options o) {
        return o.matrixFree() ? "{export} writes the full Jacobians, which {matrix_free} never forms" : null;
    }

    @Override public String noReport(Options o) {
        return o.matrixFree() ? "{report} draws the full Jacobians and spectra, which {matrix_free} never forms: use {json}" : null;
    }

    /** One Jacobian's reading: its reconstruction check and spectra at the last position and tokens combined. */
    public record JacobianReading(@JsonProperty("relative_error") double relativeError,
                                  @JsonProperty("last_position") SpectrumSummary lastPosition,
                                  @JsonProperty("tokens_combined") SpectrumSummary tokensCombined) {}

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record SiteResult(int layer, String key, String hook, JacobianReading cumulative, JacobianReading layerwise,
                             @JsonInclude(JsonInclude.Include.ALWAYS) @JsonProperty("projection_on_final") double[] projectionOnFinal,
                             ConceptScores.SiteReading concept) {}

    /**
     * @param matrixFree how the top-k were computed when matrix-free (absent otherwise)
     * @param stableRank per key and layer; null when matrix-free (it needs every singular value)
     */
    public record Result(ModelInfo model, String prompt, List<TokenInfo> tokens,
                         Prediction prediction, String precision, @JsonProperty("mlp_path") String mlpPath,
                         @JsonInclude(JsonInclude.Include.NON_NULL) @JsonProperty("matrix_free") MatrixFreeSvd.Info matrixFree,
                         int[] layers, List<String> keys, List<SiteResult> sites,
                         @JsonProperty("stable_rank") Map<String, double[]> stableRank,
                         @JsonInclude(JsonInclude.Include.NON_NULL) ConceptSpace.Info concept,
                         @JsonProperty("timings_ms") Map<String, Double> timingsMs) implements AnalysisResult {
        @Override public Object document() { return this; }

        @Override public String title() { return "Linear Lens layers: " + prompt; }

        /** Paper figures 5 and 6. */
        @Override public Map<String, Object> sections() { return Map.of("layers", this); }

        @Override public void print(PrintWriter out) {
            out.printf("Prompt %s (%d tokens) → %s p=%.4f; %s%s%n", Text.quote(prompt), tokens.size(), Text.quote(prediction.text()),
                    prediction.probability(), precision,
                    matrixFree == null ? "" : "; matrix-free top-" + matrixFree.k() + " (" + matrixFree.sweeps() + " sweeps)");
            out.printf("%-6s %-5s %-10s %-10s %-8s %s%n", "layer", "key", "cum err", "lw err", "s.rank", "top u (tokens combined, cumulative)");
            for (var s : sites) {
                var c = s.cumulative().tokensCombined();
                out.printf("%-6d %-5s %-10.2e %-10.2e %-8s %s%n", s.layer(), s.key(), s.cumulative().relativeError(),
                        s.layerwise().relativeError(), c.stableRank() == null ? "-" : String.format("%.2f", c.stableRank()),
                        Text.join(c.components().getFirst().uTokens(), 5));
            }
            if (concept != null) {
                out.printf("Concept %s (chance share %.4f): %-6s %-5s %-10s %-10s %s%n", concept.name(), concept.chance(), "layer", "key",
                        "logit", "share cum", "share lw (tokens combined)");
                for (var s : sites)
                    out.printf("  %-6d %-5s %+-10.4f %-10.4f %.4f%n", s.layer(), s.key(), s.concept().logit(),
                            s.concept().cumulativeCombined(), s.concept().layerwiseCombined());
            }
        }
    }

    /** About eight evenly spaced layers, always including the last. */
    public static int[] defaultLayers(int total) {
        int count = Math.min(8, total);
        int[] l = new int[count];
        for (int i = 0; i < count; i++) l[i] = (int) Math.round((double) (i + 1) * total / count) - 1;
        return java.util.Arrays.stream(l).distinct().toArray();
    }

    /**
     * Refuses first, before any work, Jacobians too large to materialize and a decoding too large
     * for the heap; then reads every chosen site, reporting each one done ("sites").
     */
    @Override
    public Result run(PromptContext ctx, Options o, Progress progress, ArraySink arrays) {
        checkPrompt(ctx.model(), ctx.ids(), o);
        return run(ctx, o, progress, arrays, o.precision().arith());
    }

    /** Jacobians too large to materialize, a decoding too large for the heap. */
    @Override
    public void checkPrompt(Transformer m, int[] ids, Options o) {
        if (!o.matrixFree()) Decomposition.checkMaterializable(ids.length, m.config().dim(), o.precision());
        // per layer and site: cumulative and layer-wise, each at the last position and tokens combined, u and v
        TokenDecoder.checkMemory(8L * o.layers(m.config().layers()).length * o.sites().size() * o.components(), o.components(), o.top());
    }

    private static <A> Result run(PromptContext ctx, Options o, Progress progress, ArraySink arrays, Arith<A> ar) {
        long t0 = System.nanoTime();
        Transformer m = ctx.model();
        ForwardTrace tr = ctx.trace();
        int n = tr.n(), d = m.config().dim(), L = m.config().layers();
        int[] layers = o.layers(L);
        List<Site> sites = o.sites();
        DetachedSystem<A> sys = new DetachedSystem<>(m, tr, o.mlpPath(), ar);
        TokenDecoder dec = new TokenDecoder(m);
        // The final layer's full-model spectrum anchors the projections ("paths" of singular vectors).
        List<SiteKey> order = new ArrayList<>();
        for (int l : layers) for (Site s : sites) order.add(new SiteKey(l, s));
        // Forward or reverse by cost: one forward sweep of all n·d input tangents through the
        // deepest layer gives every site's cumulative J (rows ∝ n·n·d per layer); reverse needs one
        // sweep per site back to layer 0 (rows ∝ n·d per layer crossed).
        int deepest = java.util.Arrays.stream(layers).max().orElse(0);
        long forwardCost = (long) n * (deepest + 1), reverseCost = 0;
        for (SiteKey key : order) reverseCost += key.layer() + 1;
        long heldBytes = (long) order.size() * n * d * d * Precision.of(ar).bytesPerValue();
        Map<SiteKey, A> forward = !o.matrixFree() && forwardCost < reverseCost && heldBytes < SweepMemory.HELD_JACOBIANS_LIMIT
                ? forwardCumulative(m, tr, sys, ar, order, deepest, n, d, progress) : null;
        ConceptSpace concept = ConceptScores.spaceOf(o.concept(), m);
        List<ConceptScores.SiteReading> conceptReadings = new ArrayList<>();
        progress.update("sites", 0, order.size());
        List<Raw> raws = new ArrayList<>();
        int done = 0, sweeps = 0;
        for (SiteKey key : order) {
            int l = key.layer();
            Site site = key.site();
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
                raw = materialized(sys, tr, forward == null ? null : forward.get(key), l, site, scale, out, o, arrays);
            }
            raws.add(raw);
            if (concept != null)
                conceptReadings.add(ConceptScores.SiteReading.of(concept, out, raw.cumLast, raw.cumComb, raw.lwLast, raw.lwComb));
            progress.update("sites", ++done, order.size());
        }
        double sweepMs = Vectors.ms(t0);
        var mfInfo = o.matrixFree() ? new MatrixFreeSvd.Info(o.topK(), MatrixFreeSvd.OVERSAMPLING, MatrixFreeSvd.POWER_ITERATIONS, sweeps) : null;
        long t1 = System.nanoTime();
        // every site's spectra decoded in one pass per kind, read back in the same order: each
        // site's cumulative, then its layer-wise
        List<Spectrum> all = new ArrayList<>(), comb = new ArrayList<>();
        for (Raw r : raws) {
            all.addAll(List.of(r.cumLast, r.lwLast));
            comb.addAll(List.of(r.cumComb, r.lwComb));
        }
        var lastDecoded = SpectrumSummary.decode(dec, all, 0, o.top()).iterator();
        var combDecoded = SpectrumSummary.decode(dec, comb, n, o.top()).iterator();
        Raw fin = raws.stream().filter(r -> r.layer == L - 1 && r.site == Site.LAYER).findFirst().orElse(null);
        List<SiteResult> results = new ArrayList<>();
        Map<String, double[]> stable = o.matrixFree() ? null : new LinkedHashMap<>();
        if (stable != null) for (Site s : sites) stable.put(s.key, new double[layers.length]);
        for (int i = 0; i < raws.size(); i++) {
            Raw r = raws.get(i);
            double[] proj = fin == null ? null : projection(r.cumComb, fin.cumComb);
            var cumulative = new JacobianReading(r.cumErr, lastDecoded.next(), combDecoded.next());
            var layerwise = new JacobianReading(r.lwErr, lastDecoded.next(), combDecoded.next());
            results.add(new SiteResult(r.layer, r.site.key, "blocks." + r.layer + ".hook_" + r.site.hookName,
                    cumulative, layerwise, proj, concept == null ? null : conceptReadings.get(i)));
            if (stable != null) stable.get(r.site.key)[indexOf(layers, r.layer)] = r.cumComb.stableRank();
        }
        if (arrays.wanted()) {
            arrays.describe("kind", "layers");
            arrays.describe("model", ctx.modelInfo());
            arrays.describe("positions", ctx.tokens());
            arrays.describe("layers", layers);
            arrays.describe("keys", sites.stream().map(x -> x.key + " (" + x.hookName + ")").toList());
            arrays.describe("precision", ar.name());
        }
        Map<String, Double> times = new LinkedHashMap<>();
        times.put(o.matrixFree() ? "matrix_free_svd" : "jacobians_and_svd", sweepMs);
        times.put("decode", Vectors.ms(t1));
        return new Result(ctx.modelInfo(), ctx.prompt(), ctx.tokens(), ctx.prediction(),
                o.precision().label(), o.mlpPath().name().toLowerCase(), mfInfo, layers, sites.stream().map(s -> s.key).toList(),
                results, stable, concept == null ? null : concept.info(), times);
    }

    /**
     * One site from its materialized Jacobians: the cumulative one from {@code forwardCumulative}
     * when given (else a reverse sweep), the layer-wise one by a reverse sweep through the layer;
     * reconstruction, full SVDs, and the export when asked.
     */
    private static <A> Raw materialized(DetachedSystem<A> sys, ForwardTrace tr, A forwardCum, int l, Site site, double[] scale,
                                        double[] out, Options o, ArraySink arrays) {
        Arith<A> ar = sys.arith();
        int n = tr.n(), d = sys.dim();
        A outScale = ar.fromDoubles(scale);
        var jacs = forwardCum != null
                ? new DetachedSystem.SiteJacobians<>(sys.layerwiseJacobian(l, site, outScale, SweepMemory.LAYER_BUDGET), forwardCum)
                : sys.siteJacobians(l, site, outScale, true, SweepMemory.LAYER_BUDGET);
        // biases make each map affine: out = Σ J_i x_i + c
        double cumErr = Vectors.relativeError(plus(toDoubles(ar, sys.apply(jacs.cumulative(), ar.fromDoubles(tr.x())), d),
                toDoubles(ar, sys.siteConstant(0, l, site, outScale), d)), out);
        double lwErr = Vectors.relativeError(plus(toDoubles(ar, sys.apply(jacs.layerwise(), ar.fromDoubles(tr.resid()[l])), d),
                toDoubles(ar, sys.siteConstant(l, l, site, outScale), d)), out);
        int K = o.components();
        Raw raw = new Raw(l, site, cumErr, lwErr,
                Svd.of(ar, jacs.cumulative(), (n - 1) * d * d, d, d, K, out, n - 1),
                Svd.combined(ar, jacs.cumulative(), n, d, K, out),
                Svd.of(ar, jacs.layerwise(), (n - 1) * d * d, d, d, K, out, n - 1),
                Svd.combined(ar, jacs.layerwise(), n, d, K, out));
        if (arrays.wanted()) {
            String tag = "L" + l + "_" + site.key;
            try {
                arrays.add(tag + "_cumulative", new int[]{n, d, d}, jacs.cumulative(),
                        "layer " + l + " " + site.hookName + ": J_t w.r.t. the embeddings x_t, [t][output][input]");
                arrays.add(tag + "_layerwise", new int[]{n, d, d}, jacs.layerwise(),
                        "layer " + l + " " + site.hookName + ": J_t w.r.t. the residual stream entering layer " + l);
                arrays.add(tag + "_output", new int[]{d}, out, "the site's final-normed output at the last position");
                arrays.add(tag + "_cumulative_combined_singular_values", new int[]{raw.cumComb.singularValues().length},
                        raw.cumComb.singularValues(), "SVD of the cumulative [J_0 … J_{n-1}]");
                arrays.add(tag + "_layerwise_combined_singular_values", new int[]{raw.lwComb.singularValues().length},
                        raw.lwComb.singularValues(), "SVD of the layer-wise [J_0 … J_{n-1}]");
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
        return raw;
    }

    /** A site of the model: a layer and where in it. */
    private record SiteKey(int layer, Site site) {}

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
        double cumErr = Vectors.relativeError(plus(cum.apply(tr.x()), toDoubles(ar, sys.siteConstant(0, l, site, outScale), d)), out);
        double lwErr = Vectors.relativeError(plus(lw.apply(tr.resid()[l]), toDoubles(ar, sys.siteConstant(l, l, site, outScale), d)), out);
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
     * Cumulative Jacobians of every requested site, (n, d, d) each, from forward sweeps of
     * all n·d unit input tangents: tangent (t, j) read at a site gives column j of that site's J_t,
     * scaled by the site's frozen final norm.
     */
    private static <A> Map<SiteKey, A> forwardCumulative(Transformer m, ForwardTrace tr, DetachedSystem<A> sys, Arith<A> ar,
                                                         List<SiteKey> order, int deepest, int n, int d, Progress progress) {
        Map<SiteKey, A> cum = new java.util.HashMap<>();
        Map<SiteKey, double[]> scales = new java.util.HashMap<>();
        for (SiteKey key : order) {
            cum.put(key, ar.alloc(n * d * d));
            scales.put(key, finalNormScale(m, siteVector(tr, key.layer(), key.site(), d)));
        }
        int total = n * d, block = SweepMemory.vectorsPerSweep(SweepMemory.LAYER_BUDGET, SweepMemory.bytesPerVector(m.config(), n, ar), total);
        progress.update("forward sweep", 0, total);
        for (int e0 = 0; e0 < total; e0 += block) {
            int k = Math.min(block, total - e0), first = e0;
            A v = ar.alloc(n * k * d);
            for (int c = 0; c < k; c++) {
                int e = e0 + c, t = e / d, j = e % d;
                ar.set(v, (t * k + c) * d + j, 1.0);
            }
            sys.jvpSites(v, k, deepest, (layer, site, vals) -> {
                SiteKey key = new SiteKey(layer, site);
                A jac = cum.get(key);
                if (jac == null) return;
                double[] sc = scales.get(key);
                for (int c = 0; c < k; c++) {
                    int e = first + c, t = e / d, j = e % d;
                    for (int r = 0; r < d; r++) ar.set(jac, (t * d + r) * d + j, sc[r] * ar.get(vals, c * d + r));
                }
            });
            progress.update("forward sweep", e0 + k, total);
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
