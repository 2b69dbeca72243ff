package linlens.format;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32;
import linlens.testing.RealModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Checks {@link Dequant} bit for bit against gguf-py's dequantization (fixtures written by
 * reference/make_dequant_fixtures.py): synthetic blocks of every supported type, and rows of the real
 * gemma-3-270m model.
 */
class DequantTest {
    static final Path MODEL = linlens.testing.TestModels.GEMMA3_270M;

    record Fixture(GgmlType type, byte[] raw, float[] expected) {}

    static ByteBuffer resource(String name) {
        try (InputStream in = DequantTest.class.getResourceAsStream("/reference/dequant/" + name)) {
            if (in == null) throw new AssertionError("missing test resource reference/dequant/" + name);
            return ByteBuffer.wrap(in.readAllBytes()).order(ByteOrder.LITTLE_ENDIAN);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    static Fixture fixture(GgmlType type) {
        ByteBuffer bb = resource(type + ".bin");
        assertEquals(0x5144_4C4C, bb.getInt(), "magic LLDQ");
        assertEquals(type.id, bb.getInt(), "type id in " + type + ".bin");
        int n = bb.getInt(), m = bb.getInt();
        byte[] raw = new byte[m];
        bb.get(raw);
        float[] expected = new float[n];
        bb.asFloatBuffer().get(expected);
        assertEquals(type.bytesFor(n), m, "fixture byte count");
        return new Fixture(type, raw, expected);
    }

    /** Fails at the first value whose bits differ, naming it. */
    static void assertSameBits(float[] expected, float[] actual, int actualOff, String what) {
        for (int i = 0; i < expected.length; i++) {
            int e = Float.floatToRawIntBits(expected[i]), a = Float.floatToRawIntBits(actual[actualOff + i]);
            if (e != a)
                fail(String.format("%s: value %d is %s (0x%08x), gguf-py gives %s (0x%08x)",
                        what, i, actual[actualOff + i], a, expected[i], e));
        }
    }

    @ParameterizedTest
    @EnumSource(names = {"F32", "F16", "BF16", "F64", "I8", "I16", "I32",
            "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"})
    void matchesGgufPyBitForBit(GgmlType type) {
        Fixture f = fixture(type);
        assertTrue(Dequant.supports(type));
        // Place the data at an odd offset of a native segment, and write at an offset of dst, so that
        // neither alignment nor offset handling is taken for granted.
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(f.raw.length + 3);
            MemorySegment.copy(f.raw, 0, seg, ValueLayout.JAVA_BYTE, 3, f.raw.length);
            float[] dst = new float[f.expected.length + 5];
            Dequant.toFloat(type, seg, 3, dst, 5, f.expected.length);
            assertSameBits(f.expected, dst, 5, type.toString());

            // Block by block gives the same as all at once.
            float[] one = new float[f.expected.length];
            for (int b = 0; b < f.expected.length / type.blockSize; b++)
                Dequant.toFloat(type, seg, 3 + type.bytesFor((long) b * type.blockSize), one, b * type.blockSize, type.blockSize);
            assertSameBits(f.expected, one, 0, type + " block by block");

            // Again once the JIT has had ample time to compile (and vectorize) the decoder.
            float[] hot = new float[f.expected.length];
            for (int rep = 0, reps = 20_000_000 / hot.length; rep < reps; rep++)
                Dequant.toFloat(type, seg, 3, hot, 0, hot.length);
            assertSameBits(f.expected, hot, 0, type + " after JIT warm-up");
        }
    }

    @ParameterizedTest
    @EnumSource(names = {"Q8_1", "Q8_K", "IQ2_XXS", "IQ2_XS", "IQ3_XXS", "IQ1_S", "IQ4_NL", "IQ3_S", "IQ2_S",
            "IQ4_XS", "IQ1_M", "TQ1_0", "TQ2_0", "I64"})
    void unsupportedTypesAreRefused(GgmlType type) {
        MemorySegment seg = MemorySegment.ofArray(new byte[type.typeSize]);
        var e = assertThrows(ModelFormatException.class,
                () -> Dequant.toFloat(type, seg, 0, new float[type.blockSize], 0, type.blockSize));
        assertEquals("tensor type " + type + " is not supported", e.getMessage());
        assertTrue(!Dequant.supports(type));
    }

    @Test
    void partialBlocksAreRefused() {
        MemorySegment seg = MemorySegment.ofArray(new byte[GgmlType.Q4_K.typeSize]);
        assertThrows(IllegalArgumentException.class, () -> Dequant.toFloat(GgmlType.Q4_K, seg, 0, new float[256], 0, 100));
    }

    record ModelRow(String tensor, int typeId, int row, long crc, float[] expected) {}

    static List<ModelRow> modelRows() {
        ByteBuffer bb = resource("gemma-3-270m.bin");
        assertEquals(0x4D44_4C4C, bb.getInt(), "magic LLDM");
        int count = bb.getInt();
        List<ModelRow> rows = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            byte[] name = new byte[Short.toUnsignedInt(bb.getShort())];
            bb.get(name);
            int type = bb.getInt(), row = bb.getInt(), n = bb.getInt();
            long crc = Integer.toUnsignedLong(bb.getInt());
            float[] values = new float[n];
            bb.asFloatBuffer().get(values);
            bb.position(bb.position() + 4 * n);
            rows.add(new ModelRow(new String(name, StandardCharsets.UTF_8), type, row, crc, values));
        }
        return rows;
    }

    static GgufFile openModel() {
        assertTrue(Files.isRegularFile(MODEL), "the real-model dequantization test needs " + MODEL
                + " (gemma-3-270m in GGUF form); it is missing");
        return GgufFile.open(MODEL);
    }

    @RealModel
    @Test
    void realModelRowsMatchGgufPy() {
        List<ModelRow> rows = modelRows();
        try (GgufFile model = openModel()) {
            for (ModelRow r : rows) {
                GgufTensor t = model.tensor(r.tensor);
                String what = r.tensor + " row " + r.row + " (" + t.type() + ")";
                assertEquals(r.typeId, t.type().id, what + ": stored type differs from the fixture's");
                CRC32 crc = new CRC32();
                crc.update(t.data().asSlice(t.offset() + r.row * t.rowBytes(), t.rowBytes()).asByteBuffer());
                assertEquals(r.crc, crc.getValue(), what + ": stored bytes differ from the fixture's (another model file?)");
                float[] dst = new float[t.cols()];
                t.rowsToFloat(r.row, 1, dst, 0);
                assertSameBits(r.expected, dst, 0, what);
            }
        }
    }

    /** Many rows in one call (crossing the internal chunking) equal the same rows one by one. */
    @RealModel
    @Test
    void realModelManyRowsAtOnceEqualRowByRow() {
        try (GgufFile model = openModel()) {
            for (String name : List.of("token_embd.weight", "blk.3.attn_q.weight", "blk.3.attn_output.weight",
                    "blk.3.ffn_down.weight", "blk.3.attn_v.weight")) {
                GgufTensor t = model.tensor(name);
                int rows = Math.min(t.rows(), 300), cols = t.cols();
                float[] all = new float[rows * cols], one = new float[rows * cols];
                t.rowsToFloat(0, rows, all, 0);
                for (int r = 0; r < rows; r++) t.rowsToFloat(r, 1, one, r * cols);
                assertArrayEquals(one, all, name);
            }
        }
    }
}
