package linlens.format;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Objects;

/**
 * Dequantization of GGML storage types to float, value for value identical to llama.cpp's
 * {@code dequantize_row_*} (ggml-quants.c). Those compute in float32 with the operations in a fixed
 * order (e.g. Q4_K: {@code d1 = d*sc; m1 = dmin*m; y = d1*q - m1}); Java float arithmetic is IEEE
 * and never fused, so doing the same operations in the same order gives the same bits. (In every
 * format the products of an f16 scale and small integers are exact in float32, so only the final
 * add rounds: a C build that fuses it into an FMA still gives these bits. Where the order does show is
 * the sign of zero: {@code (d*sc)*0} is -0 for a negative scale, as in C, so the order is kept.)
 *
 * <p>Speed: quantized data is bulk-copied a chunk of blocks at a time into a byte[]. Each block's
 * packed quants are first unpacked, 8 at a time in a long (SWAR), into a byte[] holding the final
 * integer of every value (signed where the format subtracts an offset); the float loop is then just
 * {@code y = scale*q [+/- offset]} over a plain byte array, the shape C2 vectorizes. Per-value bit
 * fiddling in the float loop (masks, shifts by the index) keeps it scalar, 2-3 times slower.
 * Block layouts are those of ggml-common.h; all multi-byte fields are little endian.
 */
public final class Dequant {
    private Dequant() {}

    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64_LE = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt I32_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private static final VarHandle LONG_LE = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    /** Masks selecting, in each byte of a long, the low 1, 2 or 4 bits. */
    private static final long ONES = 0x0101_0101_0101_0101L, TWOS = 0x0303_0303_0303_0303L, NIBBLES = 0x0F0F_0F0F_0F0F_0F0FL;
    /** FIFTH[k] has 0x10 in byte i where bit i of k is set: 8 packed 5th bits spread over 8 bytes. */
    private static final long[] FIFTH = new long[256];

    static {
        for (int k = 0; k < 256; k++)
            for (int i = 0; i < 8; i++) if ((k >> i & 1) != 0) FIFTH[k] |= 0x10L << (8 * i);
    }

    /** Bytes copied out of the segment at a time: small enough for L1, large enough to amortize the call. */
    private static final int CHUNK_BYTES = 16 * 1024;

    /** Whether {@link #toFloat} can decode this type. */
    public static boolean supports(GgmlType type) {
        return switch (type) {
            case F32, F16, BF16, F64, I8, I16, I32,
                 Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K -> true;
            default -> false;
        };
    }

    /**
     * Dequantizes {@code n} consecutive values (a multiple of the type's block size) stored from byte
     * {@code offset} of {@code seg} into {@code dst[dstOff..dstOff+n)}.
     *
     * @throws ModelFormatException for a type that has no decoder here
     */
    public static void toFloat(GgmlType type, MemorySegment seg, long offset, float[] dst, int dstOff, int n) {
        if (!supports(type)) throw new ModelFormatException("tensor type " + type + " is not supported");
        if (n < 0 || n % type.blockSize != 0)
            throw new IllegalArgumentException(n + " values is not a whole number of " + type + " blocks");
        Objects.checkFromIndexSize(dstOff, n, dst.length);
        switch (type) {
            case F32 -> MemorySegment.copy(seg, F32_LE, offset, dst, dstOff, n);
            case F16 -> f16(seg, offset, dst, dstOff, n);
            case BF16 -> bf16(seg, offset, dst, dstOff, n);
            case F64 -> f64(seg, offset, dst, dstOff, n);
            case I8 -> i8(seg, offset, dst, dstOff, n);
            case I16 -> i16(seg, offset, dst, dstOff, n);
            case I32 -> i32(seg, offset, dst, dstOff, n);
            default -> blocks(type, seg, offset, dst, dstOff, n / type.blockSize);
        }
    }

    // One method per type, so that each hot loop is compiled with its own profile.

    private static void f16(MemorySegment seg, long offset, float[] dst, int dstOff, int n) {
        short[] buf = new short[Math.min(n, CHUNK_BYTES / 2)];
        for (int i0 = 0; i0 < n; i0 += buf.length) {
            int cnt = Math.min(buf.length, n - i0), o = dstOff + i0;
            MemorySegment.copy(seg, I16_LE, offset + 2L * i0, buf, 0, cnt);
            for (int i = 0; i < cnt; i++) dst[o + i] = Float.float16ToFloat(buf[i]);
        }
    }

    /** bfloat16 is the top half of a float32. */
    private static void bf16(MemorySegment seg, long offset, float[] dst, int dstOff, int n) {
        short[] buf = new short[Math.min(n, CHUNK_BYTES / 2)];
        for (int i0 = 0; i0 < n; i0 += buf.length) {
            int cnt = Math.min(buf.length, n - i0), o = dstOff + i0;
            MemorySegment.copy(seg, I16_LE, offset + 2L * i0, buf, 0, cnt);
            for (int i = 0; i < cnt; i++) dst[o + i] = Float.intBitsToFloat(buf[i] << 16);
        }
    }

    private static void f64(MemorySegment seg, long offset, float[] dst, int dstOff, int n) {
        double[] buf = new double[Math.min(n, CHUNK_BYTES / 8)];
        for (int i0 = 0; i0 < n; i0 += buf.length) {
            int cnt = Math.min(buf.length, n - i0), o = dstOff + i0;
            MemorySegment.copy(seg, F64_LE, offset + 8L * i0, buf, 0, cnt);
            for (int i = 0; i < cnt; i++) dst[o + i] = (float) buf[i];
        }
    }

    private static void i8(MemorySegment seg, long offset, float[] dst, int dstOff, int n) {
        byte[] buf = new byte[Math.min(n, CHUNK_BYTES)];
        for (int i0 = 0; i0 < n; i0 += buf.length) {
            int cnt = Math.min(buf.length, n - i0), o = dstOff + i0;
            MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, offset + i0, buf, 0, cnt);
            for (int i = 0; i < cnt; i++) dst[o + i] = buf[i];
        }
    }

    private static void i16(MemorySegment seg, long offset, float[] dst, int dstOff, int n) {
        short[] buf = new short[Math.min(n, CHUNK_BYTES / 2)];
        for (int i0 = 0; i0 < n; i0 += buf.length) {
            int cnt = Math.min(buf.length, n - i0), o = dstOff + i0;
            MemorySegment.copy(seg, I16_LE, offset + 2L * i0, buf, 0, cnt);
            for (int i = 0; i < cnt; i++) dst[o + i] = buf[i];
        }
    }

    /** Rounds to nearest (even) beyond 2^24, as C's and numpy's int-to-float conversions do. */
    private static void i32(MemorySegment seg, long offset, float[] dst, int dstOff, int n) {
        int[] buf = new int[Math.min(n, CHUNK_BYTES / 4)];
        for (int i0 = 0; i0 < n; i0 += buf.length) {
            int cnt = Math.min(buf.length, n - i0), o = dstOff + i0;
            MemorySegment.copy(seg, I32_LE, offset + 4L * i0, buf, 0, cnt);
            for (int i = 0; i < cnt; i++) dst[o + i] = buf[i];
        }
    }

    private static void blocks(GgmlType type, MemorySegment seg, long offset, float[] dst, int dstOff, int nBlocks) {
        int ts = type.typeSize, bs = type.blockSize;
        int per = Math.max(1, Math.min(nBlocks, CHUNK_BYTES / ts));
        byte[] buf = new byte[per * ts], q = new byte[bs];
        for (int b0 = 0; b0 < nBlocks; b0 += per) {
            int nb = Math.min(per, nBlocks - b0);
            MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, offset + (long) b0 * ts, buf, 0, nb * ts);
            int o = dstOff + b0 * bs;
            switch (type) {
                case Q8_0 -> q8_0(buf, nb, dst, o);
                case Q4_0 -> q4_0(buf, nb, q, dst, o);
                case Q4_1 -> q4_1(buf, nb, q, dst, o);
                case Q5_0 -> q5_0(buf, nb, q, dst, o);
                case Q5_1 -> q5_1(buf, nb, q, dst, o);
                case Q2_K -> q2K(buf, nb, q, dst, o);
                case Q3_K -> q3K(buf, nb, q, dst, o);
                case Q4_K -> q4K(buf, nb, q, dst, o);
                case Q5_K -> q5K(buf, nb, q, dst, o);
                case Q6_K -> q6K(buf, nb, q, dst, o);
                default -> throw new AssertionError(type);
            }
        }
    }

    private static float half(byte[] b, int p) {
        return Float.float16ToFloat((short) ((b[p] & 0xff) | (b[p + 1] << 8)));
    }

    private static long get8(byte[] b, int p) { return (long) LONG_LE.get(b, p); }

    private static void put8(byte[] b, int p, long v) { LONG_LE.set(b, p, v); }

    /**
     * Per byte, u - 2^(bits-1) for unsigned {@code bits}-bit values u, as signed bytes: flipping the top
     * bit gives the low bits of the difference, and where the top bit ends up set the byte is negative,
     * so bits {@code bits..7} are filled (the multiply spreads one bit over them without carries).
     */
    private static long centered(long u, int bits) {
        long top = ONES << (bits - 1), t = u ^ top;
        return t | ((t & top) << 1) * ((1 << (8 - bits)) - 1);
    }

    // ---- 32-value blocks.

    /** Q8_0 (34 bytes): f16 d, int8 q[32]; y = q*d. */
    private static void q8_0(byte[] b, int nb, float[] y, int o) {
        for (int i = 0, p = 0; i < nb; i++, p += 34, o += 32) {
            float d = half(b, p);
            for (int j = 0; j < 32; j++) y[o + j] = b[p + 2 + j] * d;
        }
    }

    // Q4_0/Q4_1/Q5_0/Q5_1: the low nibbles of the 16 bytes of qs are values 0..15, the high nibbles
    // 16..31; bit j of the little-endian u32 qh is bit 4 of value j. Each kernel unpacks on its own:
    // a shared helper gets compiled standalone and then, too big to inline, is called for every block.

    /** Q4_0 (18 bytes): f16 d, qs[16]; y = (q-8)*d. */
    private static void q4_0(byte[] b, int nb, byte[] q, float[] y, int o) {
        for (int i = 0, p = 0; i < nb; i++, p += 18, o += 32) {
            float d = half(b, p);
            long lo = get8(b, p + 2), hi = get8(b, p + 10);
            put8(q, 0, centered(lo & NIBBLES, 4));
            put8(q, 8, centered(hi & NIBBLES, 4));
            put8(q, 16, centered(lo >>> 4 & NIBBLES, 4));
            put8(q, 24, centered(hi >>> 4 & NIBBLES, 4));
            for (int j = 0; j < 32; j++) y[o + j] = q[j] * d;
        }
    }

    /** Q4_1 (20 bytes): f16 d, f16 m, qs[16]; y = q*d + m. */
    private static void q4_1(byte[] b, int nb, byte[] q, float[] y, int o) {
        for (int i = 0, p = 0; i < nb; i++, p += 20, o += 32) {
            float d = half(b, p), m = half(b, p + 2);
            long lo = get8(b, p + 4), hi = get8(b, p + 12);
            put8(q, 0, lo & NIBBLES);
            put8(q, 8, hi & NIBBLES);
            put8(q, 16, lo >>> 4 & NIBBLES);
            put8(q, 24, hi >>> 4 & NIBBLES);
            for (int j = 0; j < 32; j++) y[o + j] = q[j] * d + m;
        }
    }

    /** Q5_0 (22 bytes): f16 d, qh[4], qs[16]; y = (q-16)*d. */
    private static void q5_0(byte[] b, int nb, byte[] q, float[] y, int o) {
        for (int i = 0, p = 0; i < nb; i++, p += 22, o += 32) {
            float d = half(b, p);
            long lo = get8(b, p + 6), hi = get8(b, p + 14);
            put8(q, 0, centered(lo & NIBBLES | FIFTH[b[p + 2] & 0xff], 5));
            put8(q, 8, centered(hi & NIBBLES | FIFTH[b[p + 3] & 0xff], 5));
            put8(q, 16, centered(lo >>> 4 & NIBBLES | FIFTH[b[p + 4] & 0xff], 5));
            put8(q, 24, centered(hi >>> 4 & NIBBLES | FIFTH[b[p + 5] & 0xff], 5));
            for (int j = 0; j < 32; j++) y[o + j] = q[j] * d;
        }
    }

    /** Q5_1 (24 bytes): f16 d, f16 m, qh[4], qs[16]; y = q*d + m. */
    private static void q5_1(byte[] b, int nb, byte[] q, float[] y, int o) {
        for (int i = 0, p = 0; i < nb; i++, p += 24, o += 32) {
            float d = half(b, p), m = half(b, p + 2);
            long lo = get8(b, p + 8), hi = get8(b, p + 16);
            put8(q, 0, lo & NIBBLES | FIFTH[b[p + 4] & 0xff]);
            put8(q, 8, hi & NIBBLES | FIFTH[b[p + 5] & 0xff]);
            put8(q, 16, lo >>> 4 & NIBBLES | FIFTH[b[p + 6] & 0xff]);
            put8(q, 24, hi >>> 4 & NIBBLES | FIFTH[b[p + 7] & 0xff]);
            for (int j = 0; j < 32; j++) y[o + j] = q[j] * d + m;
        }
    }

    // ---- 256-value super-blocks (k-quants). Value v of a block is in sub-block v/16 (v/32 for Q4_K, Q5_K).

    /**
     * Q2_K (84 bytes): scales[16] (low nibble scale, high nibble min), 2-bit qs[64], f16 d, f16 dmin.
     * Value 128n + 32j + l is bits 2j..2j+1 of qs[32n + l]; y = (d*sc)*q - dmin*m.
     */
    private static void q2K(byte[] b, int nb, byte[] q, float[] y, int o) {
        for (int i = 0, p = 0; i < nb; i++, p += 84, o += 256) {
            float d = half(b, p + 80), dmin = half(b, p + 82);
            for (int n = 0; n < 2; n++)
                for (int k = 0; k < 4; k++) {
                    long w = get8(b, p + 16 + 32 * n + 8 * k);
                    int v = 128 * n + 8 * k;
                    put8(q, v, w & TWOS);
                    put8(q, v + 32, w >>> 2 & TWOS);
                    put8(q, v + 64, w >>> 4 & TWOS);
                    put8(q, v + 96, w >>> 6 & TWOS);
                }
            for (int s = 0; s < 16; s++) {
                int sc = b[p + s] & 0xff;
                float dl = d * (sc & 0xF), ml = dmin * (sc >> 4);
                for (int l = 16 * s; l < 16 * s + 16; l++) y[o + l] = dl * q[l] - ml;
            }
        }
    }

    /**
     * Q3_K (110 bytes): hmask[32], 2-bit qs[64], 6-bit scales packed in 12 bytes, f16 d. Value
     * 128n + 32j + l is bits 2j..2j+1 of qs[32n + l] with bit 2 from bit 4n+j of hmask[l], minus 4.
     * Scale s: low nibble of byte s%8 (high nibble for s >= 8), top 2 bits from byte 8 + s%4 at shift
     * 2*(s/4); minus 32. y = (d*(sc-32)) * q.
     */
    private static void q3K(byte[] b, int nb, byte[] q, float[] y, int o) {
        for (int i = 0, p = 0; i < nb; i++, p += 110, o += 256) {
            float d = half(b, p + 108);
            for (int n = 0; n < 2; n++)
                for (int k = 0; k < 4; k++) {
                    long w = get8(b, p + 32 + 32 * n + 8 * k), h = get8(b, p + 8 * k) >>> 4 * n;
                    int v = 128 * n + 8 * k;
                    put8(q, v, centered(w & TWOS | (h & ONES) << 2, 3));
                    put8(q, v + 32, centered(w >>> 2 & TWOS | (h >>> 1 & ONES) << 2, 3));
                    put8(q, v + 64, centered(w >>> 4 & TWOS | (h >>> 2 & ONES) << 2, 3));
                    put8(q, v + 96, centered(w >>> 6 & TWOS | (h >>> 3 & ONES) << 2, 3));
                }
            int scales = p + 96;
            for (int s = 0; s < 16; s++) {
                int lo = b[scales + (s & 7)] >> 4 * (s >> 3) & 0xF, hi = b[scales + 8 + (s & 3)] >> 2 * (s >> 2) & 3;
                float dl = d * ((lo | hi << 4) - 32);
                for (int l = 16 * s; l < 16 * s + 16; l++) y[o + l] = dl * q[l];
            }
        }
    }

    /**
     * Scale (6 bits) of sub-block j of a Q4_K/Q5_K block whose 12 scale bytes start at {@code s}:
     * j<4 in the low 6 bits of byte j; else the low nibble of byte j+4 and the top 2 bits of byte j-4.
     */
    private static int kScale(byte[] b, int s, int j) {
        return j < 4 ? b[s + j] & 63 : (b[s + j + 4] & 0xF) | (b[s + j - 4] >> 6 & 3) << 4;
    }

    /** Min (6 bits) of sub-block j: j<4 in byte j+4; else the high nibble of byte j+4 and the top 2 bits of byte j. */
    private static int kMin(byte[] b, int s, int j) {
        return j < 4 ? b[s + j + 4] & 63 : (b[s + j + 4] >> 4 & 0xF) | (b[s + j] >> 6 & 3) << 4;
    }

    /**
     * Q4_K (144 bytes): f16 d, f16 dmin, scales[12], nibbles qs[128]. Values 64c + l and 64c + 32 + l are
     * the low and high nibbles of qs[32c + l]. y = (d*sc)*q - dmin*m.
     */
    private static void q4K(byte[] b, int nb, byte[] q, float[] y, int o) {
        for (int i = 0, p = 0; i < nb; i++, p += 144, o += 256) {
            float d = half(b, p), dmin = half(b, p + 2);
            for (int c = 0; c < 4; c++)
                for (int k = 0; k < 4; k++) {
                    long w = get8(b, p + 16 + 32 * c + 8 * k);
                    put8(q, 64 * c + 8 * k, w & NIBBLES);
                    put8(q, 64 * c + 32 + 8 * k, w >>> 4 & NIBBLES);
                }
            subBlocks32(b, p + 4, d, dmin, q, y, o);
        }
    }

    /**
     * Q5_K (176 bytes): f16 d, f16 dmin, scales[12], qh[32], nibbles qs[128]. As Q4_K, with bit 4 of value
     * 32s + l being bit s of qh[l]. y = (d*sc)*q - dmin*m.
     */
    private static void q5K(byte[] b, int nb, byte[] q, float[] y, int o) {
        for (int i = 0, p = 0; i < nb; i++, p += 176, o += 256) {
            float d = half(b, p), dmin = half(b, p + 2);
            for (int c = 0; c < 4; c++)
                for (int k = 0; k < 4; k++) {
                    long w = get8(b, p + 48 + 32 * c + 8 * k), h = get8(b, p + 16 + 8 * k);
                    put8(q, 64 * c + 8 * k, w & NIBBLES | (h >>> 2 * c & ONES) << 4);
                    put8(q, 64 * c + 32 + 8 * k, w >>> 4 & NIBBLES | (h >>> 2 * c + 1 & ONES) << 4);
                }
            subBlocks32(b, p + 4, d, dmin, q, y, o);
        }
    }

    /** y = (d*sc)*q - dmin*m over the 8 sub-blocks of 32 values of a Q4_K/Q5_K block. */
    private static void subBlocks32(byte[] b, int scales, float d, float dmin, byte[] q, float[] y, int o) {
        for (int s = 0; s < 8; s++) {
            float dl = d * kScale(b, scales, s), ml = dmin * kMin(b, scales, s);
            for (int l = 32 * s; l < 32 * s + 32; l++) y[o + l] = dl * q[l] - ml;
        }
    }

    /**
     * Q6_K (210 bytes): ql[128] low nibbles, qh[64] 2-bit highs, int8 scales[16], f16 d. Value
     * 128h + 32k + l takes nibble k/2 of ql[64h + 32*(k%2) + l] and bits 2k..2k+1 of qh[32h + l], minus 32.
     * y = (d*sc) * q.
     */
    private static void q6K(byte[] b, int nb, byte[] q, float[] y, int o) {
        for (int i = 0, p = 0; i < nb; i++, p += 210, o += 256) {
            float d = half(b, p + 208);
            for (int h = 0; h < 2; h++)
                for (int k = 0; k < 4; k++) {
                    long lo = get8(b, p + 64 * h + 8 * k), hi = get8(b, p + 64 * h + 32 + 8 * k);
                    long top = get8(b, p + 128 + 32 * h + 8 * k);
                    int v = 128 * h + 8 * k;
                    put8(q, v, centered(lo & NIBBLES | (top & TWOS) << 4, 6));
                    put8(q, v + 32, centered(hi & NIBBLES | (top >>> 2 & TWOS) << 4, 6));
                    put8(q, v + 64, centered(lo >>> 4 & NIBBLES | (top >>> 4 & TWOS) << 4, 6));
                    put8(q, v + 96, centered(hi >>> 4 & NIBBLES | (top >>> 6 & TWOS) << 4, 6));
                }
            for (int s = 0; s < 16; s++) {
                float ds = d * b[p + 192 + s];
                for (int l = 16 * s; l < 16 * s + 16; l++) y[o + l] = ds * q[l];
            }
        }
    }
}
