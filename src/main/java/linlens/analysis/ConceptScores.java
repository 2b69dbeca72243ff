package linlens.analysis;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import linlens.blas.Arith;
import linlens.concepts.Concept;
import linlens.concepts.ConceptLibrary;
import linlens.linear.DetachedSystem;
import linlens.linear.OrdinaryJacobian;
import linlens.linear.Precision;
import linlens.linear.Site;
import linlens.model.ForwardPass;
import linlens.model.ForwardTrace;
import linlens.model.MlpPath;
import linlens.model.Progress;
import linlens.model.Transformer;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * {@code concept}: how much of a concept (a set of words, or of contrast prompt pairs) the model
 * reads out for a prompt, and where it comes from, by the detached Jacobian's exact splits and
 * by three simpler readouts computed on the same forward pass, to compare against:
 *
 * <ul>
 * <li>the concept logit wᵀy ({@link ConceptSpace}), split exactly over the input positions (one
 *     reverse sweep: Σ_i wᵀJ_i x_i + wᵀc = wᵀy) and over the embedding's direct path and each layer's
 *     attention and MLP outputs (y is the frozen final norm of their sum at the last position);</li>
 * <li>the spectral share: the σ²-weighted share of the top-k left singular subspace of J_{n−1}
 *     (last position) and of [J_0 … J_{n−1}] (tokens combined) that lies in the concept's subspace,
 *     matrix-free; and, with {@code emergence}, the same share for the cumulative Jacobian of each
 *     layer's output, and the first layer that reaches a fraction of the final share;</li>
 * <li>baselines: the logit lens (wᵀ of each layer's stream through the final norm), gradient ×
 *     input of the ordinary Jacobian (∂(wᵀy)/∂x_i · x_i, which does not sum to wᵀy), and the plain
 *     output probability of the concept's tokens.</li>
 * </ul>
 */
public final class ConceptScores implements Analysis<ConceptScores.Options> {
    public record Options(@Param(description = "The concept's name (built in, or made with 'linlens concepts make').",
                                  label = "NAME", defaultValue = "gender") String concept,
                          @Param(description = "Singular triplets for the spectral shares (0: none).", defaultValue = "8", min = 0,
                                  max = 64, limit = Param.Limit.HIDDEN_SIZE) int k,
                          @Param(description = "Spectral share of the last position only (tokens combined costs about n times more).")
                          boolean lastOnly,
                          @Param(description = "Also the spectral share at every layer's output, and where it emerges.") boolean emergence,
                          @Param(description = "Emergence: the first layer whose share reaches this fraction of the final one.",
                                  defaultValue = "0.5", label = "F") double fraction,
                          @Param(defaultValue = "fp32") Precision precision,
                          @Param(defaultValue = "up") MlpPath mlpPath) {}

    @Override public String name() { return "concept"; }

    @Override public String summary() { return "A concept's logit, its exact sources, and its spectral share"; }

    @Override public List<String> description() {
        return List.of("A concept (word list or contrast pairs; 'linlens concepts list') for a prompt: its logit wᵀy split exactly",
                "over positions and over layers × attention/MLP, the share of J's top singular subspace that lies in the",
                "concept's subspace, and as baselines the logit lens, gradient × input and the tokens' probability.");
    }

    @Override public Class<Options> optionsType() { return Options.class; }

    @Override public void check(Options o) {
        if (!(o.fraction() > 0 && o.fraction() <= 1)) throw new OptionException("{fraction} must be in (0, 1], not " + o.fraction());
        if (o.emergence() && o.k() == 0) throw new OptionException("{emergence} needs spectral shares: give {k} of 1 or more");
        ConceptLibrary.standard().resolve(o.concept());
    }

    public record PositionScore(int position, @JsonProperty("token_id") int tokenId, String token, double value) {}

    public record LayerScore(int layer, double attn, double mlp) {}

    /** The exact split of the concept logit: Σ positions + constant = Σ components + direct = logit. */
    public record Attribution(List<PositionScore> positions, double constant, @JsonProperty("relative_error") double relativeError,
                              @JsonProperty("embedding_direct") double embeddingDirect, List<LayerScore> layers,
                              @JsonProperty("components_relative_error") double componentsRelativeError) {}

    /** A top-k's spectral share: its singular values and the share of each u_k and of all (σ²-weighted). */
    public record Share(double[] sigma, @JsonProperty("u_shares") double[] uShares, double share) {
        /** The share of the pairs whose u is given (sigma may list more singular values: a full spectrum). */
        static Share of(ConceptSpace space, double[] sigma, double[][] u) {
            double[] each = new double[u.length];
            for (int i = 0; i < each.length; i++) each[i] = space.shareOf(u[i]);
            double[] s = Arrays.copyOf(sigma, Math.min(sigma.length, u.length));
            return new Share(s, each, space.spectralShare(s, u));
        }
    }

    /**
     * A concept read beside another analysis ({@code decompose --concept}): its logit wᵀy split
     * exactly over the positions, and the shares of that analysis's own top singular subspaces.
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Reading(ConceptSpace.Info concept, double logit, List<PositionScore> positions, double constant,
                          @JsonProperty("relative_error") double relativeError,
                          @JsonProperty("last_position") Share lastPosition, @JsonProperty("tokens_combined") Share tokensCombined) {}

    /** {@link Reading} of the final output: one reverse sweep for the position split; the spectra are the caller's. */
    static <A> Reading reading(ConceptSpace space, DetachedSystem<A> sys, ForwardTrace tr, Transformer m,
                               Spectrum last, Spectrum combined) {
        double[] w = space.readout();
        double logit = space.logit(tr.y());
        var split = linlens.analysis.Attribution.splitOverPositions(sys, tr, w);
        List<PositionScore> positions = positionScores(split.perPosition(), tr, m);
        double sum = sumFrom(split.constant(), split.perPosition());
        return new Reading(space.info(), logit, positions, split.constant(), relative(sum, logit),
                Share.of(space, last.singularValues(), last.u()), Share.of(space, combined.singularValues(), combined.u()));
    }

    /** A concept at one layer's site ({@code layers --concept}): its logit there, and the shares of the site's spectra. */
    public record SiteReading(double logit, @JsonProperty("cumulative_last") double cumulativeLast,
                              @JsonProperty("cumulative_combined") double cumulativeCombined,
                              @JsonProperty("layerwise_last") double layerwiseLast,
                              @JsonProperty("layerwise_combined") double layerwiseCombined) {
        static SiteReading of(ConceptSpace space, double[] siteOutput, Spectrum cumLast, Spectrum cumComb, Spectrum lwLast, Spectrum lwComb) {
            return new SiteReading(space.logit(siteOutput), share(space, cumLast), share(space, cumComb), share(space, lwLast), share(space, lwComb));
        }

        private static double share(ConceptSpace space, Spectrum s) { return space.spectralShare(s.singularValues(), s.u()); }
    }

    /** start + Σ values, in order (the sum the scans have always recorded). */
    private static double sumFrom(double start, double[] values) {
        double s = start;
        for (double v : values) s += v;
        return s;
    }

    /** Each position's share of the concept logit, with its token. */
    private static List<PositionScore> positionScores(double[] perPosition, ForwardTrace tr, Transformer m) {
        List<PositionScore> positions = new ArrayList<>();
        for (int t = 0; t < tr.n(); t++)
            positions.add(new PositionScore(t, tr.ids()[t], m.tokenizer().decode(tr.ids()[t]), perPosition[t]));
        return positions;
    }

    /** The concept a {@code --concept} option names, resolved on the model (null: none asked). */
    static ConceptSpace spaceOf(String concept, Transformer m) {
        return concept == null ? null : ConceptSpace.of(ConceptLibrary.standard().resolve(concept), m);
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Spectral(int k, double chance, @JsonProperty("last_position") Share lastPosition,
                           @JsonProperty("tokens_combined") Share tokensCombined,
                           @JsonProperty("layer_shares") double[] layerShares, Double fraction,
                           @JsonProperty("emergence_layer") Integer emergenceLayer) {}

    /** The simpler readouts: per layer, per position, and the output probabilities. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Baselines(@JsonProperty("logit_lens") double[] logitLens,
                            @JsonProperty("logit_lens_emergence_layer") Integer logitLensEmergenceLayer,
                            @JsonProperty("grad_x_input") double[] gradXInput,
                            @JsonProperty("grad_x_input_sum") double gradXInputSum,
                            double probability, @JsonProperty("versus_probability") Double versusProbability) {}

    /**
     * @param logit         wᵀy
     * @param readoutError  |wᵀy − the same from the model's logits (mean over the tokens)| / |wᵀy|: 0 up to rounding
     */
    public record Result(ModelInfo model, String prompt, List<TokenInfo> tokens, Prediction prediction, String precision,
                         ConceptSpace.Info concept, double logit, @JsonProperty("readout_error") double readoutError,
                         Attribution attribution, Spectral spectral, Baselines baselines,
                         @JsonProperty("timings_ms") Map<String, Double> timingsMs) implements AnalysisResult {
        @Override public Object document() { return this; }

        @Override public String title() { return "Linear Lens concept " + concept.name() + ": " + prompt; }

        @Override public Map<String, Object> sections() { return Map.of("concept", this); }

        @Override public void print(PrintWriter out) {
            out.printf("Prompt       %s (%d tokens) → %s p=%.3f%n", Text.quote(Text.elide(prompt, 60)), tokens.size(),
                    Text.quote(prediction.text()), prediction.probability());
            out.printf("Concept      %s: %d tokens%s, subspace rank %d (chance share %.3f)%n", concept.name(), concept.tokens(),
                    concept.versusTokens() > 0 ? " versus " + concept.versusTokens() : "", concept.rank(), concept.chance());
            out.printf("Logit        wᵀy = %+.4f   (%s; Σ positions + constant off by %.1e, Σ components by %.1e, %s)%n", logit,
                    concept.versusTokens() > 0 ? "mean logit of its tokens over the versus tokens'" : "mean logit of its tokens over the vocabulary's",
                    attribution.relativeError(), attribution.componentsRelativeError(), precision);
            out.println("By position");
            for (var p : attribution.positions()) out.printf("  %3d  %-20s %+9.4f%n", p.position(), Text.quote(p.token()), p.value());
            if (attribution.constant() != 0) out.printf("       %-20s %+9.4f%n", "constant (biases)", attribution.constant());
            out.printf("By layer     embedding %+.3f;", attribution.embeddingDirect());
            for (var l : attribution.layers()) out.printf(" %d: %+.2f/%+.2f", l.layer(), l.attn(), l.mlp());
            out.println("  (attn/mlp)");
            if (spectral != null) {
                out.printf("Spectral     share of the top-%d subspace in the concept's: last position %.4f%s (chance %.4f)%n",
                        spectral.k(), spectral.lastPosition().share(), spectral.tokensCombined() == null ? ""
                                : String.format(", tokens combined %.4f", spectral.tokensCombined().share()), spectral.chance());
                if (spectral.layerShares() != null)
                    out.printf("Emergence    layer shares %s; first reaching %.0f%% of the final: %s%n", Text.numbers(spectral.layerShares(), 3),
                            100 * spectral.fraction(), spectral.emergenceLayer() == null ? "none" : "layer " + spectral.emergenceLayer());
            }
            out.printf("Baselines    probability %.3g%s; gradient × input sums to %+.4f; logit lens by layer %s%n", baselines.probability(),
                    baselines.versusProbability() == null ? "" : String.format(" (versus %.3g)", baselines.versusProbability()),
                    baselines.gradXInputSum(), Text.numbers(baselines.logitLens(), 2));
        }
    }

    @Override
    public Result run(PromptContext ctx, Options o, Progress progress, ArraySink arrays) {
        // callers have run check(o), which resolved the concept once already; a scan runs this per prompt
        Concept c = ConceptLibrary.standard().resolve(o.concept());
        return run(ctx, ConceptSpace.of(c, ctx.model()), o, progress, o.precision().arith());
    }

    /** On a concept space already made (scans, tests). */
    public Result run(PromptContext ctx, ConceptSpace space, Options o, Progress progress) {
        return run(ctx, space, o, progress, o.precision().arith());
    }

    private static <A> Result run(PromptContext ctx, ConceptSpace space, Options o, Progress progress, Arith<A> ar) {
        long t0 = System.nanoTime();
        Transformer m = ctx.model();
        ForwardTrace tr = ctx.trace();
        int n = tr.n(), d = m.config().dim(), L = m.config().layers(), T = n - 1;
        double[] w = space.readout();
        double logit = space.logit(tr.y());
        double fromLogits = meanLogit(tr.logits(), space.tokens())
                - (space.versusTokens().length > 0 ? meanLogit(tr.logits(), space.versusTokens()) : meanLogit(tr.logits(), null));
        double readoutError = space.concept().words().isEmpty() ? 0 : Math.abs(logit - fromLogits) / Math.max(Math.abs(logit), 1e-300);

        progress.update("positions", 0, 1);
        DetachedSystem<A> sys = new DetachedSystem<>(m, tr, o.mlpPath(), ar);
        var split = linlens.analysis.Attribution.splitOverPositions(sys, tr, w);
        List<PositionScore> positions = positionScores(split.perPosition(), tr, m);
        double sum = sumFrom(split.constant(), split.perPosition());
        progress.update("positions", 1, 1);

        // components: y = fs ⊙ (x_T + Σ_l attn_l[T] + mlp_l[T]) with fs the final norm's frozen scales at T
        double[] fs = Arrays.copyOfRange(tr.frozen().finalNorm(), T * d, (T + 1) * d);
        double[] sw = new double[d];
        for (int j = 0; j < d; j++) sw[j] = w[j] * fs[j];
        double direct = dotRow(sw, tr.x(), T, d), componentsSum = direct;
        List<LayerScore> layers = new ArrayList<>();
        for (int l = 0; l < L; l++) {
            double a = dotRow(sw, tr.attnOut()[l], T, d), f = dotRow(sw, tr.mlpOut()[l], T, d);
            layers.add(new LayerScore(l, a, f));
            componentsSum += a + f;
        }
        Attribution attribution = new Attribution(positions, split.constant(), relative(sum, logit), direct, layers,
                relative(componentsSum, logit));

        // baselines: the logit lens of each layer's stream, gradient × input, probabilities
        // each layer's stream at T through the final norm frozen at it: the lens reads it, emergence's site Jacobians scale by it
        ForwardPass fp = new ForwardPass(m);
        double[] lens = new double[L];
        double[][] normScale = new double[L][], normed = new double[L][];  // (L, d) each
        for (int l = 0; l < L; l++) {
            double[] h = Arrays.copyOfRange(tr.resid()[l + 1], T * d, (T + 1) * d);
            normScale[l] = fp.finalNormScales(h);
            for (int j = 0; j < d; j++) h[j] *= normScale[l][j];
            normed[l] = h;
            lens[l] = space.logit(h);
        }
        progress.update("gradient × input", 0, 1);
        double[] g = new OrdinaryJacobian(m, ctx.traceWithActivations()).vjp(w, 1);  // (n, 1, d)
        double[] gx = new double[n];
        double gxSum = 0;
        for (int t = 0; t < n; t++) {
            gx[t] = dotRow(Arrays.copyOfRange(g, t * d, (t + 1) * d), tr.x(), t, d);
            gxSum += gx[t];
        }
        progress.update("gradient × input", 1, 1);
        double[] probs = softmax(tr.logits());
        Baselines baselines = new Baselines(lens, firstReaching(lens, o.fraction()), gx, gxSum, probabilityOf(probs, space.tokens()),
                space.versusTokens().length > 0 ? probabilityOf(probs, space.versusTokens()) : null);

        Spectral spectral = null;
        if (o.k() > 0) {
            int k = Math.min(o.k(), d);
            progress.update("spectral shares", 0, 2);
            Share last = share(space, MatrixFreeSvd.position(sys, T, k, tr.y()));
            progress.update("spectral shares", 1, 2);
            Share combined = o.lastOnly() ? null : share(space, MatrixFreeSvd.tokensCombined(sys, k, tr.y()));
            progress.update("spectral shares", 2, 2);
            double[] layerShares = null;
            Integer emergence = null;
            if (o.emergence()) {
                layerShares = new double[L];
                int[] lastOnly = {T};
                for (int l = 0; l < L; l++) {
                    progress.update("layers", l, L);
                    var op = JacobianOperator.site(sys, l, Site.LAYER, normScale[l], false, lastOnly);
                    layerShares[l] = share(space, MatrixFreeSvd.top(op, k, normed[l])).share();
                }
                progress.update("layers", L, L);
                emergence = firstReaching(layerShares, o.fraction());
            }
            spectral = new Spectral(k, space.chance(), last, combined, layerShares, o.emergence() ? o.fraction() : null, emergence);
        }
        Map<String, Double> times = ctx.times();
        times.put("concept", Vectors.ms(t0));
        return new Result(ctx.modelInfo(), ctx.prompt(), ctx.tokens(), ctx.prediction(), o.precision().label(), space.info(), logit,
                readoutError, attribution, spectral, baselines, times);
    }

    private static Share share(ConceptSpace space, MatrixFreeSvd.Result r) {
        return Share.of(space, r.singularValues(), r.u());
    }

    /** The first layer whose value reaches {@code fraction} of the last layer's (null: the last value is not positive, or none does). */
    static Integer firstReaching(double[] byLayer, double fraction) {
        double fin = byLayer[byLayer.length - 1];
        if (!(fin > 0)) return null;
        for (int l = 0; l < byLayer.length; l++) if (byLayer[l] >= fraction * fin) return l;
        return null;
    }

    /** Mean logit of the tokens (null: of the whole vocabulary). */
    private static double meanLogit(double[] logits, int[] tokens) {
        double s = 0;
        if (tokens == null) {
            for (double v : logits) s += v;
            return s / logits.length;
        }
        for (int t : tokens) s += logits[t];
        return s / tokens.length;
    }

    private static double[] softmax(double[] logits) {
        double max = Double.NEGATIVE_INFINITY, sum = 0;
        for (double v : logits) max = Math.max(max, v);
        double[] p = new double[logits.length];
        for (int i = 0; i < p.length; i++) sum += p[i] = Math.exp(logits[i] - max);
        for (int i = 0; i < p.length; i++) p[i] /= sum;
        return p;
    }

    private static double probabilityOf(double[] probs, int[] tokens) {
        double s = 0;
        for (int t : tokens) s += probs[t];
        return s;
    }

    private static double dotRow(double[] v, double[] rows, int row, int d) {
        double s = 0;
        for (int j = 0; j < d; j++) s += v[j] * rows[row * d + j];
        return s;
    }

    private static double relative(double value, double reference) {
        return Math.abs(value - reference) / Math.max(Math.abs(reference), 1e-300);
    }
}
