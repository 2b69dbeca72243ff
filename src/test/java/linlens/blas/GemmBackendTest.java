package linlens.blas;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The plain-Java backend against OpenBLAS: GEMMs of awkward shapes (sizes 1, primes, sizes past
 * OpenBLAS's kernel blocks), offsets, padded leading dimensions, every transposition, with and
 * without accumulation; and the Jacobi SVD against LAPACK's. Tolerances as max |diff| / max |C|:
 * fp64 1e-12 (sums in a different order), fp32 1e-5 (OpenBLAS sums in fp32, Java in fp64).
 */
class GemmBackendTest {
    static final GemmBackend NATIVE = new OpenBlasBackend(), JAVA = new JavaBackend();
    static final int[][] SHAPES = {{1, 1, 1}, {1, 7, 1}, {7, 1, 3}, {1, 1, 300}, {13, 17, 1}, {33, 65, 129},
            {64, 64, 64}, {5, 300, 2}, {257, 3, 31}, {3, 257, 17}, {100, 1, 100}};
    static final int A_OFF = 5, B_OFF = 3, C_OFF = 4, PAD = 3;

    record Case(boolean ta, boolean tb, int m, int n, int k, int lda, int ldb, int ldc, boolean acc, double alpha) {
        int aLen() { return A_OFF + (ta ? k : m) * lda; }
        int bLen() { return B_OFF + (tb ? n : k) * ldb; }
        int cLen() { return C_OFF + m * ldc; }
        @Override public String toString() {
            return (ta ? "T" : "N") + (tb ? "T" : "N") + " m=" + m + " n=" + n + " k=" + k + " lda=" + lda
                    + " ldb=" + ldb + " ldc=" + ldc + (acc ? " accumulate" : "") + " alpha=" + alpha;
        }
    }

    interface CaseCheck { void check(Case c, Random rnd); }

    static void forEveryCase(CaseCheck check) {
        Random rnd = new Random(12);
        int count = 0;
        for (int[] s : SHAPES)
            for (int t = 0; t < 4; t++)
                for (boolean acc : new boolean[]{false, true}) {
                    boolean ta = (t & 1) != 0, tb = (t & 2) != 0;
                    int m = s[0], n = s[1], k = s[2];
                    int lda = (ta ? m : k) + PAD, ldb = (tb ? k : n) + PAD, ldc = n + PAD;
                    double alpha = acc ? -0.75 : 1;
                    check.check(new Case(ta, tb, m, n, k, lda, ldb, ldc, acc, alpha), rnd);
                    count++;
                }
        assertEquals(SHAPES.length * 8, count);
    }

    static double[] random(Random rnd, int n) {
        double[] a = new double[n];
        for (int i = 0; i < n; i++) a[i] = rnd.nextDouble() - 0.5;
        return a;
    }

    static double relDiff(double[] ours, double[] ref) {
        double max = 0, scale = 0;
        for (int i = 0; i < ref.length; i++) {
            max = Math.max(max, Math.abs(ours[i] - ref[i]));
            scale = Math.max(scale, Math.abs(ref[i]));
        }
        return max / scale;
    }

    static double[] run64(GemmBackend be, Case c, double[] a, double[] b, double[] c0) {
        double[] out = c0.clone();
        be.dgemm(c.ta, c.tb, c.m, c.n, c.k, c.alpha, a, A_OFF, c.lda, b, B_OFF, c.ldb, c.acc ? 1 : 0, out, C_OFF, c.ldc);
        return out;
    }

    static float[] run32(GemmBackend be, Case c, float[] a, float[] b, float[] c0) {
        float[] out = c0.clone();
        be.sgemm(c.ta, c.tb, c.m, c.n, c.k, (float) c.alpha, a, A_OFF, c.lda, b, B_OFF, c.ldb, c.acc ? 1f : 0f, out, C_OFF, c.ldc);
        return out;
    }

    static float[] toFloats(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
        return f;
    }

    static double[] toDoubles(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) d[i] = f[i];
        return d;
    }

    /** Entries outside the m×n block of C (offset, row padding) must come back as they went in. */
    static void assertOnlyBlockWritten(Case c, double[] before, double[] after) {
        for (int i = 0; i < before.length; i++) {
            int r = (i - C_OFF) / c.ldc, col = (i - C_OFF) % c.ldc;
            boolean inBlock = i >= C_OFF && r < c.m && col < c.n;
            if (!inBlock) assertEquals(before[i], after[i], c + ": C[" + i + "] outside the block was written");
        }
    }

    @Test
    void dgemmAgreesWithOpenBlas() {
        forEveryCase((c, rnd) -> {
            double[] a = random(rnd, c.aLen()), b = random(rnd, c.bLen()), c0 = random(rnd, c.cLen());
            double[] ref = run64(NATIVE, c, a, b, c0), ours = run64(JAVA, c, a, b, c0);
            double err = relDiff(ours, ref);
            assertTrue(err <= 1e-12, c + ": fp64 relative difference " + err);
            assertOnlyBlockWritten(c, c0, ours);
            assertOnlyBlockWritten(c, c0, ref);
        });
    }

    @Test
    void sgemmAgreesWithOpenBlas() {
        forEveryCase((c, rnd) -> {
            float[] a = toFloats(random(rnd, c.aLen())), b = toFloats(random(rnd, c.bLen())), c0 = toFloats(random(rnd, c.cLen()));
            double[] ref = toDoubles(run32(NATIVE, c, a, b, c0)), ours = toDoubles(run32(JAVA, c, a, b, c0));
            double err = relDiff(ours, ref);
            assertTrue(err <= 1e-5, c + ": fp32 relative difference " + err);
            assertOnlyBlockWritten(c, toDoubles(c0), ours);
        });
    }

    @Test
    void withoutAccumulationCIsNotRead() {
        double[] a = {1, 2}, b = {3, 4}, c = {Double.NaN};
        JAVA.dgemm(false, false, 1, 1, 2, 1, a, 0, 2, b, 0, 1, 0, c, 0, 1);
        assertEquals(11, c[0]);
        float[] cf = {Float.NaN};
        JAVA.sgemm(false, false, 1, 1, 2, 1f, new float[]{1, 2}, 0, 2, new float[]{3, 4}, 0, 1, 0f, cf, 0, 1);
        assertEquals(11f, cf[0]);
    }

    @Test
    void javaResultsDoNotDependOnItsThreadCount() {
        JavaBackend many = new JavaBackend();
        many.setThreads(4);
        assertEquals(4, many.threads());
        Random rnd = new Random(3);
        int m = 97, n = 83, k = 71;
        double[] a = random(rnd, m * k), b = random(rnd, k * n), one = new double[m * n], four = new double[m * n];
        JAVA.dgemm(false, true, m, n, k, 1, a, 0, k, b, 0, k, 0, one, 0, n);
        many.dgemm(false, true, m, n, k, 1, a, 0, k, b, 0, k, 0, four, 0, n);
        assertArrayEquals(one, four);
        many.setThreads(1);
    }

    // ---- SVD ----

    static final int[][] SVD_SHAPES = {{6, 4}, {4, 6}, {5, 5}, {1, 7}, {7, 1}, {1, 1}, {30, 12}, {12, 30}};

    @Test
    void jacobiSvdMatchesLapack() {
        Random rnd = new Random(4);
        for (int[] s : SVD_SHAPES) checkSvd(s[0], s[1], random(rnd, s[0] * s[1]), "random " + s[0] + "x" + s[1]);
        // rank 2 of 8×5 (exactly zero singular values need U's columns completed), and all zero
        double[] x = random(rnd, 8 * 2), y = random(rnd, 2 * 5), low = new double[8 * 5];
        NATIVE.dgemm(false, false, 8, 5, 2, 1, x, 0, 2, y, 0, 5, 0, low, 0, 5);
        checkSvd(8, 5, low, "rank 2");
        checkSvd(5, 8, transpose(low, 8, 5), "rank 2, wide");
        checkSvd(3, 4, new double[12], "zero");
    }

    static double[] transpose(double[] a, int m, int n) {
        double[] t = new double[a.length];
        for (int i = 0; i < m; i++) for (int j = 0; j < n; j++) t[j * m + i] = a[i * n + j];
        return t;
    }

    static void checkSvd(int m, int n, double[] a, String what) {
        int r = Math.min(m, n);
        double[] s = new double[r], u = new double[m * r], vt = new double[r * n];
        double[] sRef = new double[r], uRef = new double[m * r], vtRef = new double[r * n];
        JAVA.dgesdd(m, n, a.clone(), s, u, vt);
        NATIVE.dgesdd(m, n, a.clone(), sRef, uRef, vtRef);
        double scale = Math.max(sRef[0], Double.MIN_NORMAL);
        for (int i = 0; i < r; i++) {
            assertTrue(s[i] >= 0 && (i == 0 || s[i] <= s[i - 1]), what + ": singular values not descending");
            assertEquals(sRef[i], s[i], 1e-12 * scale, what + ": singular value " + i);
        }
        double[] rec = new double[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
                for (int q = 0; q < r; q++) rec[i * n + j] += u[i * r + q] * s[q] * vt[q * n + j];
        for (int i = 0; i < a.length; i++) assertEquals(a[i], rec[i], 1e-12 * scale, what + ": reconstruction");
        for (int p = 0; p < r; p++)
            for (int q = 0; q < r; q++) {
                double uu = 0, vv = 0;
                for (int i = 0; i < m; i++) uu += u[i * r + p] * u[i * r + q];
                for (int j = 0; j < n; j++) vv += vt[p * n + j] * vt[q * n + j];
                assertEquals(p == q ? 1 : 0, uu, 1e-12, what + ": UᵀU(" + p + "," + q + ")");
                assertEquals(p == q ? 1 : 0, vv, 1e-12, what + ": VᵀV(" + p + "," + q + ")");
            }
    }

    @Test
    void sgesddAgreesWithLapack() {
        Random rnd = new Random(5);
        int m = 9, n = 6;
        float[] a = toFloats(random(rnd, m * n));
        float[] s = new float[n], u = new float[m * n], vt = new float[n * n];
        float[] sRef = new float[n], uRef = new float[m * n], vtRef = new float[n * n];
        JAVA.sgesdd(m, n, a.clone(), s, u, vt);
        NATIVE.sgesdd(m, n, a.clone(), sRef, uRef, vtRef);
        for (int i = 0; i < n; i++) assertEquals(sRef[i], s[i], 1e-5 * sRef[0], "singular value " + i);
    }

    // ---- the facade ----

    @Test
    void facadeDelegatesAndCountsOnEitherBackend() {
        for (String name : BlasBackends.NAMES) {
            BlasBackends.with(name, () -> {
                assertEquals(name, Blas.backend().name());
                long f0 = Blas.gemmFlops();
                double[] c = new double[6];
                Blas.dgemm(false, false, 2, 3, 4, 1, new double[8], 0, 4, new double[12], 0, 3, 0, c, 0, 3);
                assertEquals(2L * 2 * 3 * 4, Blas.gemmFlops() - f0);
                Blas.dgemm(false, false, 0, 3, 4, 1, new double[0], 0, 4, new double[12], 0, 3, 0, c, 0, 3);
                assertEquals(2L * 2 * 3 * 4, Blas.gemmFlops() - f0, "an empty product is not counted");
                return null;
            });
        }
        assertEquals(OpenBlasBackend.NAME, Blas.backend().name(), "the default comes back");
    }

    @Test
    void unknownBackendIsRefusedInOneLine() {
        var e = assertThrows(IllegalArgumentException.class, () -> Blas.named("cuda"));
        assertEquals("unknown GEMM backend 'cuda' in -Dlinlens.gemm (known: openblas, java)", e.getMessage());
    }
}
