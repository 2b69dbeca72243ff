package linlens.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Reads a valid GGUF file into its parts (raw metadata values, tensor infos, data section) so that
 * tests can write mutated copies: a metadata value replaced by one of any type, a tensor's
 * dimensions or offset changed. The data section is copied as is (offsets are relative to it).
 */
public final class GgufEdit {
    /** One metadata entry: its GGUF value type and the value's raw bytes. */
    private record Kv(String key, int type, byte[] raw) {}
    private record Info(String name, long[] dims, int type, long offset) {}

    private final int version;
    private final List<Kv> kvs = new ArrayList<>();
    private final List<Info> infos = new ArrayList<>();
    private final byte[] data;

    private GgufEdit(Path file) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        b.getInt();
        version = b.getInt();
        long nt = b.getLong(), nkv = b.getLong();
        for (long i = 0; i < nkv; i++) {
            String key = str(b);
            int type = b.getInt();
            int start = b.position();
            skip(b, type);
            kvs.add(new Kv(key, type, Arrays.copyOfRange(b.array(), start, b.position())));
        }
        for (long i = 0; i < nt; i++) {
            String name = str(b);
            long[] dims = new long[b.getInt()];
            for (int d = 0; d < dims.length; d++) dims[d] = b.getLong();
            infos.add(new Info(name, dims, b.getInt(), b.getLong()));
        }
        int dataStart = (b.position() + 31) / 32 * 32;
        data = Arrays.copyOfRange(b.array(), dataStart, b.capacity());
    }

    public static GgufEdit read(Path file) throws IOException { return new GgufEdit(file); }

    private static String str(ByteBuffer b) {
        byte[] s = new byte[(int) b.getLong()];
        b.get(s);
        return new String(s, StandardCharsets.UTF_8);
    }

    private static void skip(ByteBuffer b, int type) {
        switch (type) {
            case 0, 1, 7 -> b.position(b.position() + 1);
            case 2, 3 -> b.position(b.position() + 2);
            case 4, 5, 6 -> b.position(b.position() + 4);
            case 10, 11, 12 -> b.position(b.position() + 8);
            case 8 -> {
                int len = (int) b.getLong();
                b.position(b.position() + len);
            }
            case 9 -> {
                int et = b.getInt();
                long n = b.getLong();
                for (long i = 0; i < n; i++) skip(b, et);
            }
            default -> throw new IllegalArgumentException("type " + type);
        }
    }

    private static byte[] le(int bytes, long v) {
        ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v);
        return Arrays.copyOf(b.array(), bytes);
    }

    /** Sets (or adds) a metadata value of GGUF type {@code type} with raw little-endian bytes. */
    public GgufEdit raw(String key, int type, byte[] raw) {
        for (int i = 0; i < kvs.size(); i++)
            if (kvs.get(i).key.equals(key)) { kvs.set(i, new Kv(key, type, raw)); return this; }
        kvs.add(new Kv(key, type, raw));
        return this;
    }

    public GgufEdit u32(String key, long v) { return raw(key, 4, le(4, v)); }
    public GgufEdit i32(String key, int v) { return raw(key, 5, le(4, v)); }
    public GgufEdit u64(String key, long v) { return raw(key, 10, le(8, v)); }
    public GgufEdit f32(String key, float v) { return raw(key, 6, le(4, Float.floatToRawIntBits(v))); }
    public GgufEdit f64(String key, double v) { return raw(key, 12, le(8, Double.doubleToRawLongBits(v))); }
    public GgufEdit str(String key, String v) {
        byte[] s = v.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + s.length).order(ByteOrder.LITTLE_ENDIAN).putLong(s.length).put(s);
        return raw(key, 8, b.array());
    }

    public GgufEdit remove(String key) {
        kvs.removeIf(kv -> kv.key.equals(key));
        return this;
    }

    private int tensorIndex(String name) {
        for (int i = 0; i < infos.size(); i++) if (infos.get(i).name.equals(name)) return i;
        throw new IllegalArgumentException("no tensor " + name);
    }

    public GgufEdit dims(String tensor, long... dims) {
        Info t = infos.get(tensorIndex(tensor));
        infos.set(tensorIndex(tensor), new Info(t.name, dims, t.type, t.offset));
        return this;
    }

    public GgufEdit offset(String tensor, long offset) {
        Info t = infos.get(tensorIndex(tensor));
        infos.set(tensorIndex(tensor), new Info(t.name, t.dims, t.type, offset));
        return this;
    }

    public GgufEdit tensorType(String tensor, int type) {
        Info t = infos.get(tensorIndex(tensor));
        infos.set(tensorIndex(tensor), new Info(t.name, t.dims, type, t.offset));
        return this;
    }

    /** Overwrites one float32 value of a tensor's data (element {@code index}, for F32 tensors). */
    public GgufEdit f32Value(String tensor, int index, float v) {
        Info t = infos.get(tensorIndex(tensor));
        ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN).putFloat((int) t.offset + 4 * index, v);
        return this;
    }

    public byte[] bytes() {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ByteBuffer h = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN);
        h.put("GGUF".getBytes(StandardCharsets.US_ASCII)).putInt(version).putLong(infos.size()).putLong(kvs.size());
        o.writeBytes(h.array());
        for (Kv kv : kvs) {
            writeStr(o, kv.key);
            o.writeBytes(le(4, kv.type));
            o.writeBytes(kv.raw);
        }
        for (Info t : infos) {
            writeStr(o, t.name);
            o.writeBytes(le(4, t.dims.length));
            for (long d : t.dims) o.writeBytes(le(8, d));
            o.writeBytes(le(4, t.type));
            o.writeBytes(le(8, t.offset));
        }
        o.writeBytes(new byte[(32 - o.size() % 32) % 32]);
        o.writeBytes(data);
        return o.toByteArray();
    }

    public Path write(Path file) throws IOException {
        Files.write(file, bytes());
        return file;
    }

    private static void writeStr(ByteArrayOutputStream o, String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        o.writeBytes(le(8, b.length));
        o.writeBytes(b);
    }
}
