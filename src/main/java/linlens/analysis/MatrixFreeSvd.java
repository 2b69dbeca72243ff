package linlens.analysis;

import linlens.blas.Arith;
import linlens.blas.Blas;
import linlens.linear.DetachedSystem;

import java.util.Random;

/**
 * The leading singular triplets of the detached Jacobian without forming it (METHOD.md section 7):
 * a randomized block Krylov method (Musco and Musco 2015, "Randomized block Krylov methods for
 * stronger and faster approximate SVD", algorithm 2) driven only by blocked products J·V (forward
 * sweeps) and Jᵀ·U (reverse sweeps). It keeps every power-iteration block of the range basis
 * [JΩ, (JJᵀ)JΩ, …, (JJᵀ)^q JΩ], which converges much faster than the last block alone when the
 * spectrum decays slowly, at the same number of sweeps.
 *
 * <p>The operator is J restricted to a set of input positions: one position t gives J_t (d×d);
 * all positions give the tokens-combined [J_0 … J_T] (d × n·d). Each sweep carries ℓ = k +
 * oversampling vectors (the last one ℓ·(q+1)), so memory is O(k·n·d) and J is never formed.
 * The small dense steps (orthonormalization, the SVD of the ℓ-row projection) run in fp64.
 */
public final class MatrixFreeSvd {
    private MatrixFreeSvd() {}

    /** Default power iterations q: the Krylov basis has q+1 blocks. */
    public static final int POWER_ITERATIONS = 3;
    /** Default extra basis vectors beyond k. */
    public static final int OVERSAMPLING = 16;

    /**
     * The top k singular triplets, oriented so that u_j · y ≥ 0 when {@code y} is given.
     *
     * @param positions the input positions the operator spans, in the order of v's blocks
     * @param v         v[j] has positions.length·d entries: the right singular vector, block p = position positions[p]
     * @param sweeps    forward plus reverse sweeps used
     */
    public record Result(int[] positions, double[] singularValues, double[][] u, double[][] v, int sweeps) {}

    /** Top k of the tokens-combined [J_0 … J_T]. */
    public static <A> Result tokensCombined(DetachedSystem<A> sys, int k, double[] y) {
        int[] all = new int[sys.positions()];
        for (int t = 0; t < all.length; t++) all[t] = t;
        return top(sys, all, k, OVERSAMPLING, POWER_ITERATIONS, 1, y);
    }

    /** Top k of one position's J_t. */
    public static <A> Result position(DetachedSystem<A> sys, int t, int k, double[] y) {
        return top(sys, new int[]{t}, k, OVERSAMPLING, POWER_ITERATIONS, 1, y);
    }

    public static <A> Result top(DetachedSystem<A> sys, int[] positions, int k, int oversampling, int powerIterations,
                                 long seed, double[] y) {
        int d = sys.dim(), cols = positions.length * d;
        if (k < 1 || k > Math.min(d, cols)) throw new IllegalArgumentException("k = " + k + " out of range 1.." + Math.min(d, cols));
        int l = Math.min(k + oversampling, Math.min(d, cols));
        int blocks = Math.max(1, Math.min(powerIterations + 1, d / l));  // the basis cannot exceed d rows
        Random rnd = new Random(seed);
        double[] omega = new double[l * cols];
        for (int i = 0; i < omega.length; i++) omega[i] = rnd.nextGaussian();
        Operator<A> op = new Operator<>(sys, positions);
        double[] krylov = new double[blocks * l * d];                // blocks of the range basis, as rows
        double[] q = orthonormalRows(op.times(omega, l), l, d);
        System.arraycopy(q, 0, krylov, 0, l * d);
        for (int b = 1; b < blocks; b++) {
            double[] z = orthonormalRows(op.transposeTimes(q, l), l, cols);
            q = orthonormalRows(op.times(z, l), l, d);
            System.arraycopy(q, 0, krylov, b * l * d, l * d);
        }
        int r = blocks * l;
        q = orthonormalRows(krylov, r, d);
        double[] b = op.transposeTimes(q, r);                          // B = Qᵀ J, r × cols
        double[] s = new double[r], ub = new double[r * r], vt = new double[r * cols];
        Blas.dgesdd(r, cols, b, s, ub, vt);
        double[] sigma = new double[k];
        double[][] u = new double[k][d], v = new double[k][];
        for (int j = 0; j < k; j++) {
            sigma[j] = s[j];
            for (int c = 0; c < r; c++) {
                double w = ub[c * r + j];
                for (int i = 0; i < d; i++) u[j][i] += w * q[c * d + i];
            }
            v[j] = java.util.Arrays.copyOfRange(vt, j * cols, (j + 1) * cols);
            if (y != null && dot(u[j], y) < 0) { negate(u[j]); negate(v[j]); }
        }
        return new Result(positions.clone(), sigma, u, v, op.sweeps);
    }

    /**
     * Principal angles (radians, ascending) between the spans of two sets of vectors of equal
     * length, each set orthonormalized first: how far apart two estimated singular subspaces are.
     */
    public static double[] principalAngles(double[][] a, double[][] b) {
        int m = a[0].length, ka = a.length, kb = b.length;
        double[] qa = orthonormalRows(flatten(a), ka, m), qb = orthonormalRows(flatten(b), kb, m);
        double[] c = new double[ka * kb];
        Blas.dgemm(false, true, ka, kb, m, 1.0, qa, 0, m, qb, 0, m, 0.0, c, 0, kb);
        int r = Math.min(ka, kb);
        double[] cos = new double[r], uu = new double[ka * r], vv = new double[r * kb];
        Blas.dgesdd(ka, kb, c, cos, uu, vv);
        double[] angles = new double[r];
        for (int i = 0; i < r; i++) angles[i] = Math.acos(Math.min(1.0, cos[i]));
        return angles;
    }

    /** An orthonormal basis (as rows) of the row space of the rows×cols matrix m (rows ≤ cols). */
    static double[] orthonormalRows(double[] m, int rows, int cols) {
        double[] s = new double[rows], u = new double[rows * rows], vt = new double[rows * cols];
        Blas.dgesdd(rows, cols, m.clone(), s, u, vt);
        return vt;
    }

    private static double[] flatten(double[][] rows) {
        int m = rows[0].length;
        double[] f = new double[rows.length * m];
        for (int i = 0; i < rows.length; i++) System.arraycopy(rows[i], 0, f, i * m, m);
        return f;
    }

    private static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += a[i] * b[i];
        return s;
    }

    private static void negate(double[] a) {
        for (int i = 0; i < a.length; i++) a[i] = -a[i];
    }

    /**
     * J restricted to the chosen positions, applied to blocks of vectors. Input-side blocks are
     * rows of positions.length·d (block p of a row = position positions[p]); output-side blocks
     * are rows of d.
     */
    private static final class Operator<A> {
        final DetachedSystem<A> sys;
        final Arith<A> ar;
        final int[] positions;
        final int n, d, cols;
        int sweeps;

        Operator(DetachedSystem<A> sys, int[] positions) {
            this.sys = sys;
            this.ar = sys.arith();
            this.positions = positions;
            this.n = sys.positions();
            this.d = sys.dim();
            this.cols = positions.length * d;
        }

        /** Rows of (J·Vᵀ)ᵀ: row c = J v_c, for the l input-side rows v_c. */
        double[] times(double[] rows, int l) {
            A v = ar.alloc(n * l * d);
            for (int c = 0; c < l; c++)
                for (int p = 0; p < positions.length; p++) {
                    int src = c * cols + p * d, dst = (positions[p] * l + c) * d;
                    for (int i = 0; i < d; i++) ar.set(v, dst + i, rows[src + i]);
                }
            A jv = sys.jvp(v, l);
            sweeps++;
            double[] out = new double[l * d];
            for (int i = 0; i < out.length; i++) out[i] = ar.get(jv, i);
            return out;
        }

        /** Rows of Qᵀ·J: row c = q_cᵀ J (restricted to the positions), for the l output-side rows q_c. */
        double[] transposeTimes(double[] rows, int l) {
            A u = ar.fromDoubles(rows);
            A g = sys.vjp(u, l);
            sweeps++;
            double[] out = new double[l * cols];
            for (int c = 0; c < l; c++)
                for (int p = 0; p < positions.length; p++) {
                    int src = (positions[p] * l + c) * d, dst = c * cols + p * d;
                    for (int i = 0; i < d; i++) out[dst + i] = ar.get(g, src + i);
                }
            return out;
        }
    }
}
