package linlens.analysis;

import com.fasterxml.jackson.databind.ObjectMapper;
import linlens.blas.Arith;
import linlens.format.Npy;
import linlens.linear.DetachedSystem;
import linlens.linear.Precision;
import linlens.linear.Site;
import linlens.model.ForwardPass;
import linlens.model.ForwardTrace;
import linlens.model.MlpPath;
import linlens.model.Progress;
import linlens.model.Transformer;
import linlens.testing.RealModel;
import linlens.testing.TestModels;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The layer analysis's per-site affine maps on a model with biases, Qwen2.5-Coder 0.5B: at each
 * site (attn, mlp, layer of layers 0, 11, 23) the frozen-normed output is J·input + c, with c
 * from {@link DetachedSystem#siteConstant} (the frozen system on a zero input with its biases
 * on). Checked against torch (reference/make_qwen_fixtures.py jacobians, case fib): the site
 * output, J·V of the cumulative Jacobian for two random tangents, and both constants (torch's
 * c = output − J·input by forward-mode jvp, cumulative w.r.t. the embeddings and layer-wise w.r.t.
 * the stream entering the layer); then each site's reconstruction in fp64 and fp32, and the
 * analysis's own reported errors.
 */
@RealModel
class QwenLayerSitesTest {
    static final double FP64_TOL = 1e-11, FP32_TOL = 1e-5;

    @Test
    void siteMapsAndConstantsMatchTorch() throws Exception {
        Path dir = Path.of(getClass().getResource("/reference/qwen2.5-coder-0.5b/jacobian/fib/meta.json").toURI()).getParent();
        var meta = new ObjectMapper().readTree(dir.resolve("meta.json").toFile());
        assertEquals(TestModels.QWEN_SHA256, meta.get("model_sha256").asText());
        Transformer m = TestModels.qwen();
        int[] ids = m.tokenizer().encode(meta.get("prompt").asText());
        ForwardTrace tr = new ForwardPass(m).run(ids);
        int d = m.config().dim(), n = tr.n();
        Npy.Array tangents = Npy.read(dir.resolve("V.npy"));
        int k = tangents.shape()[1];
        // the k tangents and x as one block (n, k+1, d): one forward sweep gives every site's J·V and J·x
        double[] vx = new double[n * (k + 1) * d];
        for (int t = 0; t < n; t++) {
            System.arraycopy(tangents.values(), t * k * d, vx, t * (k + 1) * d, k * d);
            System.arraycopy(tr.x(), t * d, vx, (t * (k + 1) + k) * d, d);
        }
        Map<String, double[]> scales = new HashMap<>(), outputs = new HashMap<>();
        List<String> tags = new ArrayList<>();
        int lastLayer = 0;
        for (var layerNode : meta.get("sites").get("layers"))
            for (var siteNode : meta.get("sites").get("sites")) {
                int l = layerNode.asInt();
                Site site = Site.parse(siteNode.asText());
                String tag = "L" + l + "_" + site.key;
                tags.add(tag);
                lastLayer = Math.max(lastLayer, l);
                double[] siteVec = LayerAnalysis.siteVector(tr, l, site, d), scale = LayerAnalysis.finalNormScale(m, siteVec);
                double[] y = new double[d], yRef = Npy.read(dir.resolve(tag + "_y.npy")).values();
                for (int j = 0; j < d; j++) y[j] = siteVec[j] * scale[j];
                assertTrue(maxDiff(y, yRef) <= 1e-9 * maxAbs(yRef), tag + " output differs from torch by " + maxDiff(y, yRef));
                scales.put(tag, scale);
                outputs.put(tag, y);
            }
        int checked = 0;
        for (Arith<?> ar : new Arith<?>[]{Arith.F64, Arith.F32})
            checked += checkSites(new DetachedSystem<>(m, tr, MlpPath.UP, ar), tr, dir, vx, k, lastLayer, tags, scales, outputs);
        assertEquals(3 * 3 * 2, checked);
    }

    /** Every site of {@code tags} in one precision; returns how many were checked. */
    private static <A> int checkSites(DetachedSystem<A> sys, ForwardTrace tr, Path dir, double[] vx, int k, int lastLayer,
                                      List<String> tags, Map<String, double[]> scales, Map<String, double[]> outputs) throws Exception {
        Arith<A> ar = sys.arith();
        int d = sys.dim();
        double tol = ar == Arith.F64 ? FP64_TOL : FP32_TOL, bound = ar == Arith.F64 ? 1e-12 : 1e-5;
        Map<String, double[]> swept = new HashMap<>();  // tag -> (k+1, d) J·V and J·x, unscaled
        sys.jvpSites(ar.fromDoubles(vx), k + 1, lastLayer, (l, site, atLast) -> {
            String tag = "L" + l + "_" + site.key;
            if (scales.containsKey(tag)) swept.put(tag, LayerAnalysis.toDoubles(ar, atLast, (k + 1) * d));
        });
        int checked = 0;
        for (String tag : tags) {
            int l = Integer.parseInt(tag.substring(1, tag.indexOf('_')));
            Site site = Site.parse(tag.substring(tag.indexOf('_') + 1));
            double[] scale = scales.get(tag), y = outputs.get(tag), jvx = scaled(swept.get(tag), scale);
            double[] jvRef = Npy.read(dir.resolve(tag + "_JV.npy")).values();
            double[] cCumRef = Npy.read(dir.resolve(tag + "_c_cumulative.npy")).values();
            double[] cLwRef = Npy.read(dir.resolve(tag + "_c_layerwise.npy")).values();
            A outScale = ar.fromDoubles(scale);
            double[] cCum = LayerAnalysis.toDoubles(ar, sys.siteConstant(0, l, site, outScale), d);
            double[] cLw = LayerAnalysis.toDoubles(ar, sys.siteConstant(l, l, site, outScale), d);
            double[] cum = java.util.Arrays.copyOfRange(jvx, k * d, (k + 1) * d);
            double[] lw = scaled(LayerAnalysis.toDoubles(ar, sys.jvpSite(l, l, site, ar.fromDoubles(tr.resid()[l]), 1), d), scale);
            for (int j = 0; j < d; j++) { cum[j] += cCum[j]; lw[j] += cLw[j]; }
            double yMax = maxAbs(y);
            double eJv = maxDiff(java.util.Arrays.copyOf(jvx, k * d), jvRef) / maxAbs(jvRef);
            double eCum = maxDiff(cCum, cCumRef) / yMax, eLw = maxDiff(cLw, cLwRef) / yMax;
            double rCum = Vectors.relativeError(cum, y), rLw = Vectors.relativeError(lw, y);
            System.out.printf("qwen %s %s: J·V %.2e  c cumulative %.2e (|c|/|y| %.3f)  c layer-wise %.2e (|c|/|y| %.3f)  "
                    + "reconstruction cumulative %.2e layer-wise %.2e%n", tag, ar.name(), eJv, eCum, norm(cCumRef) / norm(y),
                    eLw, norm(cLwRef) / norm(y), rCum, rLw);
            assertTrue(eJv <= tol, tag + " " + ar.name() + " J·V differs from torch by " + eJv);
            assertTrue(eCum <= tol, tag + " " + ar.name() + " cumulative constant differs from torch by " + eCum);
            assertTrue(eLw <= tol, tag + " " + ar.name() + " layer-wise constant differs from torch by " + eLw);
            assertTrue(rCum <= bound && rLw <= bound, tag + " " + ar.name() + " reconstruction " + rCum + ", " + rLw);
            checked++;
        }
        return checked;
    }

    /** The analysis itself (matrix-free, on layer 0, where sweeps are short: a materialized J of this model is 896 sweeps a site) reports each site's reconstruction with its constant. */
    @Test
    void theAnalysisReportsExactReconstructionAtEverySite() {
        Transformer m = TestModels.qwen();
        String prompt = "def fib(n):";
        ForwardTrace tr = new ForwardPass(m).run(m.tokenizer().encode(prompt));
        // fp64 only: its bound is the sharp one, and each matrix-free run costs CI time (fp32 is checked above)
        var o = new LayerAnalysis.Options(new int[]{0}, List.of(Site.values()), Precision.FP64, MlpPath.UP, 1, 3).matrixFree(2);
        var r = new LayerAnalysis().run(PromptContext.of(m, prompt, tr), o, Progress.NONE, ArraySink.NONE);
        assertEquals(3, r.sites().size());
        for (var s : r.sites()) {
            System.out.printf("qwen layers fp64 L%d %s: cumulative %.2e layer-wise %.2e%n", s.layer(), s.key(),
                    s.cumulative().relativeError(), s.layerwise().relativeError());
            assertTrue(s.cumulative().relativeError() <= 1e-12, s.layer() + s.key() + " cumulative " + s.cumulative().relativeError());
            assertTrue(s.layerwise().relativeError() <= 1e-12, s.layer() + s.key() + " layer-wise " + s.layerwise().relativeError());
        }
    }

    private static double[] scaled(double[] rows, double[] scale) {
        for (int i = 0; i < rows.length; i++) rows[i] *= scale[i % scale.length];
        return rows;
    }

    private static double maxDiff(double[] a, double[] b) {
        assertEquals(b.length, a.length);
        double m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
        return m;
    }

    private static double maxAbs(double[] a) {
        double m = 0;
        for (double v : a) m = Math.max(m, Math.abs(v));
        return m;
    }

    private static double norm(double[] v) {
        double s = 0;
        for (double e : v) s += e * e;
        return Math.sqrt(s);
    }
}
