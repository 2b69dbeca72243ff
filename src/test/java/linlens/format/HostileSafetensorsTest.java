package linlens.format;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** Hand-made hostile safetensors headers: each ends in one line naming the file, the tensor and the field. */
class HostileSafetensorsTest {
    @TempDir Path dir;

    /** A folder with one model.safetensors: a header (declared length {@code declared}, or its own for Long.MIN_VALUE) then {@code dataBytes} zeros. */
    Path file(String header, long declared, int dataBytes) throws IOException {
        Path folder = Files.createTempDirectory(dir, "st");
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(declared == Long.MIN_VALUE ? h.length : declared).put(h);
        Files.write(folder.resolve(Safetensors.SINGLE), b.array());
        return folder;
    }

    Path file(String header, int dataBytes) throws IOException { return file(header, Long.MIN_VALUE, dataBytes); }

    static String refused(Path folder, String... parts) {
        String m = assertThrows(ModelFormatException.class, () -> Safetensors.openFolder(folder).close()).getMessage();
        assertEquals(1, m.lines().count(), m);
        assertTrue(m.startsWith(folder.toString()), m);
        for (String p : parts) assertTrue(m.contains(p), "expected '" + p + "' in: " + m);
        return m;
    }

    @Test
    void headerLengthBeyondTheFileOrNear2To63() throws IOException {
        refused(file("{}", Long.MAX_VALUE, 0), "model.safetensors: not a safetensors file (bad header length 9223372036854775807");
        refused(file("{}", -8, 0), "bad header length 18446744073709551608");
        refused(file("{}", 1L << 40, 16), "bad header length 1099511627776");
    }

    @Test
    void headerMustBeAnObjectOfObjects() throws IOException {
        refused(file("[1, 2]", 0), "header is not a JSON object");
        refused(file("{\"w\": 3}", 0), "tensor w is not described by a JSON object");
    }

    @Test
    void shapesThatWrapOrAreNotCounts() throws IOException {
        // 2^31-1 cubed times 8 wraps a long: refused, not multiplied
        refused(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[2147483647,2147483647,2147483647,8],\"data_offsets\":[0,0]}}", 0),
                "tensor w: shape [2147483647,2147483647,2147483647,8] has more than 2^31-1 columns or its size overflows");
        // a zero dimension makes no values, but the other dimensions still may not overflow the columns
        refused(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[0,2147483647,2147483647],\"data_offsets\":[0,0]}}", 0),
                "more than 2^31-1 columns");
        refused(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4),
                "tensor w: shape [-1] has a dimension that is not an integer in 0..2^31-1");
        refused(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296],\"data_offsets\":[0,4]}}", 4), "not an integer in 0..2^31-1");
        refused(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[\"4\"],\"data_offsets\":[0,16]}}", 16), "not an integer");
        refused(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 4), "not an integer");
        refused(file("{\"w\":{\"dtype\":\"F32\",\"shape\":4,\"data_offsets\":[0,16]}}", 16), "tensor w: shape 4 is not a list");
        refused(file("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,16]}}", 16), "tensor w: shape");
    }

    @Test
    void dataOffsetsInsideTheFileAndMatchingTheShape() throws IOException {
        refused(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[9223372036854775800,9223372036854775807]}}", 16),
                "tensor w lies outside the file (data_offsets [9223372036854775800, 9223372036854775807]");
        refused(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[-16,0]}}", 16), "tensor w lies outside the file");
        refused(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,0]}}", 16), "tensor w lies outside the file");
        refused(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0]}}", 16), "tensor w: data_offsets [0] is not a pair of integers");
        refused(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,\"16\"]}}", 16), "is not a pair of integers");
        refused(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,12]}}", 16), "tensor w has 12 bytes but its shape needs 16");
        refused(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[2147483647, 2147483647],\"data_offsets\":[0,16]}}", 16),
                "tensor w: shape [2147483647,2147483647] has more than 2^31-1 columns or its size overflows");
        refused(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[65536, 65536],\"data_offsets\":[0,16]}}", 16),
                "tensor w has 16 bytes but its shape needs 17179869184");
    }

    @Test
    void namesFromTheFileAreShownOnOneShortLine() throws IOException {
        String name = "a\\nb" + "x".repeat(5000);
        String m = refused(file("{\"" + name + "\":{\"dtype\":\"Q9\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4), "tensor a\\u000ab", "…");
        assertTrue(m.length() < 400, m);
    }

    @Test
    void duplicateTensorAcrossShards() throws IOException {
        Path folder = Files.createTempDirectory(dir, "sharded");
        String h = "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}";
        for (String shard : new String[] {"a.safetensors", "b.safetensors"}) {
            byte[] hb = h.getBytes(StandardCharsets.UTF_8);
            Files.write(folder.resolve(shard), ByteBuffer.allocate(12 + hb.length).order(ByteOrder.LITTLE_ENDIAN)
                    .putLong(hb.length).put(hb).array());
        }
        Files.writeString(folder.resolve(Safetensors.INDEX), "{\"weight_map\": {\"w\": \"a.safetensors\", \"v\": \"b.safetensors\"}}");
        refused(folder, "b.safetensors: tensor w is also in");
    }

    @Test
    void indexThatIsNotAnObjectOrTooLarge() throws IOException {
        Path folder = Files.createTempDirectory(dir, "index");
        Files.writeString(folder.resolve(Safetensors.INDEX), "\"weights\"");
        refused(folder, "model.safetensors.index.json: not a JSON object");
        Files.writeString(folder.resolve(Safetensors.INDEX), "{\"weight_map\": []}");
        refused(folder, "model.safetensors.index.json: no weight_map");
        Files.writeString(folder.resolve(Safetensors.INDEX), "{\"weight_map\": {\"w\": \"\"}}");
        refused(folder, "weight_map.w = '' lies outside the model folder");
    }

    @Test
    void shownEscapesAndCuts() {
        assertEquals("blk.0", ModelLimits.shown("blk.0"));
        assertEquals("a\\u000ab\\ufffd", ModelLimits.shown("a\nb\uFFFD"));
        String cut = ModelLimits.shown("y".repeat(200));
        assertEquals(81, cut.length());
        assertTrue(cut.endsWith("…"));
        assertEquals("line one\\u000atwo", new ModelFormatException("line one\ntwo").getMessage());
    }

    @Test
    void heapNeedBeyondTheJvmIsOneLine() {
        long max = Runtime.getRuntime().maxMemory();
        String m = assertThrows(ModelFormatException.class,
                () -> ModelLimits.requireHeap("m.gguf", Long.MAX_VALUE / 4, "the embedding table")).getMessage();
        assertTrue(m.startsWith("m.gguf: model needs ~") && m.contains("GB of heap for the embedding table, the JVM has ")
                && m.contains("; set LINLENS_JAVA_OPTS=-Xmx"), m);
        ModelLimits.requireHeap("m.gguf", max / 2, "a small table");
    }
}
