package linlens.analysis;

import linlens.blas.Arith;
import linlens.blas.Blas;
import linlens.model.InputException;

/** Singular value decompositions of Jacobian blocks through LAPACK (gesdd). */
public final class Svd {
    private Svd() {}

    /**
     * SVD of the m×n row-major matrix at {@code off} in {@code a} (not modified), keeping the
     * top {@code keep} pairs oriented against {@code y} (length m; null: no orientation).
     */
    public static <A> Spectrum of(Arith<A> ar, A a, int off, int m, int n, int keep, double[] y, int position) {
        int r = Math.min(m, n);
        keep = Math.min(keep, r);
        double[] s = new double[r];
        double[][] us = new double[keep][m], vs = new double[keep][n];
        if (ar == Arith.F32) {
            float[] copy = new float[m * n], sf = new float[r], u = new float[m * r], vt = new float[r * n];
            System.arraycopy((float[]) a, off, copy, 0, m * n);
            requireFinite(copy);
            Blas.sgesdd(m, n, copy, sf, u, vt);
            for (int i = 0; i < r; i++) s[i] = sf[i];
            for (int k = 0; k < keep; k++) {
                for (int i = 0; i < m; i++) us[k][i] = u[i * r + k];
                for (int j = 0; j < n; j++) vs[k][j] = vt[k * n + j];
            }
        } else {
            double[] copy = new double[m * n], u = new double[m * r], vt = new double[r * n];
            System.arraycopy((double[]) a, off, copy, 0, m * n);
            requireFinite(copy);
            Blas.dgesdd(m, n, copy, s, u, vt);
            for (int k = 0; k < keep; k++) {
                for (int i = 0; i < m; i++) us[k][i] = u[i * r + k];
                for (int j = 0; j < n; j++) vs[k][j] = vt[k * n + j];
            }
        }
        if (y != null)
            for (int k = 0; k < keep; k++) {
                double dot = 0;
                for (int i = 0; i < m; i++) dot += us[k][i] * y[i];
                if (dot < 0) {
                    for (int i = 0; i < m; i++) us[k][i] = -us[k][i];
                    for (int j = 0; j < n; j++) vs[k][j] = -vs[k][j];
                }
            }
        return new Spectrum(position, s, us, vs);
    }

    /**
     * The forward pass stops on non-finite activations, but extreme weights can still overflow
     * inside J (float32 reaches infinity at 3.4e38), and LAPACK refuses NaN input with an error
     * code only: say what happened instead.
     */
    static void requireFinite(float[] a) {
        for (float x : a) if (!Float.isFinite(x)) throw nonFinite();
    }

    static void requireFinite(double[] a) {
        for (double x : a) if (!Double.isFinite(x)) throw nonFinite();
    }

    private static InputException nonFinite() {
        return new InputException("the detached Jacobian has non-finite entries (NaN or infinity): the model's weights are "
                + "corrupt or too large for the precision (try --precision fp64)");
    }

    /**
     * SVD of the tokens-combined map [J_0 … J_{n-1}] (d × n·d) from a materialized (n, d, d) J;
     * right singular vectors have n·d entries, position t's block at [t·d, (t+1)·d).
     */
    public static <A> Spectrum combined(Arith<A> ar, A jac, int n, int d, int keep, double[] y) {
        A wide = ar.alloc(n * d * d);
        for (int t = 0; t < n; t++)
            for (int r = 0; r < d; r++) ar.copy(jac, t * d * d + r * d, wide, r * n * d + t * d, d);
        return of(ar, wide, 0, d, n * d, keep, y, -1);
    }
}
