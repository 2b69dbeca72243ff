package linlens.format;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Safetensors reading against values decoded by torch (reference/make_safetensors_fixtures.py). */
class SafetensorsTest {
    private static final List<String> NAMES = List.of("f32.matrix", "f16.matrix", "bf16.matrix", "f64.vector",
            "f32.cube", "f16.specials", "bf16.specials");

    private static Path fixtures() throws URISyntaxException {
        return Path.of(SafetensorsTest.class.getResource("/reference/safetensors/values").toURI()).getParent();
    }

    private static void assertMatchesTorch(Safetensors st) throws Exception {
        assertEquals(NAMES.size(), st.tensors().size());
        for (String name : NAMES) {
            Npy.Array want = Npy.read(fixtures().resolve("values/" + name + ".npy"));
            SafetensorsTensor t = st.tensor(name);
            assertArrayEquals(java.util.Arrays.stream(want.shape()).asLongStream().toArray(), t.shape(), name);
            assertEquals(want.shape()[0], t.rows(), name);
            assertEquals(want.size() / want.shape()[0], t.cols(), name);
            float[] got = new float[want.size()];
            t.rowsToFloat(0, t.rows(), got, 0);
            for (int i = 0; i < got.length; i++)
                assertEquals((float) want.values()[i], got[i], 0.0f, name + "[" + i + "]");
            // a single row from the middle decodes the same values
            if (t.rows() > 1) {
                float[] row = new float[t.cols()];
                t.rowsToFloat(1, 1, row, 0);
                for (int j = 0; j < row.length; j++) assertEquals(got[t.cols() + j], row[j], 0.0f);
            }
        }
        assertArrayEquals(Npy.read(fixtures().resolve("values/f64.vector.npy")).values(), st.vector("f64.vector", 9));
    }

    @Test
    void singleFileMatchesTorch() throws Exception {
        try (Safetensors st = Safetensors.openFolder(fixtures().resolve("single"))) {
            assertMatchesTorch(st);
            assertEquals(GgmlType.BF16, st.tensor("bf16.matrix").type());
        }
    }

    @Test
    void shardedFolderMatchesTorch() throws Exception {
        try (Safetensors st = Safetensors.openFolder(fixtures().resolve("sharded"))) {
            assertMatchesTorch(st);
            assertTrue(st.tensor("f64.vector").file().getFileName().toString().startsWith("model-00002"));
        }
    }

    private static String failure(Path folder) {
        return assertThrows(ModelFormatException.class, () -> Safetensors.openFolder(folder).close()).getMessage();
    }

    private static void copy(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (var files = Files.list(from)) {
            for (Path f : files.toList()) Files.copy(f, to.resolve(f.getFileName()));
        }
    }

    @Test
    void missingShardIsNamed(@TempDir Path tmp) throws Exception {
        copy(fixtures().resolve("sharded"), tmp);
        Files.delete(tmp.resolve("model-00002-of-00002.safetensors"));
        String msg = failure(tmp);
        assertTrue(msg.contains("model-00002-of-00002.safetensors") && msg.contains("missing"), msg);
    }

    @Test
    void tensorListedInIndexButAbsentFromShard(@TempDir Path tmp) throws Exception {
        copy(fixtures().resolve("sharded"), tmp);
        Path index = tmp.resolve(Safetensors.INDEX);
        Files.writeString(index, Files.readString(index).replace("\"f64.vector\"", "\"ghost\""));
        String msg = failure(tmp);
        assertTrue(msg.contains("ghost") && msg.contains("model-00002-of-00002.safetensors"), msg);
    }

    @Test
    void emptyFolderSaysWhatIsMissing(@TempDir Path tmp) {
        String msg = failure(tmp);
        assertTrue(msg.startsWith(tmp.toString()) && msg.contains(Safetensors.SINGLE), msg);
    }

    /** A hand-made file: header JSON then {@code dataBytes} zero bytes. */
    private static Path handMade(Path dir, String header, int dataBytes) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        Files.createDirectories(dir);
        Path f = dir.resolve(Safetensors.SINGLE);
        Files.write(f, b.array());
        return dir;
    }

    @Test
    void truncatedDataIsReported(@TempDir Path tmp) throws Exception {
        String msg = failure(handMade(tmp, "{\"w\":{\"dtype\":\"F32\",\"shape\":[4,4],\"data_offsets\":[0,64]}}", 32));
        assertTrue(msg.contains("tensor w lies outside the file"), msg);
    }

    @Test
    void shapeAndByteCountMustAgree(@TempDir Path tmp) throws Exception {
        String msg = failure(handMade(tmp, "{\"w\":{\"dtype\":\"F16\",\"shape\":[4,4],\"data_offsets\":[0,64]}}", 64));
        assertTrue(msg.contains("tensor w has 64 bytes but its shape needs 32"), msg);
    }

    @Test
    void unsupportedDtypeIsNamed(@TempDir Path tmp) throws Exception {
        String msg = failure(handMade(tmp, "{\"w\":{\"dtype\":\"I8\",\"shape\":[4],\"data_offsets\":[0,4]}}", 4));
        assertTrue(msg.contains("unsupported dtype I8"), msg);
    }

    @Test
    void notSafetensorsAtAll(@TempDir Path tmp) throws Exception {
        Files.writeString(tmp.resolve(Safetensors.SINGLE), "this is not a safetensors file at all");
        String msg = failure(tmp);
        assertTrue(msg.contains(Safetensors.SINGLE) && msg.contains("not a safetensors file"), msg);
    }

    @Test
    void missingTensorNamesFolderAndTensor() throws Exception {
        try (Safetensors st = Safetensors.openFolder(fixtures().resolve("single"))) {
            String msg = assertThrows(ModelFormatException.class, () -> st.tensor("lm_head.weight")).getMessage();
            assertTrue(msg.contains("missing tensor lm_head.weight"), msg);
            msg = assertThrows(ModelFormatException.class, () -> st.vector("f32.matrix", 35)).getMessage();
            assertTrue(msg.contains("has shape [5, 7], expected [35]"), msg);
        }
    }
}
