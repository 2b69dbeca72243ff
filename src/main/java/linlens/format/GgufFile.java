package linlens.format;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
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
    /** The metadata key or tensor being read, for error messages. */
    private String reading = "the header";

    private GgufFile(Path path) throws IOException {
        this.path = path;
        this.arena = Arena.ofShared();
        try {
            try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
                this.data = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
            }
            if (data.byteSize() >= 4 && u32() != MAGIC) throw bad("not a GGUF file (bad magic)");
            if (data.byteSize() < 24) throw bad("file too short for a GGUF header (" + data.byteSize() + " bytes)");
            version = u32();
            if (version < 2 || version > 3) throw bad("unsupported GGUF version " + version);
            long nTensors = u64(), nKv = u64();
            // Each metadata entry takes at least 13 bytes (key length, value type, one value byte),
            // each tensor info at least 32 (name length, dimension count, one dimension, type,
            // offset): counts beyond what the file can hold are refused before any allocation.
            long left = data.byteSize() - pos;
            if (nTensors < 0 || nTensors > 1_000_000 || nKv < 0 || nKv > 1_000_000)
                throw bad("implausible header counts (tensors=" + Long.toUnsignedString(nTensors) + ", metadata="
                        + Long.toUnsignedString(nKv) + ")");
            if (nKv > left / 13 || nTensors > (left - 13 * nKv) / 32)
                throw bad("truncated or corrupt header (" + nTensors + " tensors and " + nKv
                        + " metadata entries cannot fit in a file of " + data.byteSize() + " bytes)");
            Map<String, Object> md = new LinkedHashMap<>();
            for (long i = 0; i < nKv; i++) {
                reading = "metadata entry " + i;
                String key = string();
                reading = "metadata " + ModelLimits.shown(key);
                if (md.put(key, value(u32(), 0)) != null) throw bad("metadata " + ModelLimits.shown(key) + " appears twice");
            }
            metadata = Collections.unmodifiableMap(md);
            long alignment = 32;
            if (md.containsKey("general.alignment")) {
                Object a = md.get("general.alignment");
                if (!(a instanceof Integer || a instanceof Long)) throw bad("general.alignment = " + ModelLimits.shown(a) + " is not an integer");
                alignment = ((Number) a).longValue();
                if (alignment <= 0 || alignment > 1 << 30 || (alignment & (alignment - 1)) != 0)
                    throw bad("general.alignment = " + alignment + " must be a power of two ≤ 2^30");
            }
            record Info(String name, long[] dims, int type, long offset) {}
            Info[] infos = new Info[(int) nTensors];
            for (int i = 0; i < nTensors; i++) {
                reading = "tensor info " + i;
                String name = string();
                reading = "tensor " + ModelLimits.shown(name);
                int nd = u32();
                if (nd < 1 || nd > 4) throw bad(reading + " has " + Integer.toUnsignedString(nd) + " dimensions");
                long[] dims = new long[nd];
                for (int d = 0; d < nd; d++) {
                    dims[d] = u64();
                    if (dims[d] <= 0) throw bad(reading + " has a non-positive dimension (" + Long.toUnsignedString(dims[d]) + ")");
                }
                infos[i] = new Info(name, dims, u32(), u64());
            }
            reading = "the header";
            long dataStart = Math.addExact(pos, alignment - 1) / alignment * alignment;
            Map<String, GgufTensor> ts = new LinkedHashMap<>();
            for (Info in : infos) {
                GgmlType type = GgmlType.byId(in.type);
                String shown = ModelLimits.shown(in.name);
                String shape = java.util.Arrays.toString(in.dims);
                if (type == null) throw bad("tensor " + shown + " has unknown tensor type " + in.type);
                if (in.dims[0] % type.blockSize != 0)
                    throw bad("tensor " + shown + " row of " + in.dims[0] + " is not a multiple of the " + type + " block");
                // Rows and columns are Java ints everywhere after this (StoredMatrix).
                long rows = 1;
                for (int d = 1; d < in.dims.length; d++) {
                    if (in.dims[d] > Integer.MAX_VALUE || rows > Integer.MAX_VALUE) { rows = Long.MAX_VALUE; break; }
                    rows *= in.dims[d];
                }
                if (in.dims[0] > Integer.MAX_VALUE || rows > Integer.MAX_VALUE)
                    throw bad("tensor " + shown + " has shape " + shape + ": more than 2^31-1 rows or columns");
                long blocks = in.dims[0] / type.blockSize * rows;  // both factors < 2^31: exact
                if (blocks > Long.MAX_VALUE / type.typeSize)
                    throw bad("tensor " + shown + " has shape " + shape + ": its byte size overflows");
                long size = blocks * type.typeSize;
                if (in.offset < 0 || in.offset > data.byteSize() - dataStart || size > data.byteSize() - dataStart - in.offset)
                    throw bad("tensor " + shown + " lies outside the file (truncated or corrupt: its " + size
                            + " bytes at data offset " + Long.toUnsignedString(in.offset) + " end beyond the "
                            + Math.max(0, data.byteSize() - dataStart) + " bytes of the data section)");
                if (ts.containsKey(in.name)) throw bad("tensor " + shown + " appears twice");
                ts.put(in.name, new GgufTensor(in.name, in.dims, type, data, dataStart + in.offset, size));
            }
            tensors = Collections.unmodifiableMap(ts);
        } catch (ModelFormatException e) {
            arena.close();
            throw e;
        } catch (IOException | Error e) {
            arena.close();
            throw e;
        } catch (RuntimeException e) {
            // Safety net behind the explicit checks: never a raw JVM exception for a bad file.
            arena.close();
            throw new ModelFormatException(path + ": truncated or corrupt header (" + e.getClass().getSimpleName()
                    + " reading " + reading + " at offset " + pos + ")", e);
        }
    }

    /** Opens and parses a GGUF file; every problem is a {@link ModelFormatException} naming the file. */
    public static GgufFile open(Path path) {
        ModelLimits.requireRegularFile(path, "GGUF model file");
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

    /** Refuses to read {@code n} bytes at {@code pos} beyond the end of the file. */
    private void need(long n) {
        if (n < 0 || n > data.byteSize() - pos)
            throw bad("truncated or corrupt header (" + reading + " needs " + (n < 0 ? Long.toUnsignedString(n) : n)
                    + " bytes at offset " + pos + ", the file has " + data.byteSize() + ")");
    }

    private int u32() { need(4); int v = data.get(U32, pos); pos += 4; return v; }
    private long u64() { need(8); long v = data.get(U64, pos); pos += 8; return v; }
    private byte u8() { need(1); return data.get(ValueLayout.JAVA_BYTE, pos++); }
    private short u16() { need(2); short v = data.get(U16, pos); pos += 2; return v; }
    private float f32() { need(4); float v = data.get(F32, pos); pos += 4; return v; }
    private double f64() { need(8); double v = data.get(F64, pos); pos += 8; return v; }

    private String string() {
        long len = u64();
        need(len);
        if (len > Integer.MAX_VALUE - 8) throw bad("truncated or corrupt header (" + reading + ": string of " + len + " bytes)");
        if (len > 1 << 20) ModelLimits.requireHeap(path, 3 * len, reading);
        byte[] b = data.asSlice(pos, len).toArray(ValueLayout.JAVA_BYTE);
        pos += len;
        return new String(b, StandardCharsets.UTF_8);
    }

    private Object value(int type, int depth) {
        return switch (type) {
            case 0 -> u8() & 0xff;
            case 1 -> (int) u8();
            case 2 -> u16() & 0xffff;
            case 3 -> (int) u16();
            case 4 -> Integer.toUnsignedLong(u32());
            case 5 -> u32();
            case 6 -> f32();
            case 7 -> u8() != 0;
            case 8 -> string();
            case 9 -> array(depth + 1);
            case 10, 11 -> u64();
            case 12 -> f64();
            default -> throw bad(reading + " has unknown value type " + type);
        };
    }

    /** Bytes one stored value of a metadata type takes at least (an array: its type and count). */
    private int minBytes(int type) {
        return switch (type) {
            case 0, 1, 7 -> 1;
            case 2, 3 -> 2;
            case 4, 5, 6 -> 4;
            case 8, 10, 11, 12 -> 8;
            case 9 -> 12;
            default -> throw bad(reading + " is an array of unknown value type " + type);
        };
    }

    /** Arrays become typed Java arrays: String[], float[], int[], long[], double[], boolean[] or Object[]. */
    private Object array(int depth) {
        if (depth > ModelLimits.MAX_ARRAY_DEPTH)
            throw bad(reading + " nests arrays deeper than " + ModelLimits.MAX_ARRAY_DEPTH + " levels");
        int et = u32();
        long n = u64();
        // The count must fit in the bytes left, at the element type's smallest size, before any allocation.
        if (n < 0 || n > (data.byteSize() - pos) / minBytes(et) || n > Integer.MAX_VALUE - 8)
            throw bad("truncated or corrupt header (" + reading + ": array of " + Long.toUnsignedString(n)
                    + " values at offset " + pos + ", the file has " + data.byteSize() + " bytes)");
        int len = (int) n;
        ModelLimits.requireHeap(path, n * switch (et) { case 8 -> 64; case 9 -> 32; case 10, 11, 12 -> 8; default -> 4; }, reading);
        switch (et) {
            case 8 -> { String[] a = new String[len]; for (int i = 0; i < len; i++) a[i] = string(); return a; }
            case 6 -> { float[] a = new float[len]; for (int i = 0; i < len; i++) a[i] = f32(); return a; }
            case 0, 1, 2, 3, 5 -> { int[] a = new int[len]; for (int i = 0; i < len; i++) a[i] = ((Number) value(et, depth)).intValue(); return a; }
            case 4, 10, 11 -> { long[] a = new long[len]; for (int i = 0; i < len; i++) a[i] = ((Number) value(et, depth)).longValue(); return a; }
            case 12 -> { double[] a = new double[len]; for (int i = 0; i < len; i++) a[i] = f64(); return a; }
            case 7 -> { boolean[] a = new boolean[len]; for (int i = 0; i < len; i++) a[i] = u8() != 0; return a; }
            default -> { Object[] a = new Object[len]; for (int i = 0; i < len; i++) a[i] = value(et, depth); return a; }
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
