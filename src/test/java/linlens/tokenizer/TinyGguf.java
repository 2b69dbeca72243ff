package linlens.tokenizer;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** Writes metadata-only GGUF v3 files for tests (no tensors). */
final class TinyGguf {
    private final Map<String, Object> kv = new LinkedHashMap<>();

    TinyGguf put(String key, Object value) {
        kv.put(key, value);
        return this;
    }

    /** A "llama" (SPM) vocabulary: pieces with scores and GGUF token types. */
    static TinyGguf spm(String[] pieces, float[] scores, int[] types) {
        return new TinyGguf().put("general.architecture", "llama")
                .put("tokenizer.ggml.model", "llama")
                .put("tokenizer.ggml.tokens", pieces)
                .put("tokenizer.ggml.scores", scores)
                .put("tokenizer.ggml.token_type", types);
    }

    Path write(Path file) throws IOException {
        Out o = new Out();
        o.bytes("GGUF".getBytes(StandardCharsets.US_ASCII));
        o.u32(3);
        o.u64(0);
        o.u64(kv.size());
        for (Map.Entry<String, Object> e : kv.entrySet()) {
            o.str(e.getKey());
            Object v = e.getValue();
            switch (v) {
                case String s -> { o.u32(8); o.str(s); }
                case Integer i -> { o.u32(5); o.u32(i); }
                case Boolean b -> { o.u32(7); o.bytes(new byte[]{(byte) (b ? 1 : 0)}); }
                case String[] a -> { o.u32(9); o.u32(8); o.u64(a.length); for (String s : a) o.str(s); }
                case float[] a -> { o.u32(9); o.u32(6); o.u64(a.length); for (float f : a) o.u32(Float.floatToIntBits(f)); }
                case int[] a -> { o.u32(9); o.u32(5); o.u64(a.length); for (int x : a) o.u32(x); }
                default -> throw new IllegalArgumentException("unsupported value " + v);
            }
        }
        o.bytes(new byte[32]); // padding up to the (empty) data section
        Files.write(file, o.buf.toByteArray());
        return file;
    }

    private static final class Out {
        final ByteArrayOutputStream buf = new ByteArrayOutputStream();
        void bytes(byte[] b) { buf.writeBytes(b); }
        void u32(int v) { bytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array()); }
        void u64(long v) { bytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array()); }
        void str(String s) { byte[] b = s.getBytes(StandardCharsets.UTF_8); u64(b.length); bytes(b); }
    }
}
