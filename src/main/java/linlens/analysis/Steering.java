package linlens.analysis;

import com.fasterxml.jackson.annotation.JsonProperty;
import linlens.blas.Arith;
import linlens.linear.DetachedSystem;
import linlens.linear.Site;
import linlens.linear.SweepMemory;
import linlens.model.ForwardPass;
import linlens.model.ForwardTrace;
import linlens.model.MlpPath;
import linlens.model.Progress;
import linlens.model.Prompts;
import linlens.model.Transformer;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Steering with a prompt's Jacobian (METHOD.md section 6). The source prompt's cumulative
 * detached Jacobian of the residual stream after layer s, at its last position, J^(s)_j (one
 * d×d map per source position j), is used as an operator on the target sequence's embeddings
 * e_k: a = Σ_k J^(s)_{k mod n} e_k. The vector a, rescaled to λ times each position's stream
 * norm, is added to the residual stream after layer s at every position while the target is
 * continued greedily; the unsteered continuation is generated beside it.
 */
public final class Steering implements Analysis<Steering.Options> {
    /** Each generated token is a forward pass over the whole grown sequence: more is not an analysis any more. */
    public static final int MAX_TOKENS = 512;

    /** @param layer the steered layer (null: {@link #defaultLayer}) */
    public record Options(@Param(description = "The prompt to continue.", required = true) String target,
                          @Param(description = "Layer whose output is steered (default: about two thirds of the depth).",
                                  min = 0, limit = Param.Limit.LAYER) Integer layer,
                          @Param(description = "λ: size of the added vector relative to the stream's norm.", defaultValue = "0.25")
                          double strength,
                          @Param(description = "Further strengths to continue at, beside λ (default: λ/2 and 2λ; \"\" for none).",
                                  label = "λ,...") double[] compare,
                          @Param(description = "Tokens to generate.", defaultValue = "12", min = 1, max = MAX_TOKENS) int tokens,
                          @Param(defaultValue = "up") MlpPath mlpPath) {
        public Options {
            if (target == null || !Double.isFinite(strength) || tokens < 0)
                throw new IllegalArgumentException("a target, a finite strength and tokens at least 0: " + strength + ", " + tokens);
            if (compare != null) compare = compare.clone();
        }

        /** With the default comparison (λ/2 and 2λ). */
        public Options(String target, Integer layer, double strength, int tokens, MlpPath mlpPath) {
            this(target, layer, strength, null, tokens, mlpPath);
        }

        /** The comparison's strengths: those given, else λ/2 and 2λ (none when λ = 0). */
        public double[] comparedStrengths() {
            if (compare != null) return compare.clone();
            return strength == 0 ? new double[0] : new double[]{strength / 2, strength * 2};
        }
    }

    @Override public String name() { return "steer"; }

    @Override public String summary() { return "Steer generation with a source prompt's Jacobian"; }

    @Override public List<String> description() {
        return List.of("Steer greedy generation of a target prompt with a source prompt's cumulative Jacobian at a layer,",
                "printing the steered and unsteered continuations side by side.");
    }

    @Override public Class<Options> optionsType() { return Options.class; }

    @Override public String promptDescription() { return "Source prompt whose Jacobian steers."; }

    /**
     * A source whose prediction is the concept (" Bridge"): what the steering carries is mostly
     * the source's own next token. With λ 0.25 at the default layer this moves the demo model's
     * continuations (bench/results/steering-sweep.tsv, README "steer").
     */
    @Override public String defaultPrompt() { return "The Golden Gate"; }

    public record Continuation(String text, @JsonProperty("token_ids") List<Integer> tokenIds, List<String> tokens) {}

    /** The continuation steered at one of the compared strengths. */
    public record Compared(double strength, String text, @JsonProperty("token_ids") List<Integer> tokenIds, List<String> tokens) {}

    public record Result(ModelInfo model, @JsonProperty("source_prompt") String sourcePrompt,
                         @JsonProperty("target_prompt") String targetPrompt, int layer, double strength,
                         @JsonProperty("source_tokens") List<TokenInfo> sourceTokens,
                         @JsonProperty("source_prediction") Prediction sourcePrediction,
                         Continuation unsteered, Continuation steered, List<Compared> comparison,
                         @JsonProperty("timings_ms") Map<String, Double> timingsMs) implements AnalysisResult {
        @Override public Object document() { return this; }

        @Override public String title() { return "Linear Lens steering: " + sourcePrompt + " → " + targetPrompt; }

        @Override public Map<String, Object> sections() { return Map.of("steering", this); }

        @Override public void print(PrintWriter out) {
            List<Compared> rows = new ArrayList<>(comparison);
            rows.add(new Compared(strength, steered.text(), steered.tokenIds(), steered.tokens()));
            rows.sort(java.util.Comparator.comparingDouble(Compared::strength));
            out.printf("Source %s → %s, steered after layer %d, λ = %s%s%n", Text.quote(sourcePrompt),
                    Text.quote(sourcePrediction.text()), layer, Text.number(strength), comparison.isEmpty() ? ""
                            : " (compared with " + String.join(", ", comparison.stream().map(c -> Text.number(c.strength())).toList()) + ")");
            out.printf("  %-11s %s%s%n", "unsteered", targetPrompt, unsteered.text().replace("\n", "\\n"));
            for (Compared c : rows)
                out.printf("  %-11s %s%s%n", "λ = " + Text.number(c.strength()), targetPrompt, c.text().replace("\n", "\\n"));
        }
    }

    /** About two thirds of the depth. */
    public static int defaultLayer(int layers) {
        return Math.max(0, (int) Math.round(2.0 * layers / 3.0) - 1);
    }

    /**
     * Steers the target with the prompt's Jacobian; progress reports the source Jacobian, then
     * each generated token of the unsteered and the steered continuation.
     */
    @Override
    public Result run(PromptContext ctx, Options o, Progress progress, ArraySink arrays) {
        Transformer m = ctx.model();
        int d = m.config().dim();
        int layer = layer(m, o);
        int[] sourceIds = ctx.ids(), targetIds = targetIds(m, o);
        long t0 = System.nanoTime();
        progress.update("source jacobian", 0, 1);
        ForwardTrace src = ctx.trace();
        var sys = new DetachedSystem<>(m, src, o.mlpPath(), Arith.F64);
        double[] ones = new double[d];
        java.util.Arrays.fill(ones, 1.0);
        double[] jac = sys.siteJacobians(layer, Site.LAYER, ones, false, SweepMemory.LAYER_BUDGET).cumulative();
        progress.update("source jacobian", 1, 1);
        Map<String, Double> times = new LinkedHashMap<>();
        times.put("source_jacobian", Vectors.ms(t0));
        t0 = System.nanoTime();
        Continuation plain = generate(m, targetIds, o.tokens(), null, "unsteered", progress);
        times.put("unsteered", Vectors.ms(t0));
        t0 = System.nanoTime();
        Continuation steered = steer(m, targetIds, o.tokens(), jac, sourceIds.length, layer, o.strength(), "steered", progress);
        times.put("steered", Vectors.ms(t0));
        t0 = System.nanoTime();
        List<Compared> comparison = new ArrayList<>();
        for (double lambda : o.comparedStrengths()) {
            Continuation c = steer(m, targetIds, o.tokens(), jac, sourceIds.length, layer, lambda, "λ = " + Text.number(lambda), progress);
            comparison.add(new Compared(lambda, c.text(), c.tokenIds(), c.tokens()));
        }
        if (!comparison.isEmpty()) times.put("comparison", Vectors.ms(t0));
        return new Result(ctx.modelInfo(), ctx.prompt(), o.target(), layer, o.strength(), ctx.tokens(), ctx.prediction(),
                plain, steered, List.copyOf(comparison), times);
    }

    /**
     * The target continued with {@code a = Σ_k J_{k mod n} e_k} (recomputed as the sequence
     * grows) added after {@code layer} at every position, scaled to {@code strength} times that
     * position's stream norm.
     */
    private static Continuation steer(Transformer m, int[] targetIds, int tokens, double[] jac, int ns, int layer, double strength,
                                      String stage, Progress progress) {
        int d = m.config().dim();
        return generate(m, targetIds, tokens, (ids, x) -> {
            double[] a = new double[d];
            for (int k = 0; k < ids.length; k++)  // a += J_{k mod n} e_k
                Arith.F64.gemm(false, true, 1, d, d, x, k * d, d, jac, (k % ns) * d * d, d, true, a, 0, d);
            double an = norm(a, 0, d);
            return (at, h, n) -> {
                if (at != layer || an == 0) return;
                for (int p = 0; p < n; p++) {
                    double f = strength * norm(h, p * d, d) / an;
                    for (int j = 0; j < d; j++) h[p * d + j] += f * a[j];
                }
            };
        }, stage, progress);
    }

    /** The steered layer within the model, and the target with its continuation within the context. */
    @Override
    public void checkPrompt(Transformer m, int[] ids, Options o) {
        layer(m, o);
        targetIds(m, o);
    }

    private static int layer(Transformer m, Options o) {
        int L = m.config().layers();
        int layer = o.layer() != null ? o.layer() : defaultLayer(L);
        if (layer < 0 || layer >= L) throw new OptionException("{layer}: layer " + layer + " out of range 0.." + (L - 1));
        return layer;
    }

    /** The target's tokens, refused when they and the continuation would not fit the model's context. */
    private static int[] targetIds(Transformer m, Options o) {
        int[] targetIds = Prompts.encode(m, o.target());
        if (targetIds.length + o.tokens() > m.config().context())
            throw new OptionException("{tokens} " + o.tokens() + " out of range 1.." + Math.max(0, m.config().context() - targetIds.length)
                    + " (the target's " + targetIds.length + " tokens plus {tokens} exceed the model's context of " + m.config().context() + ")");
        return targetIds;
    }

    /** Builds the hook for the current sequence (its ids and embeddings). */
    private interface HookFactory {
        ForwardPass.Hook forSequence(int[] ids, double[] x);
    }

    /** Greedy continuation; the hook (if any) is rebuilt for each grown sequence. */
    private static Continuation generate(Transformer m, int[] start, int count, HookFactory hooks, String stage, Progress progress) {
        List<Integer> ids = new ArrayList<>();
        for (int id : start) ids.add(id);
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            progress.update(stage, i, count);
            int[] cur = ids.stream().mapToInt(Integer::intValue).toArray();
            ForwardPass fp = new ForwardPass(m);
            double[] x = fp.embed(cur);
            if (hooks != null) fp.hook(hooks.forSequence(cur, x));
            double[] lg = fp.run(cur, x).logits();
            int next = Vectors.topIndices(lg, 1)[0];
            if (next == m.tokenizer().eos()) break;
            ids.add(next);
            out.add(next);
        }
        progress.update(stage, count, count);
        int[] arr = out.stream().mapToInt(Integer::intValue).toArray();
        return new Continuation(m.tokenizer().decode(arr), out, out.stream().map(m.tokenizer()::decode).toList());
    }

    private static double norm(double[] v, int off, int n) {
        double s = 0;
        for (int i = 0; i < n; i++) s += v[off + i] * v[off + i];
        return Math.sqrt(s);
    }
}
