package linlens.format;

import java.lang.foreign.MemorySegment;

/**
 * A weight matrix kept in its stored form (quantized, bf16, f32...), readable by rows.
 * Rows are output features and columns input features, as in GGUF and safetensors.
 */
public interface StoredMatrix {
    String name();
    int rows();
    int cols();
    /** Decodes rows {@code [row0, row0+count)} into {@code dst} as floats, row-major. */
    void rowsToFloat(int row0, int count, float[] dst, int dstOff);

    /**
     * The bytes of the file mapping this matrix reads, or null when it is not read from a mapped
     * file: what {@code model.WeightStream} pages in ahead of use and out behind it.
     */
    default MemorySegment mappedBytes() { return null; }
}
