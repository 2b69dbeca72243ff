package linlens.analysis;

import linlens.blas.Blas;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The matrix-free top-k on explicit matrices, where LAPACK gives the exact answer: the sweeps it
 * spends (2q+2, each of k + oversampling vectors: the reverse sweeps that grow the basis also give
 * QᵀJ) and its accuracy, also when the Krylov space runs out (a matrix of lower rank than the basis).
 */
class MatrixFreeSvdOperatorTest {
    /** A dense d × (n·d) operator that counts the vectors it is applied to. */
    static final class Dense implements MatrixFreeSvd.Operator {
        final double[] m;
        final int d, cols;
        int vectorsForward, vectorsReverse, sweeps;

        Dense(double[] m, int d, int positions) {
            this.m = m;
            this.d = d;
            this.cols = d * positions;
        }

        @Override public int[] positions() {
            int[] p = new int[cols / d];
            for (int i = 0; i < p.length; i++) p[i] = i;
            return p;
        }

        @Override public int dim() { return d; }

        @Override public double[] times(double[] rows, int l) {
            vectorsForward += l;
            sweeps++;
            double[] out = new double[l * d];  // (l, d): row c = M v_c
            Blas.dgemm(false, true, l, d, cols, 1, rows, 0, cols, m, 0, cols, 0, out, 0, d);
            return out;
        }

        @Override public double[] transposeTimes(double[] rows, int l) {
            vectorsReverse += l;
            sweeps++;
            double[] out = new double[l * cols];  // (l, cols): row c = q_cᵀ M
            Blas.dgemm(false, false, l, cols, d, 1, rows, 0, d, m, 0, cols, 0, out, 0, cols);
            return out;
        }
    }

    /** d × cols with singular values 1/(1+i)^decay and random singular vectors, and its exact singular values. */
    static double[] matrix(int d, int cols, int rank, double decay, long seed) {
        Random rnd = new Random(seed);
        double[] a = new double[d * rank], b = new double[rank * cols];
        for (int i = 0; i < a.length; i++) a[i] = rnd.nextGaussian();
        for (int i = 0; i < b.length; i++) b[i] = rnd.nextGaussian();
        double[] qa = MatrixFreeSvd.orthonormalRows(transpose(a, d, rank), rank, d), qb = MatrixFreeSvd.orthonormalRows(b, rank, cols);
        double[] m = new double[d * cols];
        for (int j = 0; j < rank; j++) {
            double s = Math.pow(1 + j, -decay);
            for (int i = 0; i < d; i++)
                for (int c = 0; c < cols; c++) m[i * cols + c] += s * qa[j * d + i] * qb[j * cols + c];
        }
        return m;
    }

    static double[] transpose(double[] a, int rows, int cols) {
        double[] t = new double[a.length];
        for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) t[j * rows + i] = a[i * cols + j];
        return t;
    }

    static double[] exactSingularValues(double[] m, int d, int cols) {
        int r = Math.min(d, cols);
        double[] s = new double[r], u = new double[d * r], vt = new double[r * cols];
        Blas.dgesdd(d, cols, m.clone(), s, u, vt);
        return s;
    }

    @Test
    void spendsTwoQPlusTwoSweepsOfKPlusOversamplingVectors() {
        int d = 96, positions = 3, k = 6, over = 4, q = 3;
        double[] m = matrix(d, d * positions, d, 0.7, 1);
        Dense op = new Dense(m, d, positions);
        MatrixFreeSvd.Result r = MatrixFreeSvd.top(op, k, over, q, 7, null);
        assertEquals(2 * q + 2, r.sweeps());
        assertEquals(2 * q + 2, op.sweeps);
        assertEquals((q + 1) * (k + over), op.vectorsReverse);
        assertEquals(q * (k + over) + (k + over), op.vectorsForward);
        double[] s = exactSingularValues(m, d, d * positions);
        for (int j = 0; j < k; j++)
            assertEquals(s[j], r.singularValues()[j], 1e-3 * s[0], "σ" + (j + 1));
        // the triplets are singular pairs of M: M v_j = σ_j u_j
        for (int j = 0; j < k; j++) {
            double[] mv = op.times(r.v()[j], 1);
            double res = 0;
            for (int i = 0; i < d; i++) res = Math.max(res, Math.abs(mv[i] - r.singularValues()[j] * r.u()[j][i]));
            assertTrue(res < 2e-2 * s[0], "residual of triplet " + (j + 1) + ": " + res);
        }
    }

    @Test
    void aKrylovSpaceThatRunsOutStaysExact() {
        // rank 9 < the basis of 4 blocks × 8 vectors: after the second block there is nothing new to find
        int d = 64, k = 5, over = 3;
        double[] m = matrix(d, 2 * d, 9, 0.3, 2);
        MatrixFreeSvd.Result r = MatrixFreeSvd.top(new Dense(m, d, 2), k, over, 3, 3, null);
        double[] s = exactSingularValues(m, d, 2 * d);
        for (int j = 0; j < k; j++) assertEquals(s[j], r.singularValues()[j], 1e-10, "σ" + (j + 1));
        for (double[] u : r.u()) {
            double norm = 0;
            for (double x : u) norm += x * x;
            assertEquals(1, norm, 1e-10, "u is a unit vector");
        }
    }
}
