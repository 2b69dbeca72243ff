package linlens.model;

import linlens.format.ModelFormatException;
import linlens.format.StoredMatrix;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** The shared layer builder on hand-made tensors: fused weights and biases split, unsupported ones refused. */
class ModelLoaderLayersTest {
    /** A rows×cols matrix whose entry (r, c) is base + r + c/100. */
    record Ramp(String name, int rows, int cols, float base) implements StoredMatrix {
        public void rowsToFloat(int row0, int count, float[] dst, int dstOff) {
            for (int r = 0; r < count; r++)
                for (int c = 0; c < cols; c++) dst[dstOff + r * cols + c] = base + row0 + r + c / 100f;
        }
    }

    static final int D = 8, H = 2, KV = 1, HD = 4, F = 6, QD = H * HD, KVD = KV * HD;
    static final ModelConfig CFG = new ModelConfig("phi3", D, 1, H, KV, HD, F, 10, 16, 1e-5, 0.5, HD,
            Family.RopeStyle.NEOX, 1.0, new int[1], new double[][] {ModelConfig.ropeInvFreq(1e4, HD)}, null);

    static Map<String, StoredMatrix> fusedPhi3Layer() {
        Map<String, StoredMatrix> t = new HashMap<>();
        t.put("blk.0.attn_norm.weight", new Ramp("blk.0.attn_norm.weight", 1, D, 1));
        t.put("blk.0.ffn_norm.weight", new Ramp("blk.0.ffn_norm.weight", 1, D, 1));
        t.put("blk.0.attn_qkv.weight", new Ramp("blk.0.attn_qkv.weight", QD + 2 * KVD, D, 0));
        t.put("blk.0.attn_qkv.bias", new Ramp("blk.0.attn_qkv.bias", 1, QD + 2 * KVD, 100));
        t.put("blk.0.attn_output.weight", new Ramp("blk.0.attn_output.weight", D, QD, 0));
        t.put("blk.0.ffn_up.weight", new Ramp("blk.0.ffn_up.weight", 2 * F, D, 0));
        t.put("blk.0.ffn_down.weight", new Ramp("blk.0.ffn_down.weight", D, F, 0));
        return t;
    }

    static Transformer.Layer build(Map<String, StoredMatrix> t) {
        return ModelLoader.layers(Family.PHI3, CFG, new ModelLoader.Tensors("test", t::get), ModelLoader.GGUF_NAMES, 0)[0];
    }

    static float first(StoredMatrix m) {
        float[] row = new float[m.cols()];
        m.rowsToFloat(0, 1, row, 0);
        return row[0];
    }

    @Test
    void fusedWeightsAndBiasSplitInOrder() {
        Transformer.Layer l = build(fusedPhi3Layer());
        assertEquals(0f, first(l.wq()));
        assertEquals(QD, first(l.wk()));
        assertEquals(QD + KVD, first(l.wv()));
        assertEquals(0f, first(l.gate()));
        assertEquals(F, first(l.up()));
        assertEquals(F, l.up().rows());
        // bias entry i is 100 + i/100: q gets 0..QD-1, k the next KVD, v the last KVD
        assertEquals(100.0, l.bq()[0], 1e-5);
        assertEquals(100 + QD / 100.0, l.bk()[0], 1e-5);
        assertEquals(100 + (QD + KVD) / 100.0, l.bv()[0], 1e-5);
        assertNull(l.bo());
    }

    @Test
    void mlpBiasesAreRefused() {
        Map<String, StoredMatrix> t = fusedPhi3Layer();
        t.put("blk.0.ffn_down.bias", new Ramp("blk.0.ffn_down.bias", 1, D, 0));
        var e = assertThrows(ModelFormatException.class, () -> build(t));
        assertEquals("test: MLP biases (blk.0.ffn_down.bias) are not supported", e.getMessage());
    }

    @Test
    void fusedShapeIsChecked() {
        Map<String, StoredMatrix> t = fusedPhi3Layer();
        t.put("blk.0.attn_qkv.weight", new Ramp("blk.0.attn_qkv.weight", QD + KVD, D, 0));
        var e = assertThrows(ModelFormatException.class, () -> build(t));
        assertTrue(e.getMessage().contains("blk.0.attn_qkv.weight has 12 rows of 8, expected 16 rows of 8"), e.getMessage());
    }
}
