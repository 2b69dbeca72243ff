package linlens.analysis;

import linlens.linear.Precision;
import linlens.linear.Site;
import linlens.model.ForwardPass;
import linlens.model.ForwardTrace;
import linlens.model.MlpPath;
import linlens.model.ModelLoader;
import linlens.model.Progress;
import linlens.model.Transformer;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * With q/k/v biases (tiny Qwen 2 from reference/make_tiny_models.py) every map is affine: the
 * layer analysis must reconstruct each site with its constant, and attribution must include the
 * constant to sum to the logit; by component, every branch's constant too.
 */
class AffineAnalysesTest {
    static final Path QWEN2 = Path.of("src/test/resources/reference/tiny/qwen2/hf");

    @Test
    void layerSitesAndAttributionAreExactWithBiases() throws Exception {
        Transformer m = ModelLoader.load(QWEN2);
        int[] ids = linlens.model.FamilyReferenceTest.meta(QWEN2.getParent(), 0);
        ForwardTrace tr = new ForwardPass(m).run(ids);
        int L = m.config().layers();
        var r = new LayerAnalysis().run(PromptContext.of(m, "", tr), new LayerAnalysis.Options(new int[]{0, L - 1}, List.of(Site.values()),
                Precision.FP64, MlpPath.UP, 2, 2), Progress.NONE, ArraySink.NONE);
        for (var s : r.sites()) {
            assertTrue(s.cumulative().relativeError() <= 1e-12, s.layer() + s.key() + " cumulative " + s.cumulative().relativeError());
            assertTrue(s.layerwise().relativeError() <= 1e-12, s.layer() + s.key() + " layer-wise " + s.layerwise().relativeError());
        }
        int top = Vectors.topIndices(tr.logits(), 1)[0];
        var a = new Attribution().run(PromptContext.of(m, "", tr), new Attribution.Options(top, null, true, Precision.FP64, MlpPath.UP),
                Progress.NONE, ArraySink.NONE).attribution();
        assertNotEquals(0.0, a.constant(), "the biased model has a constant term");
        assertTrue(a.relativeError() <= 1e-12, "Σ contributions + constant vs logit: " + a.relativeError());
        double total = a.embeddingDirect();
        for (var c : a.components()) total += c.total();
        assertEquals(a.logit(), total, 1e-12 * Math.abs(a.logit()) + 1e-12, "components with their constants");
    }
}
