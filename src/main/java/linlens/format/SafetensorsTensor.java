package linlens.format;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * One tensor of a safetensors file, still in its stored form (F32, F16, BF16 or F64, little
 * endian) and pointing into the file's mapping. As a {@link StoredMatrix} its rows are the first
 * dimension (PyTorch's output features) and its columns all the others.
 *
 * @param offset absolute byte offset of the data in {@code data}
 */
public record SafetensorsTensor(String name, Path file, long[] shape, GgmlType type, MemorySegment data,
                                long offset, long byteSize) implements StoredMatrix {

    @Override
    public int rows() { return shape.length == 0 ? 1 : Math.toIntExact(shape[0]); }

    @Override
    public int cols() {
        long c = 1;
        for (int i = 1; i < shape.length; i++) c *= shape[i];
        return Math.toIntExact(shape.length == 0 ? 1 : c);
    }

    public long elements() {
        long n = 1;
        for (long d : shape) n *= d;
        return n;
    }

    @Override
    public void rowsToFloat(int row0, int count, float[] dst, int dstOff) {
        long rowBytes = type.bytesFor(cols());
        Dequant.toFloat(type, data, offset + row0 * rowBytes, dst, dstOff, count * cols());
    }

    /** All values as doubles (for small tensors such as norm weights and biases). */
    public double[] toDoubles() {
        int n = Math.toIntExact(elements());
        float[] f = new float[n];
        Dequant.toFloat(type, data, offset, f, 0, n);
        double[] d = new double[n];
        for (int i = 0; i < n; i++) d[i] = f[i];
        return d;
    }

    public String shapeText() { return Arrays.toString(shape); }

    @Override
    public MemorySegment mappedBytes() { return data.isMapped() ? data.asSlice(offset, byteSize) : null; }
}
