package linlens.analysis;

import com.fasterxml.jackson.annotation.JsonProperty;
import linlens.blas.Arith;
import linlens.linear.DetachedSystem;
import linlens.linear.Site;
import linlens.model.ForwardPass;
import linlens.model.ForwardTrace;
import linlens.model.MlpPath;
import linlens.model.Transformer;

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
public final class Steering {
    private Steering() {}

    public record Options(int layer, double strength, int tokens, MlpPath mlpPath) {
        public Options {
            if (!Double.isFinite(strength) || tokens < 0)
                throw new IllegalArgumentException("strength must be finite and tokens at least 0: " + strength + ", " + tokens);
        }
    }

    public record Continuation(String text, @JsonProperty("token_ids") List<Integer> tokenIds, List<String> tokens) {}

    public record Result(Decomposition.ModelInfo model, @JsonProperty("source_prompt") String sourcePrompt,
                         @JsonProperty("target_prompt") String targetPrompt, int layer, double strength,
                         @JsonProperty("source_tokens") List<Decomposition.TokenInfo> sourceTokens,
                         @JsonProperty("source_prediction") Decomposition.Prediction sourcePrediction,
                         Continuation unsteered, Continuation steered,
                         @JsonProperty("timings_ms") Map<String, Double> timingsMs) {}

    /** About two thirds of the depth. */
    public static int defaultLayer(int layers) {
        return Math.max(0, (int) Math.round(2.0 * layers / 3.0) - 1);
    }

    public static Result run(Transformer m, String source, int[] sourceIds, String target, int[] targetIds, Options o) {
        int L = m.config().layers(), d = m.config().dim();
        if (o.layer() < 0 || o.layer() >= L) throw new linlens.model.InputException("layer " + o.layer() + " out of range 0.." + (L - 1));
        long t0 = System.nanoTime();
        ForwardTrace src = new ForwardPass(m).run(sourceIds);
        var sys = new DetachedSystem<>(m, src, o.mlpPath(), Arith.F64);
        double[] ones = new double[d];
        java.util.Arrays.fill(ones, 1.0);
        double[] jac = sys.siteJacobians(o.layer(), Site.LAYER, ones, false, 512L << 20).cumulative();
        Map<String, Double> times = new LinkedHashMap<>();
        times.put("source_jacobian", Decomposition.ms(t0));
        t0 = System.nanoTime();
        Continuation plain = generate(m, targetIds, o.tokens(), null);
        times.put("unsteered", Decomposition.ms(t0));
        t0 = System.nanoTime();
        int ns = sourceIds.length;
        Continuation steered = generate(m, targetIds, o.tokens(), (ids, x) -> {
            double[] a = new double[d];
            for (int k = 0; k < ids.length; k++)  // a += J_{k mod n} e_k
                Arith.F64.gemm(false, true, 1, d, d, x, k * d, d, jac, (k % ns) * d * d, d, true, a, 0, d);
            double an = norm(a, 0, d);
            return (layer, h, n) -> {
                if (layer != o.layer() || an == 0) return;
                for (int p = 0; p < n; p++) {
                    double f = o.strength() * norm(h, p * d, d) / an;
                    for (int j = 0; j < d; j++) h[p * d + j] += f * a[j];
                }
            };
        });
        times.put("steered", Decomposition.ms(t0));
        return new Result(Decomposition.info(m), source, target, o.layer(), o.strength(),
                Decomposition.tokens(m, sourceIds), Decomposition.predict(m, src, 5), plain, steered, times);
    }

    /** Builds the hook for the current sequence (its ids and embeddings). */
    private interface HookFactory {
        ForwardPass.Hook forSequence(int[] ids, double[] x);
    }

    /** Greedy continuation; the hook (if any) is rebuilt for each grown sequence. */
    private static Continuation generate(Transformer m, int[] start, int count, HookFactory hooks) {
        List<Integer> ids = new ArrayList<>();
        for (int id : start) ids.add(id);
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int[] cur = ids.stream().mapToInt(Integer::intValue).toArray();
            ForwardPass fp = new ForwardPass(m);
            double[] x = fp.embed(cur);
            if (hooks != null) fp.hook(hooks.forSequence(cur, x));
            double[] lg = fp.run(cur, x).logits();
            int next = Decomposition.topIndices(lg, 1)[0];
            if (next == m.tokenizer().eos()) break;
            ids.add(next);
            out.add(next);
        }
        int[] arr = out.stream().mapToInt(Integer::intValue).toArray();
        return new Continuation(m.tokenizer().decode(arr), out, out.stream().map(m.tokenizer()::decode).toList());
    }

    private static double norm(double[] v, int off, int n) {
        double s = 0;
        for (int i = 0; i < n; i++) s += v[off + i] * v[off + i];
        return Math.sqrt(s);
    }
}
