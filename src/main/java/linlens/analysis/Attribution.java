package linlens.analysis;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import linlens.blas.Arith;
import linlens.linear.DetachedSystem;
import linlens.linear.Precision;
import linlens.linear.Site;
import linlens.model.ForwardTrace;
import linlens.model.MlpPath;
import linlens.model.Transformer;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Exact attribution (METHOD.md section 4): the logit of token t is w_tᵀ y = Σ_i w_tᵀ J_i x_i,
 * an additive split over input positions that sums exactly; one reverse sweep with the single
 * cotangent w_t gives it. Optionally split further by component: y is the frozen final norm of
 * x_T + Σ_l (attn_l + mlp_l) at the last position, and each branch output is itself linear in
 * x, so (component, position) contributions also sum exactly to the logit.
 */
public final class Attribution {
    private Attribution() {}

    public record Options(int tokenId, Integer versusId, boolean byComponent, Precision precision, MlpPath mlpPath) {}

    public record Contribution(int position, @JsonProperty("token_id") int tokenId, String token, double value) {}

    /** A branch's share: per input position, plus its bias constant (0 without biases); total = Σ + constant. */
    public record ComponentContribution(int layer, String key, double total, @JsonProperty("per_position") double[] perPosition,
                                        double constant) {}

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Split(@JsonProperty("token_id") int tokenId, String text,
                        @JsonProperty("versus_token_id") Integer versusTokenId, @JsonProperty("versus_text") String versusText,
                        double logit, double sum, @JsonProperty("relative_error") double relativeError,
                        List<Contribution> contributions, double constant,
                        @JsonProperty("embedding_direct") Double embeddingDirect,
                        List<ComponentContribution> components) {}

    public record Result(Decomposition.ModelInfo model, String prompt, List<Decomposition.TokenInfo> tokens,
                         Decomposition.Prediction prediction, String precision, Split attribution,
                         @JsonProperty("timings_ms") Map<String, Double> timingsMs) {}

    public static Result run(Transformer m, String prompt, ForwardTrace tr, Options o) {
        return o.precision() == Precision.FP32 ? run(m, prompt, tr, o, Arith.F32) : run(m, prompt, tr, o, Arith.F64);
    }

    private static <A> Result run(Transformer m, String prompt, ForwardTrace tr, Options o, Arith<A> ar) {
        long t0 = System.nanoTime();
        int n = tr.n(), d = m.config().dim(), V = m.config().vocab();
        for (Integer id : new Integer[]{o.tokenId(), o.versusId()})
            if (id != null && (id < 0 || id >= V)) throw new linlens.model.InputException("token id " + id + " out of range 0.." + (V - 1));
        double[] w = unembeddingRow(m, o.tokenId());
        if (o.versusId() != null) {
            double[] v = unembeddingRow(m, o.versusId());
            for (int j = 0; j < d; j++) w[j] -= v[j];
        }
        double logit = tr.logits()[o.tokenId()] - (o.versusId() == null ? 0 : tr.logits()[o.versusId()]);
        DetachedSystem<A> sys = new DetachedSystem<>(m, tr, o.mlpPath(), ar);
        A g = sys.vjp(ar.fromDoubles(w), 1);
        double[] perPos = dotPerPosition(ar, g, tr.x(), n, d);
        List<Contribution> contribs = new ArrayList<>();
        double constant = dot(ar, sys.constant(), w);  // w_tᵀ c: biases make y affine (0 without)
        double sum = constant;
        for (int t = 0; t < n; t++) {
            contribs.add(new Contribution(t, tr.ids()[t], m.tokenizer().decode(tr.ids()[t]), perPos[t]));
            sum += perPos[t];
        }
        Double direct = null;
        List<ComponentContribution> comps = null;
        if (o.byComponent()) {
            // cotangent on each branch output at T: w ⊙ (frozen final-norm scales at T)
            double[] sw = new double[d];
            double[] fs = tr.frozen().finalNorm();
            for (int j = 0; j < d; j++) sw[j] = w[j] * fs[(n - 1) * d + j];
            double dsum = 0;
            for (int j = 0; j < d; j++) dsum += sw[j] * tr.x()[(n - 1) * d + j];
            direct = dsum;
            comps = new ArrayList<>();
            A u = ar.fromDoubles(sw);
            for (int l = 0; l < m.config().layers(); l++)
                for (Site s : new Site[]{Site.ATTN, Site.MLP}) {
                    double[] pp = dotPerPosition(ar, sys.vjpFromSite(l, s, u, 1, 0, null), tr.x(), n, d);
                    double c = dot(ar, sys.siteConstant(0, l, s, ar.fromDoubles(fsT(fs, n, d))), w);
                    double tot = c;
                    for (double v : pp) tot += v;
                    comps.add(new ComponentContribution(l, s.key, tot, pp, c));
                }
        }
        Map<String, Double> times = new LinkedHashMap<>();
        times.put("attribution", Decomposition.ms(t0));
        Split split = new Split(o.tokenId(), m.tokenizer().decode(o.tokenId()), o.versusId(),
                o.versusId() == null ? null : m.tokenizer().decode(o.versusId()), logit, sum,
                Math.abs(sum - logit) / Math.max(Math.abs(logit), 1e-300), contribs, constant, direct, comps);
        return new Result(Decomposition.info(m), prompt, Decomposition.tokens(m, tr.ids()), Decomposition.predict(m, tr, 5),
                o.precision().label(), split, times);
    }

    /** The final norm's frozen scales at the last position. */
    private static double[] fsT(double[] fs, int n, int d) {
        return java.util.Arrays.copyOfRange(fs, (n - 1) * d, n * d);
    }

    private static <A> double dot(Arith<A> ar, A a, double[] w) {
        double s = 0;
        for (int j = 0; j < w.length; j++) s += ar.get(a, j) * w[j];
        return s;
    }

    /** Row {@code id} of the unembedding (the tied embedding or the output head). */
    static double[] unembeddingRow(Transformer m, int id) {
        float[] f = new float[m.config().dim()];
        m.output().rowsToFloat(id, 1, f, 0);
        double[] w = new double[f.length];
        for (int j = 0; j < f.length; j++) w[j] = f[j];
        return w;
    }

    /** Σ_j g[t][0][j]·x[t][j] for each position: a single-cotangent sweep's contributions. */
    private static <A> double[] dotPerPosition(Arith<A> ar, A g, double[] x, int n, int d) {
        double[] out = new double[n];
        for (int t = 0; t < n; t++) {
            double s = 0;
            for (int j = 0; j < d; j++) s += ar.get(g, t * d + j) * x[t * d + j];
            out[t] = s;
        }
        return out;
    }
}
