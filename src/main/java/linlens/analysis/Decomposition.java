package linlens.analysis;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import linlens.blas.Arith;
import linlens.linear.DetachedSystem;
import linlens.linear.OrdinaryJacobian;
import linlens.linear.Precision;
import linlens.linear.SweepMemory;
import linlens.model.ForwardTrace;
import linlens.model.MlpPath;
import linlens.model.Progress;
import linlens.model.Transformer;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The main job ({@code decompose}): one prompt's detached Jacobians J_i for every input position,
 * the check that they reproduce the output embedding, and their SVDs decoded to tokens (METHOD.md
 * 2–4). Matrix-free ({@link Options#matrixFree}, METHOD.md 7), J is never formed: the
 * reconstruction is one forward sweep of the input (J·x), and the top k of the tokens-combined J
 * and of the last position's J_T come from {@link MatrixFreeSvd}, for prompts whose J would not
 * fit in memory.
 */
public final class Decomposition implements Analysis<Decomposition.Options> {


    /**
     * @param nonlinear  also compute the ordinary Jacobian (nothing frozen) and its reconstruction
     * @param matrixFree never form J (then not nonlinear, and no arrays or report: they need a full Jacobian)
     * @param k          singular values of each matrix-free top-k (null: {@code components})
     */
    public record Options(@Param(defaultValue = "fp32") Precision precision,
                          @Param(defaultValue = "up") MlpPath mlpPath,
                          @Param(description = "Singular pairs decoded per position.", defaultValue = "5", min = 1,
                                  limit = Param.Limit.HIDDEN_SIZE) int components,
                          @Param(description = "Tokens shown per singular vector.", defaultValue = "6", min = 1,
                                  limit = Param.Limit.VOCAB_SIZE) int top,
                          @Param(description = "Also compute the ordinary Jacobian (nothing frozen) and how badly it reconstructs y.")
                          boolean nonlinear,
                          @Param(description = "Never form J: reconstruction by one J·x sweep, top-k of the tokens-combined J and of the last position's J from sweeps (long prompts).")
                          boolean matrixFree,
                          @Param(label = "K", min = 1, limit = Param.Limit.HIDDEN_SIZE) Integer k,
                          @Param(description = "Also read a concept ('linlens concepts list'): its logit split over positions, its share of the top singular subspaces.",
                                  label = "NAME") String concept) {
        public Options {
            // ParamSpec.build checks users' values; these never make sense from any caller
            if (components < 1 || top < 1 || (k != null && k < 1))
                throw new IllegalArgumentException("components and top must be at least 1, k at least 1: " + components + ", " + top + ", " + k);
        }

        public Options(Precision precision, MlpPath mlpPath, int components, int top) {
            this(precision, mlpPath, components, top, false, false, null);
        }

        public Options(Precision precision, MlpPath mlpPath, int components, int top, boolean nonlinear, boolean matrixFree, Integer k) {
            this(precision, mlpPath, components, top, nonlinear, matrixFree, k, null);
        }

        /** The matrix-free job with top-k of size k (null: components). */
        public static Options matrixFree(Precision precision, MlpPath mlpPath, int components, int top, Integer k) {
            return new Options(precision, mlpPath, components, top, false, true, k);
        }

        /** The size of each matrix-free top-k. */
        public int topK() { return k != null ? k : components; }
    }

    @Override public String name() { return "decompose"; }

    @Override public String summary() { return "Exact linear decomposition of the next token: J_i, SVDs, tokens"; }

    @Override public List<String> description() {
        return List.of("Compute the detached Jacobian J_i of the last position's output embedding w.r.t. every input",
                "embedding, check that y = Σ J_i x_i, and decode the leading singular vectors of each J_i.");
    }

    @Override public Class<Options> optionsType() { return Options.class; }

    @Override public void check(Options o) {
        if (o.k() != null && !o.matrixFree()) throw new OptionException("{k} sets the matrix-free top-k: use it with {matrix_free}");
        if (o.matrixFree() && o.nonlinear())
            throw new OptionException("{nonlinear} materializes the ordinary Jacobian: not with {matrix_free}");
        if (o.concept() != null) linlens.concepts.ConceptLibrary.standard().resolve(o.concept());
    }

    @Override public boolean hasArrays() { return true; }

    @Override public String fullDescription() {
        return "Print every position's singular pairs, not only the last's (--json and --report always hold them all).";
    }

    @Override public String noArrays(Options o) {
        return o.matrixFree() ? "{export} writes the full Jacobians, which {matrix_free} never forms" : null;
    }

    @Override public String noReport(Options o) {
        return o.matrixFree() ? "{report} draws the full Jacobians and spectra, which {matrix_free} never forms: use {json}" : null;
    }

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
                         ConceptScores.Reading concept,
                         @JsonProperty("timings_ms") Map<String, Double> timingsMs) {}

    /**
     * Refuses, before any work, a prompt whose full Jacobian cannot be materialized: more than
     * 2³¹−1 entries (one Java array), or more than the heap limit for J with the tokens-combined
     * SVD's copies (about 4·n·d² values at once: J, its d × n·d rearrangement, LAPACK's copy of it
     * and V). The message points to the matrix-free option.
     */
    public static void checkMaterializable(int n, int d, Precision precision) {
        long entries = (long) n * d * d;
        if (entries > Integer.MAX_VALUE)
            throw new OptionException("the full Jacobian (" + n + "×" + d + "×" + d + " = " + entries
                    + " entries) is too large to materialize: use {matrix_free}");
        long need = 4 * entries * precision.bytesPerValue(), heap = Runtime.getRuntime().maxMemory();
        if (need > heap)
            throw new OptionException(String.format("the full Jacobian of %d tokens and its SVD need about %.1f GB, "
                    + "more than the %.1f GB Java heap: use {matrix_free} (or a larger -Xmx in LINLENS_JAVA_OPTS)",
                    n, need / 1e9, heap / 1e9));
    }

    /** A J too large to materialize, a decoding too large for the heap. */
    @Override
    public void checkPrompt(Transformer m, int[] ids, Options o) {
        int n = ids.length, d = m.config().dim(), components = o.components();
        if (!o.matrixFree()) checkMaterializable(n, d, o.precision());
        // u and v of each position's pairs, its top columns and rows, the tokens-combined pairs (matrix-free: 2 spectra)
        TokenDecoder.checkMemory(o.matrixFree() ? 4L * components : 4L * n * components + 2L * components, components, o.top());
    }

    /**
     * A result with the arrays behind it: the output embedding y, its reconstruction Σ J_i x_i + c,
     * and every J_i as one (n, d, d) array in the job's precision (row = output feature; null
     * when matrix-free).
     */
    public record Detail<A>(Result result, double[] y, double[] reconstructed, Arith<A> arith, A jacobian, Options options)
            implements AnalysisResult {
        @Override public Object document() { return result; }

        @Override public String title() { return "Linear Lens: " + result.prompt(); }

        @Override public Map<String, Object> sections() { return Figures.sections(this); }

        @Override public void print(PrintWriter out) { Decomposition.print(out, result, options.components(), options.top(), false); }

        @Override public void printFull(PrintWriter out) { Decomposition.print(out, result, options.components(), options.top(), true); }
    }

    /**
     * The job on the prompt's forward pass (its prediction is available before this long step).
     * Refuses first, before any work, a J too large to materialize and a decoding too large for the heap.
     */
    @Override
    public Detail<?> run(PromptContext ctx, Options o, Progress progress, ArraySink arrays) {
        checkPrompt(ctx.model(), ctx.ids(), o);
        ForwardTrace tr = o.nonlinear() ? ctx.traceWithActivations() : ctx.trace();
        Map<String, Double> times = ctx.times();
        Arith<?> ar = o.precision().arith();
        return o.matrixFree() ? finishMatrixFree(ctx, tr, o, ar, times, progress) : finish(ctx, tr, o, ar, times, progress, arrays);
    }

    /**
     * The job without J: y reconstructed by one forward sweep of the input (plus the biases'
     * constant), then the top k of the tokens-combined [J_0 … J_T] and of J_T, decoded as the
     * materialized job decodes them.
     */
    private static <A> Detail<A> finishMatrixFree(PromptContext ctx, ForwardTrace tr, Options o, Arith<A> ar,
                                                  Map<String, Double> times, Progress progress) {
        Transformer m = ctx.model();
        int n = tr.n(), d = m.config().dim(), k = o.topK();
        long t0 = System.nanoTime();
        progress.update("reconstruction", 0, 1);
        DetachedSystem<A> sys = new DetachedSystem<>(m, tr, o.mlpPath(), ar);
        var all = JacobianOperator.finalOutput(sys, JacobianOperator.allPositions(sys));
        double[] yHat = all.apply(tr.x());
        Reconstruction rec = addConstant(yHat, sys, tr, o);
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
        // u and v of the last position's and of the combined spectrum
        TokenDecoder dec = new TokenDecoder(m).reporting(progress, 4);
        SpectrumSummary lastSummary = SpectrumSummary.decode(dec, List.of(Spectrum.topK(last, n - 1, o.components())), 0, o.top()).getFirst();
        SpectrumSummary combSummary = SpectrumSummary.decode(dec, List.of(Spectrum.topK(comb, -1, o.components())), n, o.top()).getFirst();
        List<PositionSvd> svd = List.of(new PositionSvd(n - 1, m.tokenizer().decode(tr.ids()[n - 1]), lastSummary.singularValues(),
                lastSummary.stableRank(), lastSummary.components(), null, null));
        times.put("decode", ms(t0));
        ConceptScores.Reading concept = readConcept(ctx, o, sys, tr, Spectrum.topK(last, n - 1, k), Spectrum.topK(comb, -1, k), times);
        // the reconstruction's J·x sweep, and the Krylov sweeps
        var info = new MatrixFreeSvd.Info(k, MatrixFreeSvd.OVERSAMPLING, MatrixFreeSvd.POWER_ITERATIONS, 1 + comb.sweeps() + last.sweeps());
        Result result = new Result(ctx.modelInfo(), ctx.prompt(), ctx.tokens(), ctx.prediction(), rec, null, svd, combSummary,
                new ReconstructionVectors(tr.y(), yHat, null), info, concept, times);
        return new Detail<>(result, tr.y(), yHat, ar, null, o);
    }

    /**
     * Adds the biases' constant c (its own sweep, not taken from y) to {@code yHat} = Σ J_i x_i,
     * in place, and checks the sum against y.
     */
    private static <A> Reconstruction addConstant(double[] yHat, DetachedSystem<A> sys, ForwardTrace tr, Options o) {
        Arith<A> ar = sys.arith();
        A constant = sys.constant();
        double norm = 0, cNorm = 0;
        for (int i = 0; i < yHat.length; i++) {
            double c = ar.get(constant, i);
            yHat[i] += c;
            cNorm += c * c;
            norm += tr.y()[i] * tr.y()[i];
        }
        return new Reconstruction(Vectors.relativeError(yHat, tr.y()), o.precision().label(),
                o.mlpPath().name().toLowerCase(), Math.sqrt(norm), Math.sqrt(cNorm));
    }

    private static <A> Detail<A> finish(PromptContext ctx, ForwardTrace tr, Options o, Arith<A> ar,
                                        Map<String, Double> times, Progress progress, ArraySink arrays) {
        Transformer m = ctx.model();
        // J_t is d×d: it has at most d singular pairs, columns and rows
        int n = tr.n(), d = m.config().dim(), K = Math.min(o.components(), d);
        long t0 = System.nanoTime();
        DetachedSystem<A> sys = new DetachedSystem<>(m, tr, o.mlpPath(), ar);
        A jac = sys.jacobian(SweepMemory.JACOBIAN_BUDGET, progress);
        times.put("jacobian", ms(t0));

        // y = Σ J_i x_i + c; c (from biases) comes from its own sweep, not from y
        double[] yHat = Vectors.toDoubles(ar, sys.apply(jac, ar.fromDoubles(tr.x())), d);
        Reconstruction rec = addConstant(yHat, sys, tr, o);

        NonlinearReconstruction nonlin = null;
        double[] yOrd = null, ordinary = null;
        if (o.nonlinear()) {
            t0 = System.nanoTime();
            ordinary = new OrdinaryJacobian(m, tr).jacobian(SweepMemory.JACOBIAN_BUDGET);
            yOrd = new double[d];
            for (int t = 0; t < n; t++)
                Arith.F64.gemm(false, true, 1, d, d, tr.x(), t * d, d, ordinary, t * d * d, d, true, yOrd, 0, d);
            nonlin = new NonlinearReconstruction(Vectors.relativeError(yOrd, tr.y()));
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
        // u and v of the positions' and of the combined spectra, the top columns and the top rows
        TokenDecoder dec = new TokenDecoder(m).reporting(progress, 6);
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

        if (arrays.wanted()) {
            t0 = System.nanoTime();
            try {
                export(arrays, ctx, tr, ar, jac, yHat, spectra, combined, ordinary, K);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            times.put("export", ms(t0));
        }
        ConceptScores.Reading concept = readConcept(ctx, o, sys, tr, spectra.get(n - 1), combined, times);
        Result result = new Result(ctx.modelInfo(), ctx.prompt(), ctx.tokens(), ctx.prediction(), rec, nonlin, svd, comb,
                new ReconstructionVectors(tr.y(), yHat, yOrd), null, concept, times);
        return new Detail<>(result, tr.y(), yHat, ar, jac, o);
    }

    /** With {@code --concept}: the concept's exact position split and its shares of the top-k subspaces computed above. */
    private static <A> ConceptScores.Reading readConcept(PromptContext ctx, Options o, DetachedSystem<A> sys, ForwardTrace tr,
                                                         Spectrum last, Spectrum combined, Map<String, Double> times) {
        if (o.concept() == null) return null;
        long t0 = System.nanoTime();
        var r = ConceptScores.reading(ConceptScores.spaceOf(o.concept(), ctx.model()), sys, tr, ctx.model(), last, combined);
        times.put("concept", ms(t0));
        return r;
    }

    private static Line line(JacobianViews.Line l, List<TokenDecoder.Token> toks) {
        return new Line(l.index(), l.norm(), toks.stream().map(TokenDecoder.Token::text).toList(),
                toks.stream().map(TokenDecoder.Token::id).toList());
    }

    /** Writes J, the SVDs and (if computed) the ordinary J, with what the manifest says of them. */
    private static <A> void export(ArraySink ex, PromptContext ctx, ForwardTrace tr, Arith<A> ar, A jac, double[] yHat,
                                   List<Spectrum> spectra, Spectrum combined, double[] ordinary, int K) throws IOException {
        int n = tr.n(), d = ctx.model().config().dim();
        ex.add("jacobian", new int[]{n, d, d}, jac, "detached J_t, [t][output][input]: y = Σ_t J_t x_t");
        ex.add("x", new int[]{n, d}, tr.x(), "input embeddings as the first layer receives them");
        ex.add("y", new int[]{d}, tr.y(), "output embedding: final-normed hidden state at the last position");
        ex.add("reconstructed", new int[]{d}, yHat, "Σ_t J_t x_t + c (c from biases; 0 without): equals y up to rounding");
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
        ex.describe("kind", "decompose");
        ex.describe("model", ctx.modelInfo());
        ex.describe("positions", ctx.tokens());
        ex.describe("precision", ar.name());
    }

    private static double ms(long t0) { return Vectors.ms(t0); }

    private static void printConcept(PrintWriter out, ConceptScores.Reading c) {
        out.printf("%nConcept %s  wᵀy = %+.4f (Σ positions + constant off by %.1e); share of the top-%d subspace: last position %.4f, "
                        + "tokens combined %.4f (chance %.4f)%n", c.concept().name(), c.logit(), c.relativeError(),
                c.lastPosition().uShares().length, c.lastPosition().share(), c.tokensCombined().share(), c.concept().chance());
        out.print("  by position");
        for (var p : c.positions()) out.printf("  %s %+.3f", Text.quote(p.token()), p.value());
        if (c.constant() != 0) out.printf("  constant %+.3f", c.constant());
        out.println();
    }

    /**
     * The console summary, one screen: what was predicted, whether the system reproduces it, and
     * the leading components of the tokens-combined J and of the last position's J, in the job's
     * --components × --top; a legend of the terms. Every other position only when {@code full}.
     */
    static void print(PrintWriter out, Result r, int components, int top, boolean full) {
        var mi = r.model();
        int n = r.tokens().size();
        out.printf("Model        %s · %s · d=%d · %d layers · vocab %d%n", mi.family(), Path.of(mi.source()).getFileName(),
                mi.hiddenSize(), mi.layers(), mi.vocabSize());
        // a long prompt's tokens: its first and last ones, the rest elided (the JSON has them all)
        StringBuilder toks = new StringBuilder();
        for (int i = 0; i < n; i++) {
            if (n > 24 && i == 12) {
                toks.append(" | … ").append(n - 18).append(" more …");
                i = n - 7;
                continue;
            }
            toks.append(toks.isEmpty() ? "" : " | ").append(Text.quote(r.tokens().get(i).text()));
        }
        out.printf("Prompt       %s%n", Text.quote(Text.elide(r.prompt(), 160)));
        out.printf("Tokens       %d: %s%n", n, toks);
        var p = r.prediction();
        out.printf("Prediction   %s p=%.3f   then", Text.quote(p.text()), p.probability());
        for (int i = 1; i < p.top().size(); i++) out.printf("%s %s %.3f", i == 1 ? "" : ",", Text.quote(p.top().get(i).text()), p.top().get(i).probability());
        out.println();
        var rc = r.reconstruction();
        double bound = Precision.valueOf(rc.precision().toUpperCase()).reconstructionBound();
        out.printf("Exactness    |Σ J_i x_i%s − y| / |y| = %.1e   %s%n", rc.constantNorm() > 0 ? " + c" : "", rc.relativeError(),
                rc.relativeError() <= bound ? String.format("exact up to %s rounding (bound %.0e)", rc.precision(), bound)
                        : String.format("NOT exact: above the %s rounding bound %.0e", rc.precision(), bound));
        if (rc.constantNorm() > 0) out.printf("             c: the biases' constant, |c| / |y| = %.3g%n", rc.constantNorm() / rc.outputNorm());
        if (r.nonlinearReconstruction() != null)
            out.printf("             ordinary J (nothing frozen): %.1e, far from exact%n", r.nonlinearReconstruction().relativeError());

        var comb = r.svdCombined();
        out.printf("%nAll tokens [J_0 … J_%d]  %s%n", n - 1, r.matrixFree() != null
                ? String.format("matrix-free top-%d (%d sweeps, J never formed)", r.matrixFree().k(), r.matrixFree().sweeps())
                : String.format("stable rank %.2f", comb.stableRank()));
        out.printf("  %-3s %-9s %s%n", "#", "σ", "u → tokens it promotes");
        for (int k = 0; k < Math.min(components, comb.components().size()); k++) {
            var c = comb.components().get(k);
            out.printf("  %-3d %-9.4g %s%n", k + 1, c.sigma(), Text.join(c.uTokens(), top));
        }
        var shown = full ? r.svd() : List.of(r.svd().getLast());
        for (var s : shown) {
            out.printf("%n%s %d %s  J_%d  %s%n", s.position() == n - 1 ? "Last position" : "Position", s.position(), Text.quote(s.token()),
                    s.position(), s.stableRank() == null ? "top-" + s.singularValues().length : String.format("stable rank %.2f", s.stableRank()));
            out.printf("  %-3s %-9s %s%n", "#", "σ", "u → tokens it promotes / v → input tokens it reads");
            for (int k = 0; k < Math.min(components, s.components().size()); k++) {
                var c = s.components().get(k);
                out.printf("  %-3d %-9.4g u %s%n  %-13s v %s%n", k + 1, c.sigma(), Text.join(c.uTokens(), top), "", Text.join(c.vTokens(), top));
            }
        }
        if (r.concept() != null) printConcept(out, r.concept());
        out.println();
        out.println("J_i: how input token i's embedding moves the output, every nonlinearity frozen at this prompt, so");
        out.println("  y = Σ J_i x_i exactly. Each J = Σ σ u vᵀ: σ strength, u output direction (read by the unembedding),");
        out.println("  v input direction (nearest token embeddings); stable rank Σσ²/σ₁²: how many directions matter.");
        if (r.svd().size() > 1 && !full)
            out.printf("  Positions 0..%d: --full; everything: --json FILE or --report FILE.html; docs/METHOD.md.%n", n - 2);
        else if (r.matrixFree() != null)
            out.println("  Matrix-free: the last position and all tokens only; everything computed: --json FILE; docs/METHOD.md.");
        out.print("Timings (ms)");
        r.timingsMs().forEach((k, v) -> out.printf(" %s %.0f", k, v));
        out.println();
    }
}
