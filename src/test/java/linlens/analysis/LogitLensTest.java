package linlens.analysis;

import com.fasterxml.jackson.databind.ObjectMapper;
import linlens.format.Npy;
import linlens.model.Progress;
import linlens.model.Transformer;
import linlens.testing.RealModel;
import linlens.testing.TestModels;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The logit lens against PyTorch (reference/make_layer_jacobians.py writes, per layer, the
 * final-normed residual stream after it at the last position, 1/rms detached): the lens's normed
 * vectors match it, its logits are W_U times them (dot products taken here row by row, not by
 * the tiled GEMM), and at the last layer the lens is the model's own output.
 */
@RealModel
class LogitLensTest {
    /** An array sink that keeps what it is given. */
    static final class Kept implements ArraySink {
        final Map<String, Object> arrays = new HashMap<>();
        final Map<String, int[]> shapes = new HashMap<>();

        @Override public void add(String name, int[] shape, Object data, String description) {
            arrays.put(name, data);
            shapes.put(name, shape);
        }

        @Override public void describe(String key, Object value) {}
    }

    @Test
    void readoutsMatchAutogradsNormedStreamsAndTheModel() throws Exception {
        Path dir = Path.of(getClass().getResource("/reference/gemma-3-270m/layer_jacobian/golden/meta.json").toURI()).getParent();
        var meta = new ObjectMapper().readTree(dir.resolve("meta.json").toFile());
        assertEquals(TestModels.SHA256, meta.get("model_sha256").asText());
        Transformer m = TestModels.gemma();
        int d = m.config().dim(), V = m.config().vocab(), L = m.config().layers();
        PromptContext ctx = PromptContext.of(m, meta.get("prompt").asText(), -1);
        Kept kept = new Kept();
        var result = new LogitLens().run(ctx, new LogitLens.Options(3, null), Progress.NONE, kept);

        assertEquals(L, result.layers().size());
        double[] normed = (double[]) kept.arrays.get("normed");
        float[] logits = (float[]) kept.arrays.get("logits");
        assertEquals(L * V, logits.length);
        float[] row = new float[d];
        for (var layerNode : meta.get("layers")) {
            int l = layerNode.asInt();
            double[] ref = Npy.read(dir.resolve("L" + l + "_layer_y.npy")).values();
            for (int j = 0; j < d; j++) assertEquals(ref[j], normed[l * d + j], 1e-9, "layer " + l + " normed stream");
            // W_U · ref for some tokens: the top ones of this layer and a spread of others
            var top = result.layers().get(l).top();
            for (int id : new int[]{top.get(0).tokenId(), top.get(1).tokenId(), 0, 17, V / 2, V - 1}) {
                m.output().rowsToFloat(id, 1, row, 0);
                double dot = 0;
                for (int j = 0; j < d; j++) dot += row[j] * ref[j];
                assertEquals(dot, logits[l * V + id], 1e-4 * Math.max(1, Math.abs(dot)), "layer " + l + " token " + id);
            }
            assertTrue(top.get(0).probability() >= top.get(1).probability());
        }
        // the last layer is the model's output: same logits, the prediction ranked first
        assertTrue(result.lastLayerError() < 1e-12, "last layer: " + result.lastLayerError());
        var last = result.layers().getLast();
        assertEquals(1, last.predictedRank());
        assertEquals(ctx.prediction().tokenId(), last.top().getFirst().tokenId());
        assertEquals(ctx.prediction().probability(), last.predictedProbability(), 1e-12);
    }
}
