package linlens.format;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A GGUF model file, memory-mapped (files may exceed 2 GB). Parses the header, the metadata and
 * the tensor directory, and checks that every tensor lies inside the file. Tensor data is not
 * copied: {@link GgufTensor} points into the mapping.
 *
 * <p>Layout (little endian): magic "GGUF", u32 version, u64 tensor count, u64 metadata count,
 * the metadata key/values, the tensor infos (name, dims, type, offset relative to the data
 * section), then padding to {@code general.alignment} (default 32) and the data section.
 */
public final class GgufFile implements AutoCloseable {
    private static final int MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Path path;
    private final Arena arena;
    private final MemorySegment data;
    private final int version;
    private final Map<String, Object> metadata;
    private final Map<String, GgufTensor> tensors;
    private long pos;

    private GgufFile(Path path) throws IOException {
        this.path = path;
        this.arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            this.data = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
        }
        try {
            if (data.byteSize() >= 4 && u32() != MAGIC) throw bad("not a GGUF file (bad magic)");
            if (data.byteSize() < 24) throw bad("file too short for a GGUF header (" + data.byteSize() + " bytes)");
            version = u32();
            if (version < 2 || version > 3) throw bad("unsupported GGUF version " + version);
            long nTensors = u64(), nKv = u64();
            if (nTensors < 0 || nTensors > 1_000_000 || nKv < 0 || nKv > 1_000_000)
                throw bad("implausible header counts (tensors=" + nTensors + ", metadata=" + nKv + ")");
            Map<String, Object> md = new LinkedHashMap<>();
            for (long i = 0; i < nKv; i++) {
                String key = string();
                md.put(key, value(u32()));
            }
            metadata = Collections.unmodifiableMap(md);
            long alignment = md.get("general.alignment") instanceof Number a ? a.longValue() : 32;
            if (alignment <= 0 || (alignment & (alignment - 1)) != 0) throw bad("bad general.alignment " + alignment);
            record Info(String name, long[] dims, int type, long offset) {}
            Info[] infos = new Info[(int) nTensors];
            for (int i = 0; i < nTensors; i++) {
                String name = string();
                int nd = u32();
                if (nd < 1 || nd > 4) throw bad("tensor " + name + " has " + nd + " dimensions");
                long[] dims = new long[nd];
                for (int d = 0; d < nd; d++) {
                    dims[d] = u64();
                    if (dims[d] <= 0) throw bad("tensor " + name + " has a non-positive dimension");
                }
                infos[i] = new Info(name, dims, u32(), u64());
            }
            long dataStart = (pos + alignment - 1) / alignment * alignment;
            Map<String, GgufTensor> ts = new LinkedHashMap<>();
            for (Info in : infos) {
                GgmlType type = GgmlType.byId(in.type);
                if (type == null) throw bad("tensor " + in.name + " has unknown tensor type " + in.type);
                if (in.dims[0] % type.blockSize != 0)
                    throw bad("tensor " + in.name + " row of " + in.dims[0] + " is not a multiple of the " + type + " block");
                long n = 1;
                for (long d : in.dims) n = Math.multiplyExact(n, d);
                long size = type.bytesFor(n);
                long start = dataStart + in.offset;
                if (in.offset < 0 || start + size > data.byteSize())
                    throw bad("tensor " + in.name + " lies outside the file (truncated or corrupt: needs bytes up to "
                            + (start + size) + ", file has " + data.byteSize() + ")");
                ts.put(in.name, new GgufTensor(in.name, in.dims, type, data, start, size));
            }
            tensors = Collections.unmodifiableMap(ts);
        } catch (IndexOutOfBoundsException | ArithmeticException e) {
            arena.close();
            throw bad("truncated or corrupt header (" + e.getMessage() + ")");
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /** Opens and parses a GGUF file; every problem is a {@link ModelFormatException} naming the file. */
    public static GgufFile open(Path path) {
        if (!Files.exists(path)) throw new ModelFormatException(path + ": model file not found");
        if (Files.isDirectory(path)) throw new ModelFormatException(path + ": is a directory, not a GGUF file");
        try {
            return new GgufFile(path);
        } catch (NoSuchFileException e) {
            throw new ModelFormatException(path + ": model file not found");
        } catch (IOException e) {
            throw new ModelFormatException(path + ": cannot read (" + e.getMessage() + ")", e);
        }
    }

    private ModelFormatException bad(String what) {
        return new ModelFormatException(path + ": " + what);
    }

    private int u32() { int v = data.get(U32, pos); pos += 4; return v; }
    private long u64() { long v = data.get(U64, pos); pos += 8; return v; }

    private String string() {
        long len = u64();
        if (len < 0 || len > Integer.MAX_VALUE || pos + len > data.byteSize())
            throw bad("truncated or corrupt header (string of " + len + " bytes at offset " + pos + ")");
        byte[] b = data.asSlice(pos, len).toArray(ValueLayout.JAVA_BYTE);
        pos += len;
        return new String(b, StandardCharsets.UTF_8);
    }

    private Object value(int type) {
        return switch (type) {
            case 0 -> (int) (data.get(ValueLayout.JAVA_BYTE, pos++) & 0xff);
            case 1 -> (int) data.get(ValueLayout.JAVA_BYTE, pos++);
            case 2 -> { int v = data.get(U16, pos) & 0xffff; pos += 2; yield v; }
            case 3 -> { int v = data.get(U16, pos); pos += 2; yield v; }
            case 4 -> Integer.toUnsignedLong(u32());
            case 5 -> u32();
            case 6 -> { float v = data.get(F32, pos); pos += 4; yield v; }
            case 7 -> data.get(ValueLayout.JAVA_BYTE, pos++) != 0;
            case 8 -> string();
            case 9 -> array();
            case 10, 11 -> u64();
            case 12 -> { double v = data.get(F64, pos); pos += 8; yield v; }
            default -> throw bad("unknown metadata value type " + type);
        };
    }

    /** Arrays become typed Java arrays: String[], float[], int[], long[], double[], boolean[] or Object[]. */
    private Object array() {
        int et = u32();
        long n = u64();
        if (n < 0 || n > data.byteSize() - pos)
            throw bad("truncated or corrupt header (array of " + n + " values at offset " + pos + ")");
        int len = (int) n;
        switch (et) {
            case 8 -> { String[] a = new String[len]; for (int i = 0; i < len; i++) a[i] = string(); return a; }
            case 6 -> { float[] a = new float[len]; for (int i = 0; i < len; i++) { a[i] = data.get(F32, pos); pos += 4; } return a; }
            case 0, 1, 2, 3, 5 -> { int[] a = new int[len]; for (int i = 0; i < len; i++) a[i] = ((Number) value(et)).intValue(); return a; }
            case 4, 10, 11 -> { long[] a = new long[len]; for (int i = 0; i < len; i++) a[i] = ((Number) value(et)).longValue(); return a; }
            case 12 -> { double[] a = new double[len]; for (int i = 0; i < len; i++) a[i] = (Double) value(et); return a; }
            case 7 -> { boolean[] a = new boolean[len]; for (int i = 0; i < len; i++) a[i] = (Boolean) value(et); return a; }
            default -> { Object[] a = new Object[len]; for (int i = 0; i < len; i++) a[i] = value(et); return a; }
        }
    }

    public Path path() { return path; }
    public int version() { return version; }
    public Map<String, Object> metadata() { return metadata; }
    public Map<String, GgufTensor> tensors() { return tensors; }

    /** The named tensor, or a {@link ModelFormatException} naming the file and the missing tensor. */
    public GgufTensor tensor(String name) {
        GgufTensor t = tensors.get(name);
        if (t == null) throw bad("missing tensor " + name);
        return t;
    }

    public boolean has(String key) { return metadata.containsKey(key); }

    public String string(String key) {
        if (!(metadata.get(key) instanceof String s)) throw bad("missing or non-string metadata " + key);
        return s;
    }

    public long integer(String key) {
        if (!(metadata.get(key) instanceof Number n) || n instanceof Float || n instanceof Double)
            throw bad("missing or non-integer metadata " + key);
        return n.longValue();
    }

    public long integer(String key, long fallback) { return has(key) ? integer(key) : fallback; }

    public double real(String key) {
        if (!(metadata.get(key) instanceof Number n)) throw bad("missing or non-numeric metadata " + key);
        return n.doubleValue();
    }

    public double real(String key, double fallback) { return has(key) ? real(key) : fallback; }

    public boolean bool(String key, boolean fallback) {
        return metadata.get(key) instanceof Boolean b ? b : fallback;
    }

    /** A metadata array of the given Java array type, or a clear error. */
    public <T> T array(String key, Class<T> type) {
        Object v = metadata.get(key);
        if (!type.isInstance(v)) throw bad("missing or mistyped metadata array " + key);
        return type.cast(v);
    }

    @Override
    public void close() { arena.close(); }
}
