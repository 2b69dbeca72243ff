package linlens.analysis;

import linlens.blas.Arith;
import linlens.concepts.Concept;
import linlens.format.Npy;
import linlens.linear.Precision;
import linlens.model.ForwardPass;
import linlens.model.ForwardTrace;
import linlens.model.MlpPath;
import linlens.model.ModelLoader;
import linlens.model.Progress;
import linlens.model.Transformer;
import linlens.testing.TinyModels;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The concept scores on every tiny family against the autograd references that
 * reference/make_tiny_models.py wrote (J_i and the constant c of the detached system, y, the
 * logits): the concept logit's split over positions is w_Cᵀ J_i x_i with the reference J, it sums
 * to the concept logit to 1e-5 relative in fp32 (1e-12 in fp64), the split over layers sums to it
 * too, and the spectral share of the matrix-free top-k equals the share computed from LAPACK's SVD
 * of the reference J.
 */
class ConceptScoresTest {
    static Stream<TinyModels.Tiny> families() { return TinyModels.withGguf().stream(); }

    @ParameterizedTest(name = "{0}")
    @MethodSource("families")
    void conceptLogitSplitsExactlyAndMatchesAutograd(TinyModels.Tiny tiny) throws Exception {
        Path dir = TinyModels.DIR.resolve(tiny.name());
        Transformer m = ModelLoader.load(tiny.hf());  // fp64-exact weights: the references were computed on them
        int d = m.config().dim();
        for (int p = 0; Files.exists(dir.resolve("x_p" + p + ".npy")); p++) {
            int[] ids = promptIds(dir, p);
            ForwardTrace tr = new ForwardPass(m).run(ids);
            int n = ids.length;
            // a concept of three words and, on odd prompts, two versus words: each a single token of this tiny vocabulary
            List<String> single = TinyModels.singleTokenWords(m, 5);
            Concept c = new Concept("test-concept", null, null, null, single.subList(0, 3), p % 2 == 1 ? single.subList(3, 5) : List.of(),
                    List.of(), List.of(), 2);
            ConceptSpace space = ConceptSpace.of(c, m);
            double[] w = space.readout();
            double[] jRef = Npy.read(dir.resolve("J_p" + p + "_up.npy")).values();   // (n, d, d), row = output feature
            double[] cRef = Npy.read(dir.resolve("c_p" + p + "_up.npy")).values();
            double[] yRef = Npy.read(dir.resolve("y_p" + p + ".npy")).values();
            double[] xRef = Npy.read(dir.resolve("x_p" + p + ".npy")).values();
            double logitRef = dot(w, yRef);
            for (Precision prec : Precision.values()) {
                // k = d: the whole spectrum, whose share (‖Q J‖_F² / ‖J‖_F²) does not depend on how near-equal σ's
                // pick their u's; the tiny random models' spectra are flat, so a top-3's u_3 is not well defined
                var o = new ConceptScores.Options(c.name(), d, false, false, 0.5, prec, MlpPath.UP);
                var r = new ConceptScores().run(PromptContext.of(m, "tiny", tr), space, o, Progress.NONE);
                String what = tiny.name() + " p" + p + " " + prec;
                double bound = prec.reconstructionBound();
                assertEquals(logitRef, r.logit(), 1e-9 * Math.max(1, Math.abs(logitRef)), what + ": w·y");
                assertTrue(r.attribution().relativeError() <= bound, what + ": Σ positions + constant vs logit " + r.attribution().relativeError());
                assertTrue(r.attribution().componentsRelativeError() <= 1e-12, what + ": Σ components vs logit " + r.attribution().componentsRelativeError());
                assertTrue(r.readoutError() <= 1e-9, what + ": readout vs the logits " + r.readoutError());
                // each position against autograd's J: w·J_i x_i
                double scale = Math.abs(logitRef) + 1;
                for (int t = 0; t < n; t++) {
                    double ref = 0;
                    for (int i = 0; i < d; i++) {
                        double jx = 0;
                        for (int j = 0; j < d; j++) jx += jRef[(t * d + i) * d + j] * xRef[t * d + j];
                        ref += w[i] * jx;
                    }
                    assertEquals(ref, r.attribution().positions().get(t).value(), (prec == Precision.FP32 ? 1e-5 : 1e-10) * scale,
                            what + " position " + t);
                }
                assertEquals(dot(w, cRef), r.attribution().constant(), (prec == Precision.FP32 ? 1e-5 : 1e-10) * scale, what + " constant");
                // the logit lens's last layer is the model's own readout
                assertEquals(r.logit(), r.baselines().logitLens()[m.config().layers() - 1], 1e-9 * scale, what + " logit lens");
                // spectral shares against LAPACK on the reference J
                double lastRef = space.spectralShare(topSigma(jRef, n, d, true, d), topU(jRef, n, d, true, d));
                double combRef = space.spectralShare(topSigma(jRef, n, d, false, d), topU(jRef, n, d, false, d));
                assertEquals(lastRef, r.spectral().lastPosition().share(), 1e-6, what + " share, last position");
                assertEquals(combRef, r.spectral().tokensCombined().share(), 1e-6, what + " share, tokens combined");
                double[] sigmaRef = topSigma(jRef, n, d, false, 3);
                for (int i = 0; i < 3; i++)
                    assertEquals(sigmaRef[i], r.spectral().tokensCombined().sigma()[i], 1e-5 * sigmaRef[0], what + " σ" + (i + 1));
                assertEquals(2.0 / d, r.spectral().chance(), 1e-15);
            }
            // emergence: the last layer's output is the final output, so its share is the final share
            var e = new ConceptScores().run(PromptContext.of(m, "tiny", tr), space,
                    new ConceptScores.Options(c.name(), d, false, true, 0.5, Precision.FP64, MlpPath.UP), Progress.NONE).spectral();
            int L = m.config().layers();
            assertEquals(e.lastPosition().share(), e.layerShares()[L - 1], 1e-9, tiny.name() + " p" + p + " last layer's share");
            assertEquals(ConceptScores.firstReaching(e.layerShares(), 0.5), e.emergenceLayer());
        }
    }

    /**
     * {@code decompose --concept} and {@code layers --concept} against the same autograd references:
     * the position split is w_Cᵀ J_i x_i, and with every singular pair kept the shares equal those
     * of LAPACK's SVD of the reference J; the last layer's site is the final output.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("families")
    void decomposeAndLayersReadTheConceptAgainstAutograd(TinyModels.Tiny tiny) throws Exception {
        Path dir = TinyModels.DIR.resolve(tiny.name());
        Transformer m = ModelLoader.load(tiny.hf());
        int d = m.config().dim(), L = m.config().layers();
        int[] ids = promptIds(dir, 0);
        int n = ids.length;
        ForwardTrace tr = new ForwardPass(m).run(ids);
        List<String> single = TinyModels.singleTokenWords(m, 5);
        // a named concept, as the option names it: saved where the tests keep theirs (LINLENS_CONCEPTS, set by the build)
        String name = "tiny-" + tiny.name().replaceAll("[^a-z0-9-]", "-");
        Concept c = new Concept(name, null, null, null, single.subList(0, 3), single.subList(3, 5), List.of(), List.of(), 2);
        linlens.concepts.ConceptLibrary.standard().save(c, true);
        ConceptSpace space = ConceptSpace.of(c, m);
        double[] w = space.readout();
        double[] jRef = Npy.read(dir.resolve("J_p0_up.npy")).values(), xRef = Npy.read(dir.resolve("x_p0.npy")).values();
        double[] yRef = Npy.read(dir.resolve("y_p0.npy")).values(), cRef = Npy.read(dir.resolve("c_p0_up.npy")).values();
        double lastRef = space.spectralShare(topSigma(jRef, n, d, true, d), topU(jRef, n, d, true, d));
        double combRef = space.spectralShare(topSigma(jRef, n, d, false, d), topU(jRef, n, d, false, d));
        double scale = Math.abs(dot(w, yRef)) + 1;
        for (Precision prec : Precision.values()) {
            String what = tiny.name() + " " + prec;
            double tol = (prec == Precision.FP32 ? 1e-5 : 1e-10) * scale;
            var o = new Decomposition.Options(prec, MlpPath.UP, d, 1, false, false, null, name);
            new Decomposition().check(o);
            var r = ((Decomposition.Detail<?>) new Decomposition().run(PromptContext.of(m, "tiny", tr), o, Progress.NONE, ArraySink.NONE))
                    .result().concept();
            assertEquals(dot(w, yRef), r.logit(), 1e-9 * scale, what + ": w·y");
            assertTrue(r.relativeError() <= prec.reconstructionBound(), what + ": Σ positions + constant vs logit " + r.relativeError());
            for (int t = 0; t < n; t++)
                assertEquals(wJx(w, jRef, xRef, t, d), r.positions().get(t).value(), tol, what + " position " + t);
            assertEquals(dot(w, cRef), r.constant(), tol, what + " constant");
            assertEquals(lastRef, r.lastPosition().share(), 1e-6, what + " share, last position");
            assertEquals(combRef, r.tokensCombined().share(), 1e-6, what + " share, tokens combined");
            // matrix-free with k = d: the same shares from the sweeps
            var mf = ((Decomposition.Detail<?>) new Decomposition().run(PromptContext.of(m, "tiny", tr),
                    new Decomposition.Options(prec, MlpPath.UP, 1, 1, false, true, d, name), Progress.NONE, ArraySink.NONE)).result().concept();
            assertEquals(combRef, mf.tokensCombined().share(), 1e-6, what + " matrix-free share, tokens combined");
            assertEquals(r.positions().getLast().value(), mf.positions().getLast().value(), tol, what + " matrix-free last position");

            var lo = new LayerAnalysis.Options(new int[]{0, L - 1}, List.of(linlens.linear.Site.LAYER), prec, MlpPath.UP, d, 1).withConcept(name);
            new LayerAnalysis().check(lo);
            var lr = new LayerAnalysis().run(PromptContext.of(m, "tiny", tr), lo, Progress.NONE, ArraySink.NONE);
            assertEquals(name, lr.concept().name());
            var fin = lr.sites().getLast().concept();
            assertEquals(dot(w, yRef), fin.logit(), 1e-9 * scale, what + ": the last layer's site is y");
            assertEquals(combRef, fin.cumulativeCombined(), 1e-6, what + " last layer's share, tokens combined");
            assertEquals(lastRef, fin.cumulativeLast(), 1e-6, what + " last layer's share, last position");
            // the first layer's site: its concept logit is w · (its frozen-normed vector)
            double[] v = LayerAnalysis.siteVector(tr, 0, linlens.linear.Site.LAYER, d), s = LayerAnalysis.finalNormScale(m, v);
            for (int j = 0; j < d; j++) v[j] *= s[j];
            assertEquals(dot(w, v), lr.sites().getFirst().concept().logit(), 1e-9 * scale, what + " layer 0's concept logit");
        }
    }

    private static double wJx(double[] w, double[] jRef, double[] xRef, int t, int d) {
        double ref = 0;
        for (int i = 0; i < d; i++) {
            double jx = 0;
            for (int j = 0; j < d; j++) jx += jRef[(t * d + i) * d + j] * xRef[t * d + j];
            ref += w[i] * jx;
        }
        return ref;
    }

    static int[] promptIds(Path dir, int p) throws Exception {
        var ids = new com.fasterxml.jackson.databind.ObjectMapper().readTree(dir.resolve("meta.json").toFile()).path("prompts").get(p).path("ids");
        int[] a = new int[ids.size()];
        for (int i = 0; i < a.length; i++) a[i] = ids.get(i).asInt();
        return a;
    }

    private static Spectrum svd(double[] jRef, int n, int d, boolean last, int k) {
        if (last) return Svd.of(Arith.F64, jRef, (n - 1) * d * d, d, d, k, null, n - 1);
        double[] wide = new double[d * n * d];  // [J_0 … J_{n−1}], (d, n·d)
        for (int t = 0; t < n; t++)
            for (int i = 0; i < d; i++) System.arraycopy(jRef, (t * d + i) * d, wide, i * n * d + t * d, d);
        return Svd.of(Arith.F64, wide, 0, d, n * d, k, null, -1);
    }

    private static double[] topSigma(double[] jRef, int n, int d, boolean last, int k) {
        return java.util.Arrays.copyOf(svd(jRef, n, d, last, k).singularValues(), k);
    }

    private static double[][] topU(double[] jRef, int n, int d, boolean last, int k) { return svd(jRef, n, d, last, k).u(); }

    private static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += a[i] * b[i];
        return s;
    }
}
