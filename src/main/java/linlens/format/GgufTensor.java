package linlens.format;

import java.lang.foreign.MemorySegment;

/**
 * One tensor of a GGUF file, still in its stored (possibly quantized) form.
 * {@code dims[0]} is the contiguous dimension (a row); all other dimensions count rows.
 *
 * @param offset absolute byte offset of the data in {@code data}
 */
public record GgufTensor(String name, long[] dims, GgmlType type, MemorySegment data, long offset, long byteSize)
        implements StoredMatrix {

    /** Values per row (the contiguous dimension). */
    @Override
    public int cols() { return Math.toIntExact(dims[0]); }

    /** Number of rows: the product of all dimensions but the first. */
    @Override
    public int rows() {
        long r = 1;
        for (int i = 1; i < dims.length; i++) r *= dims[i];
        return Math.toIntExact(r);
    }

    public long elements() {
        long n = 1;
        for (long d : dims) n *= d;
        return n;
    }

    /** Bytes of one stored row. */
    public long rowBytes() { return type.bytesFor(dims[0]); }

    /** Dequantizes rows {@code [row0, row0+count)} into {@code dst} (row-major, {@link #cols()} per row). */
    @Override
    public void rowsToFloat(int row0, int count, float[] dst, int dstOff) {
        long rb = rowBytes();
        Dequant.toFloat(type, data, offset + row0 * rb, dst, dstOff, count * cols());
    }

    public String shape() {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < dims.length; i++) sb.append(i == 0 ? "" : ", ").append(dims[i]);
        return sb.append(']').toString();
    }

    @Override
    public MemorySegment mappedBytes() { return data.isMapped() ? data.asSlice(offset, byteSize) : null; }
}
