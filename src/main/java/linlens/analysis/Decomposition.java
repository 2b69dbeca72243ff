package linlens.analysis;

import com.fasterxml.jackson.annotation.JsonProperty;
import linlens.blas.Arith;
import linlens.linear.DetachedSystem;
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
 */
public final class Decomposition {
    private Decomposition() {}

    /** Work memory the Jacobian sweep may use for its buffers (not counting J itself). */
    private static final long SWEEP_BUDGET = 1L << 30;

    public record Options(Precision precision, MlpPath mlpPath, int components, int top) {}

    public record ModelInfo(String architecture, String family, @JsonProperty("hidden_size") int hiddenSize,
                            int layers, @JsonProperty("vocab_size") int vocabSize, String source) {}

    public record TokenInfo(int id, String text) {}

    public record Candidate(@JsonProperty("token_id") int tokenId, String text, double probability, double logit) {}

    public record Prediction(@JsonProperty("token_id") int tokenId, String text, double probability, double logit,
                             List<Candidate> top) {}

    public record Reconstruction(@JsonProperty("relative_error") double relativeError, String precision,
                                 @JsonProperty("mlp_path") String mlpPath,
                                 @JsonProperty("output_norm") double outputNorm) {}

    public record Component(double sigma, @JsonProperty("u_tokens") List<String> uTokens,
                            @JsonProperty("u_token_ids") List<Integer> uTokenIds,
                            @JsonProperty("v_tokens") List<String> vTokens,
                            @JsonProperty("v_token_ids") List<Integer> vTokenIds) {}

    public record PositionSvd(int position, String token, @JsonProperty("singular_values") double[] singularValues,
                              @JsonProperty("stable_rank") double stableRank, List<Component> components) {}

    public record Result(ModelInfo model, String prompt, List<TokenInfo> tokens, Prediction prediction,
                         Reconstruction reconstruction, List<PositionSvd> svd,
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

    static int[] topIndices(double[] v, int k) {
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

    /** ‖a − b‖ / ‖b‖. */
    public static double relativeError(double[] a, double[] b) {
        double num = 0, den = 0;
        for (int i = 0; i < b.length; i++) { num += (a[i] - b[i]) * (a[i] - b[i]); den += b[i] * b[i]; }
        return Math.sqrt(num / den);
    }

    public static Result run(Transformer m, String prompt, int[] ids, Options o, double loadMs) {
        Map<String, Double> times = new LinkedHashMap<>();
        times.put("load", loadMs);
        return run(m, prompt, forward(m, ids, times), o, times, Progress.NONE).result();
    }

    /** The forward pass that records the frozen factors, its time added to {@code times}. */
    public static ForwardTrace forward(Transformer m, int[] ids, Map<String, Double> times) {
        long t0 = System.nanoTime();
        ForwardTrace tr = new ForwardPass(m).run(ids);
        times.put("forward", ms(t0));
        return tr;
    }

    /**
     * A result with the arrays behind it: the output embedding y, its reconstruction Σ J_i x_i,
     * and every J_i as one (n, d, d) array in the job's precision (row = output feature).
     */
    public record Detail<A>(Result result, double[] y, double[] reconstructed, Arith<A> arith, A jacobian) {}

    /**
     * The job on a finished forward pass (its prediction is available before this long step);
     * {@code times} holds the timings so far and receives the rest.
     */
    public static Detail<?> run(Transformer m, String prompt, ForwardTrace tr, Options o, Map<String, Double> times,
                                Progress progress) {
        return o.precision() == Precision.FP32
                ? finish(m, prompt, tr, o, Arith.F32, times, progress)
                : finish(m, prompt, tr, o, Arith.F64, times, progress);
    }

    private static <A> Detail<A> finish(Transformer m, String prompt, ForwardTrace tr, Options o, Arith<A> ar,
                                        Map<String, Double> times, Progress progress) {
        int n = tr.n(), d = m.config().dim();
        long t0 = System.nanoTime();
        DetachedSystem<A> sys = new DetachedSystem<>(m, tr, o.mlpPath(), ar);
        A jac = sys.jacobian(SWEEP_BUDGET, progress);
        times.put("jacobian", ms(t0));

        A recon = sys.apply(jac, ar.fromDoubles(tr.x()));
        double[] yHat = new double[d];
        for (int i = 0; i < d; i++) yHat[i] = ar.get(recon, i);
        double norm = 0;
        for (double v : tr.y()) norm += v * v;
        Reconstruction rec = new Reconstruction(relativeError(yHat, tr.y()), o.precision().label(),
                o.mlpPath().name().toLowerCase(), Math.sqrt(norm));

        t0 = System.nanoTime();
        List<Spectrum> spectra = new ArrayList<>();
        for (int t = 0; t < n; t++) {
            spectra.add(Svd.of(ar, jac, t * d * d, d, d, o.components(), tr.y(), t));
            progress.update("svd", t + 1, n);
        }
        times.put("svd", ms(t0));

        t0 = System.nanoTime();
        progress.update("decode", 0, 1);
        TokenDecoder dec = new TokenDecoder(m);
        List<double[]> us = new ArrayList<>(), vs = new ArrayList<>();
        for (Spectrum s : spectra) { us.addAll(List.of(s.u())); vs.addAll(List.of(s.v())); }
        var uTok = dec.byUnembedding(us.toArray(double[][]::new), o.top());
        var vTok = dec.byEmbeddingCosine(vs.toArray(double[][]::new), o.top());
        List<PositionSvd> svd = new ArrayList<>();
        int idx = 0;
        for (Spectrum s : spectra) {
            List<Component> comps = new ArrayList<>();
            for (int k = 0; k < s.u().length; k++, idx++)
                comps.add(new Component(s.singularValues()[k],
                        uTok.get(idx).stream().map(TokenDecoder.Token::text).toList(),
                        uTok.get(idx).stream().map(TokenDecoder.Token::id).toList(),
                        vTok.get(idx).stream().map(TokenDecoder.Token::text).toList(),
                        vTok.get(idx).stream().map(TokenDecoder.Token::id).toList()));
            svd.add(new PositionSvd(s.position(), m.tokenizer().decode(tr.ids()[s.position()]), s.singularValues(),
                    s.stableRank(), comps));
        }
        times.put("decode", ms(t0));
        progress.update("decode", 1, 1);
        Result result = new Result(info(m), prompt, tokens(m, tr.ids()), predict(m, tr, 5), rec, svd, times);
        return new Detail<>(result, tr.y(), yHat, ar, jac);
    }

    static double ms(long t0) { return (System.nanoTime() - t0) / 1e6; }
}
