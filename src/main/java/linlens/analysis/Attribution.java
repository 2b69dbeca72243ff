package linlens.analysis;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import linlens.blas.Arith;
import linlens.linear.DetachedSystem;
import linlens.linear.Precision;
import linlens.linear.Site;
import linlens.model.ForwardTrace;
import linlens.model.MlpPath;
import linlens.model.Progress;
import linlens.model.Transformer;

import java.io.PrintWriter;
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
public final class Attribution implements Analysis<Attribution.Options> {
    /**
     * The token is given by its text or its id (neither: the predicted token); the optional
     * versus token likewise.
     */
    public record Options(@Param(description = "Attribute this token (its text must be a single token).", label = "TEXT") String token,
                          @Param(description = "Attribute this token id.", label = "ID", min = 0, limit = Param.Limit.TOKEN_ID) Integer tokenId,
                          @Param(description = "Attribute the logit difference against this single token.", label = "TEXT") String versus,
                          @Param(description = "Attribute the logit difference against this token id.", label = "ID", min = 0,
                                  limit = Param.Limit.TOKEN_ID) Integer versusId,
                          @Param(description = "Also split by layer and attention vs MLP.") boolean byComponent,
                          @Param(defaultValue = "fp32") Precision precision,
                          @Param(defaultValue = "up") MlpPath mlpPath) {
        /** By ids (versus may be null). */
        public Options(int tokenId, Integer versusId, boolean byComponent, Precision precision, MlpPath mlpPath) {
            this(null, tokenId, null, versusId, byComponent, precision, mlpPath);
        }
    }

    @Override public String name() { return "attribute"; }

    @Override public String summary() { return "Exact attribution of a token's logit to the input positions"; }

    @Override public List<String> description() {
        return List.of("Exact attribution of a token's logit (default: the predicted token) to the input positions,",
                "w_tᵀ J_i x_i, summing exactly to the logit; optionally split by layer and attention vs MLP.");
    }

    @Override public Class<Options> optionsType() { return Options.class; }

    @Override public void check(Options o) {
        if (o.token() != null && o.tokenId() != null) throw new OptionException("give {token} or {token_id}, not both");
        if (o.versus() != null && o.versusId() != null) throw new OptionException("give {versus} or {versus_id}, not both");
    }

    /** The token and versus texts must each be one token. */
    @Override
    public void checkPrompt(Transformer m, int[] ids, Options o) {
        if (o.tokenId() == null && o.token() != null) singleToken(m, o.token(), "token");
        if (o.versusId() == null && o.versus() != null) singleToken(m, o.versus(), "versus");
    }

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

    /** {@code notes}: what the console says before the numbers (e.g. a token given without its word-initial space). */
    public record Result(ModelInfo model, String prompt, List<TokenInfo> tokens,
                         Prediction prediction, String precision, Split attribution,
                         @JsonInclude(JsonInclude.Include.NON_EMPTY) List<String> notes,
                         @JsonProperty("timings_ms") Map<String, Double> timingsMs) implements AnalysisResult {
        @Override public Object document() { return this; }

        @Override public String title() { return "Linear Lens attribution: " + prompt; }

        @Override public Map<String, Object> sections() { return Map.of("attribution", this); }

        @Override public void print(PrintWriter out) {
            for (String note : notes) out.println("note: " + note);
            var a = attribution;
            out.printf("Logit of %s%s = %.6f; Σ contributions = %.6f (relative error %.1e, %s)%n", Text.quote(a.text()),
                    a.versusText() == null ? "" : " minus " + Text.quote(a.versusText()), a.logit(), a.sum(), a.relativeError(), precision);
            for (var c : a.contributions()) out.printf("  %3d  %-18s %+10.4f%n", c.position(), Text.quote(c.token()), c.value());
            if (a.components() != null) {
                out.printf("By component (direct path of the embedding at the last position: %+.4f):%n", a.embeddingDirect());
                for (var c : a.components()) out.printf("  layer %2d %-4s %+10.4f%n", c.layer(), c.key(), c.total());
            }
        }
    }

    @Override
    public Result run(PromptContext ctx, Options o, Progress progress, ArraySink arrays) {
        Transformer m = ctx.model();
        int target = o.tokenId() != null ? o.tokenId() : o.token() != null ? singleToken(m, o.token(), "token")
                : Vectors.topIndices(ctx.trace().logits(), 1)[0];
        Integer vs = o.versusId() != null ? o.versusId() : o.versus() != null ? singleToken(m, o.versus(), "versus") : null;
        List<String> notes = new ArrayList<>();
        if (o.tokenId() == null && o.token() != null) spacedTokenNote(m, o.token(), target, "token").ifPresent(notes::add);
        if (o.versusId() == null && o.versus() != null) spacedTokenNote(m, o.versus(), vs, "versus").ifPresent(notes::add);
        Result r = run(ctx, target, vs, o, progress, o.precision().arith());
        return new Result(r.model(), r.prompt(), r.tokens(), r.prediction(), r.precision(), r.attribution(), List.copyOf(notes), r.timingsMs());
    }

    /**
     * A word in running text is usually its space-prefixed token (" Paris"), not the bare one
     * ("Paris", as at the start of a line): when the text is a word without a leading space and
     * its spaced form is a single token too, say which one was used and how to ask for the other.
     */
    static java.util.Optional<String> spacedTokenNote(Transformer m, String text, int usedId, String option) {
        // words only: punctuation's bare token is the usual one ("." after "is")
        if (text.isEmpty() || !Character.isLetterOrDigit(text.codePointAt(0))) return java.util.Optional.empty();
        int spaced;
        try {
            spaced = singleToken(m, " " + text, option);
        } catch (OptionException e) {
            return java.util.Optional.empty();
        }
        if (spaced == usedId) return java.util.Optional.empty();
        return java.util.Optional.of(String.format("%s %s is token %d, without a leading space; in running text the word is "
                        + "token %d %s: give %s for that one", option, Text.quote(text), usedId, spaced,
                Text.quote(m.tokenizer().decode(spaced)), Text.quote(" " + text)));
    }

    /** The id of a text that is exactly one token (without BOS); {@code option} names the option in the message. */
    static int singleToken(Transformer m, String text, String option) {
        int[] ids = m.tokenizer().encode(text);
        int bos = m.tokenizer().bos();
        int[] body = ids.length > 0 && ids[0] == bos ? java.util.Arrays.copyOfRange(ids, 1, ids.length) : ids;
        if (body.length != 1)
            throw new OptionException("{" + option + "} " + Text.quote(text) + " is " + body.length
                    + " tokens, not one (try a leading space, e.g. \" Golden\")");
        return body[0];
    }

    private static <A> Result run(PromptContext ctx, int tokenId, Integer versusId, Options o, Progress progress, Arith<A> ar) {
        long t0 = System.nanoTime();
        Transformer m = ctx.model();
        ForwardTrace tr = ctx.trace();
        int n = tr.n(), d = m.config().dim(), V = m.config().vocab();
        for (Integer id : new Integer[]{tokenId, versusId})
            if (id != null && (id < 0 || id >= V)) throw new OptionException("{token_id} " + id + " out of range 0.." + (V - 1) + " (the model's vocabulary)");
        double[] w = unembeddingRow(m, tokenId);
        if (versusId != null) {
            double[] v = unembeddingRow(m, versusId);
            for (int j = 0; j < d; j++) w[j] -= v[j];
        }
        double logit = tr.logits()[tokenId] - (versusId == null ? 0 : tr.logits()[versusId]);
        progress.update("attribution", 0, 1);
        DetachedSystem<A> sys = new DetachedSystem<>(m, tr, o.mlpPath(), ar);
        PositionSplit split0 = splitOverPositions(sys, tr, w);
        double[] perPos = split0.perPosition();
        List<Contribution> contribs = new ArrayList<>();
        double constant = split0.constant();
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
            int L = m.config().layers();
            for (int l = 0; l < L; l++) {
                progress.update("components", l, L);
                for (Site s : new Site[]{Site.ATTN, Site.MLP}) {
                    double[] pp = dotPerPosition(ar, sys.vjpFromSite(l, s, u, 1, 0, null), tr.x(), n, d);
                    double c = dot(ar, sys.siteConstant(0, l, s, ar.fromDoubles(fsT(fs, n, d))), w);
                    double tot = c;
                    for (double v : pp) tot += v;
                    comps.add(new ComponentContribution(l, s.key, tot, pp, c));
                }
            }
            progress.update("components", L, L);
        }
        progress.update("attribution", 1, 1);
        Map<String, Double> times = new LinkedHashMap<>();
        times.put("attribution", Vectors.ms(t0));
        Split split = new Split(tokenId, m.tokenizer().decode(tokenId), versusId,
                versusId == null ? null : m.tokenizer().decode(versusId), logit, sum,
                Math.abs(sum - logit) / Math.max(Math.abs(logit), 1e-300), contribs, constant, direct, comps);
        return new Result(ctx.modelInfo(), ctx.prompt(), ctx.tokens(), ctx.prediction(), o.precision().label(), split, List.of(), times);
    }

    /**
     * A readout wᵀy split exactly over the input positions: w's gradient g_t at each position from
     * one reverse sweep of the detached system, contribution g_tᵀx_t, and the biases' constant wᵀc
     * (0 without biases); Σ contributions + constant = wᵀy.
     */
    record PositionSplit(double[] perPosition, double constant) {}

    static <A> PositionSplit splitOverPositions(DetachedSystem<A> sys, ForwardTrace tr, double[] w) {
        Arith<A> ar = sys.arith();
        A g = sys.vjp(ar.fromDoubles(w), 1);
        return new PositionSplit(dotPerPosition(ar, g, tr.x(), tr.n(), sys.dim()), dot(ar, sys.constant(), w));
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
    static <A> double[] dotPerPosition(Arith<A> ar, A g, double[] x, int n, int d) {
        double[] out = new double[n];
        for (int t = 0; t < n; t++) {
            double s = 0;
            for (int j = 0; j < d; j++) s += ar.get(g, t * d + j) * x[t * d + j];
            out[t] = s;
        }
        return out;
    }
}
