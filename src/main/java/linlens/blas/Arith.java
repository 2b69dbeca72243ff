package linlens.blas;


import java.util.Arrays;

/**
 * Array arithmetic in one precision: {@code A} is {@code float[]} ({@link #F32}) or
 * {@code double[]} ({@link #F64}). The detached linear system is written once against this,
 * and every heavy operation is a BLAS call; the rest are simple streaming loops.
 */
public abstract sealed class Arith<A> permits Arith.Single, Arith.Double {
    public static final Single F32 = new Single();
    public static final Double F64 = new Double();

    public abstract String name();
    public abstract A alloc(int n);
    public abstract int length(A a);
    public abstract A fromDoubles(double[] v);
    public abstract double get(A a, int i);
    public abstract void set(A a, int i, double v);
    public abstract void zero(A a, int off, int n);
    public abstract void copy(A src, int srcOff, A dst, int dstOff, int n);

    /** C = op(A)·op(B) (+ C when {@code accumulate}); row-major. */
    public abstract void gemm(boolean ta, boolean tb, int m, int n, int k, A a, int ao, int lda,
                              A b, int bo, int ldb, boolean accumulate, A c, int co, int ldc);

    /** x[r·cols + j] *= s[sOff + j] for each of {@code rows} rows starting at {@code xOff}. */
    public abstract void scaleRows(A x, int xOff, int rows, int cols, A s, int sOff);

    /** x[r·cols + j] += b[bOff + j] for each of {@code rows} rows starting at {@code xOff}. */
    public abstract void addRows(A x, int xOff, int rows, int cols, A b, int bOff);

    /** x[xOff + i] *= s[sOff + i]. */
    public abstract void mul(A x, int xOff, A s, int sOff, int n);

    /** dst[dOff + i] += a · src[sOff + i]. */
    public abstract void axpy(double a, A src, int sOff, A dst, int dOff, int n);

    /** dst[dOff + i] += src[sOff + i]. */
    public abstract void add(A dst, int dOff, A src, int sOff, int n);

    /** dst[r·cols + j] = src[r·cols + j] · s[sOff + j] (a copy when s is null), in one pass. */
    public abstract void copyScaleRows(A src, int srcOff, A dst, int dstOff, int rows, int cols, A s, int sOff);

    /**
     * dst[r·cols + j] = src[r·cols + j] · rs[rOff + r] · cs[cOff + j]: a row and a column scaling in
     * one pass (no row scaling when rs is null).
     */
    public abstract void copyScaleRowsCols(A src, int srcOff, A dst, int dstOff, int rows, int cols,
                                           A rs, int rOff, A cs, int cOff);

    /** dst[r·cols + j] += src[r·cols + j] · s[sOff + j] (a plain add when s is null), in one pass. */
    public abstract void addScaledRows(A dst, int dstOff, A src, int srcOff, int rows, int cols, A s, int sOff);

    public static final class Single extends Arith<float[]> {
        public String name() { return "fp32"; }
        public float[] alloc(int n) { return new float[n]; }
        public int length(float[] a) { return a.length; }
        public float[] fromDoubles(double[] v) {
            float[] f = new float[v.length];
            for (int i = 0; i < v.length; i++) f[i] = (float) v[i];
            return f;
        }
        public double get(float[] a, int i) { return a[i]; }
        public void set(float[] a, int i, double v) { a[i] = (float) v; }
        public void zero(float[] a, int off, int n) { Arrays.fill(a, off, off + n, 0f); }
        public void copy(float[] s, int so, float[] d, int dOff, int n) { System.arraycopy(s, so, d, dOff, n); }
        public void gemm(boolean ta, boolean tb, int m, int n, int k, float[] a, int ao, int lda,
                         float[] b, int bo, int ldb, boolean acc, float[] c, int co, int ldc) {
            Blas.sgemm(ta, tb, m, n, k, 1f, a, ao, lda, b, bo, ldb, acc ? 1f : 0f, c, co, ldc);
        }
        public void scaleRows(float[] x, int xOff, int rows, int cols, float[] s, int sOff) {
            for (int r = 0; r < rows; r++) {
                int o = xOff + r * cols;
                for (int j = 0; j < cols; j++) x[o + j] *= s[sOff + j];
            }
        }
        public void addRows(float[] x, int xOff, int rows, int cols, float[] b, int bOff) {
            for (int r = 0; r < rows; r++) {
                int o = xOff + r * cols;
                for (int j = 0; j < cols; j++) x[o + j] += b[bOff + j];
            }
        }
        public void mul(float[] x, int xOff, float[] s, int sOff, int n) {
            for (int i = 0; i < n; i++) x[xOff + i] *= s[sOff + i];
        }
        public void axpy(double a, float[] s, int sOff, float[] d, int dOff, int n) {
            float f = (float) a;
            for (int i = 0; i < n; i++) d[dOff + i] += f * s[sOff + i];
        }
        public void add(float[] d, int dOff, float[] s, int sOff, int n) {
            for (int i = 0; i < n; i++) d[dOff + i] += s[sOff + i];
        }
        public void copyScaleRows(float[] src, int so, float[] dst, int dOff, int rows, int cols, float[] s, int sOff) {
            if (s == null) { System.arraycopy(src, so, dst, dOff, rows * cols); return; }
            for (int r = 0; r < rows; r++) {
                int a = so + r * cols, b = dOff + r * cols;
                for (int j = 0; j < cols; j++) dst[b + j] = src[a + j] * s[sOff + j];
            }
        }
        public void copyScaleRowsCols(float[] src, int so, float[] dst, int dOff, int rows, int cols,
                                      float[] rs, int rOff, float[] cs, int cOff) {
            if (rs == null) { copyScaleRows(src, so, dst, dOff, rows, cols, cs, cOff); return; }
            for (int r = 0; r < rows; r++) {
                int a = so + r * cols, b = dOff + r * cols;
                float f = rs[rOff + r];
                for (int j = 0; j < cols; j++) dst[b + j] = src[a + j] * f * cs[cOff + j];
            }
        }
        public void addScaledRows(float[] dst, int dOff, float[] src, int so, int rows, int cols, float[] s, int sOff) {
            if (s == null) { add(dst, dOff, src, so, rows * cols); return; }
            for (int r = 0; r < rows; r++) {
                int a = so + r * cols, b = dOff + r * cols;
                for (int j = 0; j < cols; j++) dst[b + j] += src[a + j] * s[sOff + j];
            }
        }
    }

    public static final class Double extends Arith<double[]> {
        public String name() { return "fp64"; }
        public double[] alloc(int n) { return new double[n]; }
        public int length(double[] a) { return a.length; }
        public double[] fromDoubles(double[] v) { return v.clone(); }
        public double get(double[] a, int i) { return a[i]; }
        public void set(double[] a, int i, double v) { a[i] = v; }
        public void zero(double[] a, int off, int n) { Arrays.fill(a, off, off + n, 0.0); }
        public void copy(double[] s, int so, double[] d, int dOff, int n) { System.arraycopy(s, so, d, dOff, n); }
        public void gemm(boolean ta, boolean tb, int m, int n, int k, double[] a, int ao, int lda,
                         double[] b, int bo, int ldb, boolean acc, double[] c, int co, int ldc) {
            Blas.dgemm(ta, tb, m, n, k, 1.0, a, ao, lda, b, bo, ldb, acc ? 1.0 : 0.0, c, co, ldc);
        }
        public void scaleRows(double[] x, int xOff, int rows, int cols, double[] s, int sOff) {
            for (int r = 0; r < rows; r++) {
                int o = xOff + r * cols;
                for (int j = 0; j < cols; j++) x[o + j] *= s[sOff + j];
            }
        }
        public void addRows(double[] x, int xOff, int rows, int cols, double[] b, int bOff) {
            for (int r = 0; r < rows; r++) {
                int o = xOff + r * cols;
                for (int j = 0; j < cols; j++) x[o + j] += b[bOff + j];
            }
        }
        public void mul(double[] x, int xOff, double[] s, int sOff, int n) {
            for (int i = 0; i < n; i++) x[xOff + i] *= s[sOff + i];
        }
        public void axpy(double a, double[] s, int sOff, double[] d, int dOff, int n) {
            for (int i = 0; i < n; i++) d[dOff + i] += a * s[sOff + i];
        }
        public void add(double[] d, int dOff, double[] s, int sOff, int n) {
            for (int i = 0; i < n; i++) d[dOff + i] += s[sOff + i];
        }
        public void copyScaleRows(double[] src, int so, double[] dst, int dOff, int rows, int cols, double[] s, int sOff) {
            if (s == null) { System.arraycopy(src, so, dst, dOff, rows * cols); return; }
            for (int r = 0; r < rows; r++) {
                int a = so + r * cols, b = dOff + r * cols;
                for (int j = 0; j < cols; j++) dst[b + j] = src[a + j] * s[sOff + j];
            }
        }
        public void copyScaleRowsCols(double[] src, int so, double[] dst, int dOff, int rows, int cols,
                                      double[] rs, int rOff, double[] cs, int cOff) {
            if (rs == null) { copyScaleRows(src, so, dst, dOff, rows, cols, cs, cOff); return; }
            for (int r = 0; r < rows; r++) {
                int a = so + r * cols, b = dOff + r * cols;
                double f = rs[rOff + r];
                for (int j = 0; j < cols; j++) dst[b + j] = src[a + j] * f * cs[cOff + j];
            }
        }
        public void addScaledRows(double[] dst, int dOff, double[] src, int so, int rows, int cols, double[] s, int sOff) {
            if (s == null) { add(dst, dOff, src, so, rows * cols); return; }
            for (int r = 0; r < rows; r++) {
                int a = so + r * cols, b = dOff + r * cols;
                for (int j = 0; j < cols; j++) dst[b + j] += src[a + j] * s[sOff + j];
            }
        }
    }
}
