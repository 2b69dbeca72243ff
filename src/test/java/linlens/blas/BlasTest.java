package linlens.blas;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

class BlasTest {
    @Test
    void sgemmMatchesNaiveProductWithOffsetsAndTransposes() {
        Random rnd = new Random(1);
        int m = 7, n = 5, k = 9;
        float[] a = new float[3 + k * m];   // stored transposed (k×m), offset 3
        float[] b = new float[m + n * k];   // stored transposed (n×k)
        for (int i = 0; i < a.length; i++) a[i] = rnd.nextFloat() - 0.5f;
        for (int i = 0; i < b.length; i++) b[i] = rnd.nextFloat() - 0.5f;
        float[] c = new float[2 + m * n];
        Blas.sgemm(true, true, m, n, k, 1f, a, 3, m, b, m, k, 0f, c, 2, n);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int p = 0; p < k; p++) s += a[3 + p * m + i] * b[m + j * k + p];
                assertEquals(s, c[2 + i * n + j], 1e-5);
            }
    }

    @Test
    void dgesddReconstructsMatrix() {
        Random rnd = new Random(2);
        int m = 6, n = 4;
        double[] a = new double[m * n];
        for (int i = 0; i < a.length; i++) a[i] = rnd.nextGaussian();
        double[] copy = a.clone();
        double[] s = new double[n], u = new double[m * n], vt = new double[n * n];
        Blas.dgesdd(m, n, a, s, u, vt);
        for (int i = 1; i < n; i++) assert s[i] <= s[i - 1];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                double v = 0;
                for (int r = 0; r < n; r++) v += u[i * n + r] * s[r] * vt[r * n + j];
                assertEquals(copy[i * n + j], v, 1e-12);
            }
    }
}
