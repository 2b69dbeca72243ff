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
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Layer Jacobians against PyTorch autograd (reference/make_layer_jacobians.py): rows of the
 * cumulative and layer-wise Jacobians of layer / attn / mlp outputs, fp64 to 1e-12 and fp32 to
 * 1e-5 of the largest entry; and the analysis's own reconstruction checks.
 */
@RealModel
class LayerAnalysisTest {
    @Test
    void siteJacobiansMatchAutograd() throws Exception {
        Path dir = Path.of(getClass().getResource("/reference/gemma-3-270m/layer_jacobian/golden/meta.json").toURI()).getParent();
        var meta = new ObjectMapper().readTree(dir.resolve("meta.json").toFile());
        assertEquals(TestModels.SHA256, meta.get("model_sha256").asText());
        Transformer m = TestModels.gemma();
        int[] ids = m.tokenizer().encode(meta.get("prompt").asText());
        ForwardTrace tr = new ForwardPass(m).run(ids);
        long[] rows = Npy.read(dir.resolve("rows.npy")).ints();
        int n = ids.length, d = m.config().dim(), checked = 0;
        for (var layerNode : meta.get("layers"))
            for (var siteNode : meta.get("sites")) {
                int l = layerNode.asInt();
                Site site = Site.parse(siteNode.asText());
                String tag = "L" + l + "_" + site.key;
                double[] yRef = Npy.read(dir.resolve(tag + "_y.npy")).values();
                double[] siteVec = LayerAnalysis.siteVector(tr, l, site, d);
                double[] scale = LayerAnalysis.finalNormScale(m, siteVec);
                for (int j = 0; j < d; j++) assertEquals(yRef[j], siteVec[j] * scale[j], 1e-9, tag + " output");
                for (Arith<?> ar : new Arith<?>[]{Arith.F64, Arith.F32}) {
                    double[][] ours = rows(m, tr, l, site, scale, rows, ar);
                    double tol = ar == Arith.F64 ? 1e-12 : 1e-5;
                    for (int kind = 0; kind < 2; kind++) {
                        Npy.Array ref = Npy.read(dir.resolve(tag + (kind == 0 ? "_cumulative" : "_layerwise") + "_rows.npy"));
                        assertArrayEquals(new int[]{n, rows.length, d}, ref.shape());
                        double max = 0, diff = 0;
                        for (int i = 0; i < ref.values().length; i++) {
                            max = Math.max(max, Math.abs(ref.values()[i]));
                            diff = Math.max(diff, Math.abs(ref.values()[i] - ours[kind][i]));
                        }
                        assertTrue(diff / max <= tol, tag + " " + (kind == 0 ? "cumulative" : "layerwise") + " " + ar.name()
                                + " differs from autograd by " + diff / max);
                        checked++;
                    }
                }
            }
        assertEquals(3 * 3 * 2 * 2, checked);
    }

    /** {cumulative rows, layer-wise rows}, each (n, r, d), from one reverse sweep with unit cotangents. */
    static <A> double[][] rows(Transformer m, ForwardTrace tr, int layer, Site site, double[] scale, long[] rows, Arith<A> ar) {
        var sys = new DetachedSystem<>(m, tr, MlpPath.UP, ar);
        int d = sys.dim(), k = rows.length, n = tr.n();
        A u = ar.alloc(k * d);
        for (int c = 0; c < k; c++) ar.set(u, c * d + (int) rows[c], scale[(int) rows[c]]);
        double[][] lw = new double[1][];
        A cum = sys.vjpFromSite(layer, site, u, k, 0, (l, g) -> {
            if (l == layer) lw[0] = LayerAnalysis.toDoubles(ar, g, n * k * d);
        });
        return new double[][]{LayerAnalysis.toDoubles(ar, cum, n * k * d), lw[0]};
    }

    @Test
    void everySiteReconstructsExactlyAndTheFinalLayerIsTheWholeModel() {
        Transformer m = TestModels.gemma();
        String prompt = "The Golden";
        ForwardTrace tr = new ForwardPass(m).run(m.tokenizer().encode(prompt));
        var r = new LayerAnalysis().run(PromptContext.of(m, prompt, tr), new LayerAnalysis.Options(new int[]{3, 17},
                List.of(Site.values()), Precision.FP64, MlpPath.UP, 2, 3), Progress.NONE, ArraySink.NONE);
        assertEquals(6, r.sites().size());
        for (var s : r.sites()) {
            assertTrue(s.cumulative().relativeError() <= 1e-12, s.layer() + s.key() + " cumulative " + s.cumulative().relativeError());
            assertTrue(s.layerwise().relativeError() <= 1e-12, s.layer() + s.key() + " layer-wise " + s.layerwise().relativeError());
            assertEquals(640, s.cumulative().lastPosition().singularValues().length);
            assertTrue(s.cumulative().tokensCombined().stableRank() >= 1.0);
        }
        var last = r.sites().stream().filter(s -> s.layer() == 17 && s.key().equals("layer")).findFirst().orElseThrow();
        for (double p : last.projectionOnFinal()) assertEquals(1.0, p, 1e-9, "the final layer projects fully on itself");
        // the final layer's cumulative last-position spectrum is the decompose spectrum of J_T
        assertEquals(r.stableRank().get("layer")[1], last.cumulative().tokensCombined().stableRank(), 0);
        assertArrayEquals(new int[]{1, 4, 6, 8, 10, 13, 15, 17}, LayerAnalysis.defaultLayers(18));
    }

    /**
     * The matrix-free analysis against the materialized one on the same prompt: same reconstruction
     * (to fp32 rounding, from one J·x sweep instead of from J), top-k singular values within 1e-3,
     * the same decoded leading u where σ₁ stands apart, the same path projections; no stable rank.
     */
    @Test
    void matrixFreeAgreesWithTheMaterializedAnalysis() {
        Transformer m = TestModels.gemma();
        String prompt = "The Golden";
        ForwardTrace tr = new ForwardPass(m).run(m.tokenizer().encode(prompt));
        var o = new LayerAnalysis.Options(new int[]{5, 17}, List.of(Site.values()), Precision.FP32, MlpPath.UP, 2, 3);
        var full = new LayerAnalysis().run(PromptContext.of(m, prompt, tr), o, Progress.NONE, ArraySink.NONE);
        var mf = new LayerAnalysis().run(PromptContext.of(m, prompt, tr), o.matrixFree(8), Progress.NONE, ArraySink.NONE);
        assertNull(full.matrixFree());
        assertEquals(8, mf.matrixFree().k());
        assertTrue(mf.matrixFree().sweeps() > 0);
        assertNull(mf.stableRank());
        assertEquals(full.sites().size(), mf.sites().size());
        for (int i = 0; i < full.sites().size(); i++) {
            var a = full.sites().get(i);
            var b = mf.sites().get(i);
            String tag = "layer " + a.layer() + " " + a.key();
            assertEquals(a.layer(), b.layer());
            assertEquals(a.key(), b.key());
            assertTrue(b.cumulative().relativeError() <= 1e-5 && b.layerwise().relativeError() <= 1e-5, tag + " reconstruction");
            assertArrayEquals(a.projectionOnFinal(), b.projectionOnFinal(), 1e-3, tag + " projection on the final layer");
            for (var pair : List.of(List.of(a.cumulative().lastPosition(), b.cumulative().lastPosition()),
                    List.of(a.cumulative().tokensCombined(), b.cumulative().tokensCombined()),
                    List.of(a.layerwise().lastPosition(), b.layerwise().lastPosition()),
                    List.of(a.layerwise().tokensCombined(), b.layerwise().tokensCombined()))) {
                SpectrumSummary exact = pair.get(0), top = pair.get(1);
                assertNull(top.stableRank());
                assertNotNull(exact.stableRank());
                assertEquals(8, top.singularValues().length);
                assertEquals(2, top.components().size());
                for (int k = 0; k < 8; k++)
                    assertEquals(exact.singularValues()[k], top.singularValues()[k], 1e-3 * exact.singularValues()[k], tag + " σ" + (k + 1));
                if (exact.singularValues()[0] > 1.05 * exact.singularValues()[1])
                    assertEquals(exact.components().get(0).uTokenIds(), top.components().get(0).uTokenIds(), tag + " u1 tokens");
            }
        }
    }
}
