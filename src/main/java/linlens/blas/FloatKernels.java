package linlens.blas;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The fp32 streaming loops of {@link Arith.Single} on the Vector API (16 lanes with AVX-512).
 * C2 does not vectorize the plain loops: with two float[] at unrelated offsets it cannot rule out
 * that they overlap, and the scalar loops run 3-4 times slower. Loaded only when the
 * {@code jdk.incubator.vector} module is present ({@link #AVAILABLE}); otherwise Arith keeps the
 * scalar loops, which give the same results (the lanes do the same single multiply or add per value).
 */
final class FloatKernels {
    private FloatKernels() {}

    /** Whether the JVM was started with {@code --add-modules jdk.incubator.vector}. */
    static final boolean AVAILABLE = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    /** dst[b+j] = src[a+j]·s[c+j] for j < n. */
    static void mulInto(float[] src, int a, float[] s, int c, float[] dst, int b, int n) {
        int j = 0;
        for (int end = S.loopBound(n); j < end; j += S.length())
            FloatVector.fromArray(S, src, a + j).mul(FloatVector.fromArray(S, s, c + j)).intoArray(dst, b + j);
        for (; j < n; j++) dst[b + j] = src[a + j] * s[c + j];
    }

    /** dst[b+j] = src[a+j]·r·s[c+j] for j < n (r applied first). */
    static void mulScalarInto(float[] src, int a, float r, float[] s, int c, float[] dst, int b, int n) {
        int j = 0;
        for (int end = S.loopBound(n); j < end; j += S.length())
            FloatVector.fromArray(S, src, a + j).mul(r).mul(FloatVector.fromArray(S, s, c + j)).intoArray(dst, b + j);
        for (; j < n; j++) dst[b + j] = src[a + j] * r * s[c + j];
    }

    /** dst[b+j] += src[a+j]·s[c+j] for j < n (the product rounded, then the sum: no fused multiply-add). */
    static void addMul(float[] dst, int b, float[] src, int a, float[] s, int c, int n) {
        int j = 0;
        for (int end = S.loopBound(n); j < end; j += S.length()) {
            FloatVector p = FloatVector.fromArray(S, src, a + j).mul(FloatVector.fromArray(S, s, c + j));
            FloatVector.fromArray(S, dst, b + j).add(p).intoArray(dst, b + j);
        }
        for (; j < n; j++) dst[b + j] += src[a + j] * s[c + j];
    }

    /** dst[b+j] += f·src[a+j] for j < n. */
    static void axpy(float f, float[] src, int a, float[] dst, int b, int n) {
        int j = 0;
        for (int end = S.loopBound(n); j < end; j += S.length())
            FloatVector.fromArray(S, dst, b + j).add(FloatVector.fromArray(S, src, a + j).mul(f)).intoArray(dst, b + j);
        for (; j < n; j++) dst[b + j] += f * src[a + j];
    }

    /** dst[b+j] += src[a+j] for j < n. */
    static void add(float[] dst, int b, float[] src, int a, int n) {
        int j = 0;
        for (int end = S.loopBound(n); j < end; j += S.length())
            FloatVector.fromArray(S, dst, b + j).lanewise(VectorOperators.ADD, FloatVector.fromArray(S, src, a + j)).intoArray(dst, b + j);
        for (; j < n; j++) dst[b + j] += src[a + j];
    }
}
