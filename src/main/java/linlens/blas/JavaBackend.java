package linlens.blas;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.function.IntToDoubleFunction;

/**
 * The reference backend: GEMM as plain loops, the SVD as a one-sided (Hestenes) Jacobi
 * iteration. It is slow (no blocking, no SIMD) and meant as a cross-check of the native path
 * ({@code -Dlinlens.gemm=java}) and as the template for a new backend.
 *
 * <p>Every sum is accumulated in double, also for fp32 inputs, so its results are at least as
 * accurate as the native ones. {@link #setThreads} splits the rows of C between threads; each
 * element is still one sequential sum, so results do not depend on the thread count.
 */
public final class JavaBackend implements GemmBackend {
    public static final String NAME = "java";

    /** GEMMs below this many multiply-adds run on the calling thread: a split would cost more. */
    private static final long PARALLEL_WORK = 1L << 18;
    private static final int MAX_SWEEPS = 100;

    private volatile int threads = 1;
    private volatile ForkJoinPool pool;

    public String name() { return NAME; }

    public int threads() { return threads; }

    /** Call before computing, not during: the previous pool is shut down. */
    public synchronized void setThreads(int n) {
        int t = Math.max(1, n);
        if (t == threads) return;
        ForkJoinPool old = pool;
        pool = t > 1 ? new ForkJoinPool(t) : null;
        threads = t;
        if (old != null) old.shutdown();
    }

    private interface RowRange { void run(int i0, int i1); }

    /** Runs body over rows [0, m), in up to {@link #threads} parts. */
    private void forRows(int m, long work, RowRange body) {
        ForkJoinPool p = pool;
        int parts = Math.min(threads, m);
        if (p == null || parts < 2 || work < PARALLEL_WORK) { body.run(0, m); return; }
        List<ForkJoinTask<?>> tasks = new ArrayList<>(parts);
        for (int t = 0; t < parts; t++) {
            int i0 = (int) ((long) m * t / parts), i1 = (int) ((long) m * (t + 1) / parts);
            tasks.add(p.submit(() -> body.run(i0, i1)));
        }
        for (ForkJoinTask<?> t : tasks) t.join();
    }

    public void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                      float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                      float beta, float[] c, int cOff, int ldc) {
        gemm(transA, transB, m, n, k, alpha, i -> a[i], aOff, lda, i -> b[i], bOff, ldb, beta,
                i -> c[i], (i, v) -> c[i] = (float) v, cOff, ldc);
    }

    public void dgemm(boolean transA, boolean transB, int m, int n, int k, double alpha,
                      double[] a, int aOff, int lda, double[] b, int bOff, int ldb,
                      double beta, double[] c, int cOff, int ldc) {
        gemm(transA, transB, m, n, k, alpha, i -> a[i], aOff, lda, i -> b[i], bOff, ldb, beta,
                i -> c[i], (i, v) -> c[i] = v, cOff, ldc);
    }

    /** Where a result goes: the element type's rounding happens in the store. */
    private interface Store { void set(int index, double value); }

    /** C = alpha·op(A)·op(B) + beta·C over any element type, summed in double (C is not read when beta is 0). */
    private void gemm(boolean transA, boolean transB, int m, int n, int k, double alpha,
                      IntToDoubleFunction a, int aOff, int lda, IntToDoubleFunction b, int bOff, int ldb,
                      double beta, IntToDoubleFunction cIn, Store cOut, int cOff, int ldc) {
        forRows(m, (long) m * n * k, (i0, i1) -> {
            double[] acc = new double[n];
            for (int i = i0; i < i1; i++) {
                Arrays.fill(acc, 0);
                for (int p = 0; p < k; p++) {
                    double aip = a.applyAsDouble(transA ? aOff + p * lda + i : aOff + i * lda + p);
                    if (transB) for (int j = 0; j < n; j++) acc[j] += aip * b.applyAsDouble(bOff + j * ldb + p);
                    else for (int j = 0, o = bOff + p * ldb; j < n; j++) acc[j] += aip * b.applyAsDouble(o + j);
                }
                int o = cOff + i * ldc;
                for (int j = 0; j < n; j++)
                    cOut.set(o + j, beta == 0 ? alpha * acc[j] : alpha * acc[j] + beta * cIn.applyAsDouble(o + j));
            }
        });
    }

    /** Through {@link #dgesdd}: computed in double, rounded once. */
    public void sgesdd(int m, int n, float[] a, float[] s, float[] u, float[] vt) {
        int r = Math.min(m, n);
        double[] ad = new double[m * n], sd = new double[r], ud = new double[m * r], vd = new double[r * n];
        for (int i = 0; i < ad.length; i++) ad[i] = a[i];
        dgesdd(m, n, ad, sd, ud, vd);
        for (int i = 0; i < r; i++) s[i] = (float) sd[i];
        for (int i = 0; i < ud.length; i++) u[i] = (float) ud[i];
        for (int i = 0; i < vd.length; i++) vt[i] = (float) vd[i];
    }

    /**
     * One-sided Jacobi: rotate pairs of columns of A until all are orthogonal; then A·V = U·Σ with
     * the column norms as Σ. A wide matrix (m &lt; n) is done as its transpose. A is left intact.
     */
    public void dgesdd(int m, int n, double[] a, double[] s, double[] u, double[] vt) {
        int r = Math.min(m, n);
        if (r == 0) return;
        boolean wide = m < n;
        int len = wide ? n : m;                       // length of the columns being rotated
        double[][] w = new double[r][len], v = new double[r][r];
        for (int j = 0; j < r; j++) {
            for (int i = 0; i < len; i++) w[j][i] = wide ? a[j * n + i] : a[i * n + j];
            v[j][j] = 1;
        }
        orthogonalizeColumns(w, v, Math.sqrt(len) * Math.ulp(1.0));

        Integer[] order = new Integer[r];
        double[] norm = new double[r];
        for (int j = 0; j < r; j++) { order[j] = j; norm[j] = Math.sqrt(dot(w[j], w[j])); }
        Arrays.sort(order, (x, y) -> Double.compare(norm[y], norm[x]));
        double[][] left = new double[r][];            // unit columns of W in order: U, or V of a wide A
        for (int jj = 0; jj < r; jj++) {
            int j = order[jj];
            s[jj] = norm[j];
            left[jj] = norm[j] > 0 ? scaled(w[j], 1 / norm[j]) : completion(left, jj, len);
        }
        for (int jj = 0; jj < r; jj++) {
            double[] right = v[order[jj]];
            for (int i = 0; i < m; i++) u[i * r + jj] = wide ? right[i] : left[jj][i];
            for (int i = 0; i < n; i++) vt[jj * n + i] = wide ? left[jj][i] : right[i];
        }
    }

    /** Sweeps of plane rotations over every column pair of w (mirrored on v) until none is needed. */
    private static void orthogonalizeColumns(double[][] w, double[][] v, double tol) {
        int r = w.length;
        for (int sweep = 0; sweep < MAX_SWEEPS; sweep++) {
            boolean rotated = false;
            for (int p = 0; p < r - 1; p++)
                for (int q = p + 1; q < r; q++) {
                    double alpha = dot(w[p], w[p]), beta = dot(w[q], w[q]), gamma = dot(w[p], w[q]);
                    if (Math.abs(gamma) <= tol * Math.sqrt(alpha) * Math.sqrt(beta)) continue;
                    // the rotation that zeroes the pair's inner product, the smaller of the two angles
                    double zeta = (beta - alpha) / (2 * gamma);
                    double t = (zeta >= 0 ? 1 : -1) / (Math.abs(zeta) + Math.hypot(1, zeta));
                    double c = 1 / Math.sqrt(1 + t * t), sn = c * t;
                    rotate(w[p], w[q], c, sn);
                    rotate(v[p], v[q], c, sn);
                    rotated = true;
                }
            if (!rotated) return;
        }
        throw new ArithmeticException("Jacobi SVD did not converge in " + MAX_SWEEPS + " sweeps");
    }

    private static void rotate(double[] x, double[] y, double c, double s) {
        for (int i = 0; i < x.length; i++) {
            double xi = x[i], yi = y[i];
            x[i] = c * xi - s * yi;
            y[i] = s * xi + c * yi;
        }
    }

    private static double dot(double[] x, double[] y) {
        double sum = 0;
        for (int i = 0; i < x.length; i++) sum += x[i] * y[i];
        return sum;
    }

    private static double[] scaled(double[] x, double f) {
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) y[i] = x[i] * f;
        return y;
    }

    /**
     * A unit vector orthogonal to left[0..count): for an exactly zero singular value, whose
     * column of U is any such vector. A unit vector e_i projected off the others (twice, for
     * rounding) works for some i because count &lt; len.
     */
    private static double[] completion(double[][] left, int count, int len) {
        for (int e = 0; e < len; e++) {
            double[] x = new double[len];
            x[e] = 1;
            for (int pass = 0; pass < 2; pass++)
                for (int j = 0; j < count; j++) {
                    double d = dot(left[j], x);
                    for (int i = 0; i < len; i++) x[i] -= d * left[j][i];
                }
            double nx = Math.sqrt(dot(x, x));
            if (nx > 0.5) return scaled(x, 1 / nx);
        }
        throw new IllegalStateException("no orthogonal completion: more columns than their length");
    }
}
