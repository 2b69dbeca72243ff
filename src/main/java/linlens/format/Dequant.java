package linlens.format;

import java.lang.foreign.MemorySegment;

/** Dequantization of GGML block formats to float (placeholder signature; kernels land with the dequant work). */
public final class Dequant {
    private Dequant() {}

    /**
     * Dequantizes {@code n} consecutive values (a multiple of the type's block size) stored from byte
     * {@code offset} of {@code seg} into {@code dst[dstOff..dstOff+n)}.
     */
    public static void toFloat(GgmlType type, MemorySegment seg, long offset, float[] dst, int dstOff, int n) {
        throw new ModelFormatException("tensor type " + type + " is not supported");
    }
}
