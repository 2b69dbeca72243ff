package linlens.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Writes small GGUF v3 files for tests: metadata and optionally raw tensors. */
public final class TinyGguf {
    private final Map<String, Object> kv = new LinkedHashMap<>();
    private record Tensor(String name, long[] dims, int type, long offset, byte[] data) {}
    private final List<Tensor> tensors = new ArrayList<>();
    private long dataSize;

    public TinyGguf put(String key, Object value) {
        kv.put(key, value);
        return this;
    }

    /** Adds a tensor with raw bytes at the next 32-aligned offset of the data section. */
    public TinyGguf tensor(String name, long[] dims, int type, byte[] data) {
        long off = (dataSize + 31) / 32 * 32;
        tensors.add(new Tensor(name, dims, type, off, data));
        dataSize = off + data.length;
        return this;
    }

    /** Adds a tensor whose declared offset is {@code offset}, with no data written for it. */
    public TinyGguf tensorAt(String name, long[] dims, int type, long offset) {
        tensors.add(new Tensor(name, dims, type, offset, new byte[0]));
        return this;
    }

    /** A "llama" (SPM) vocabulary: pieces with scores and GGUF token types. */
    public static TinyGguf spm(String[] pieces, float[] scores, int[] types) {
        return new TinyGguf().put("general.architecture", "llama")
                .put("tokenizer.ggml.model", "llama")
                .put("tokenizer.ggml.tokens", pieces)
                .put("tokenizer.ggml.scores", scores)
                .put("tokenizer.ggml.token_type", types);
    }

    public Path write(Path file) throws IOException {
        Out o = new Out();
        o.bytes("GGUF".getBytes(StandardCharsets.US_ASCII));
        o.u32(3);
        o.u64(tensors.size());
        o.u64(kv.size());
        for (Map.Entry<String, Object> e : kv.entrySet()) {
            o.str(e.getKey());
            Object v = e.getValue();
            switch (v) {
                case String s -> { o.u32(8); o.str(s); }
                case Integer i -> { o.u32(5); o.u32(i); }
                case Float f -> { o.u32(6); o.u32(Float.floatToIntBits(f)); }
                case Boolean b -> { o.u32(7); o.bytes(new byte[]{(byte) (b ? 1 : 0)}); }
                case String[] a -> { o.u32(9); o.u32(8); o.u64(a.length); for (String s : a) o.str(s); }
                case float[] a -> { o.u32(9); o.u32(6); o.u64(a.length); for (float f : a) o.u32(Float.floatToIntBits(f)); }
                case int[] a -> { o.u32(9); o.u32(5); o.u64(a.length); for (int x : a) o.u32(x); }
                default -> throw new IllegalArgumentException("unsupported value " + v);
            }
        }
        for (Tensor t : tensors) {
            o.str(t.name);
            o.u32(t.dims.length);
            for (long dim : t.dims) o.u64(dim);
            o.u32(t.type);
            o.u64(t.offset);
        }
        int pad = (int) ((32 - o.buf.size() % 32) % 32);
        o.bytes(new byte[pad]);
        byte[] data = new byte[(int) dataSize];
        for (Tensor t : tensors) if (t.data.length > 0) System.arraycopy(t.data, 0, data, (int) t.offset, t.data.length);
        o.bytes(data);
        if (tensors.isEmpty()) o.bytes(new byte[32]);
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
