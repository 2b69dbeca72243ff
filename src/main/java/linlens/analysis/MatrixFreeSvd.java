package linlens.analysis;

import com.fasterxml.jackson.annotation.JsonProperty;
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
 * <p>The operator ({@link Operator}) is a Jacobian restricted to a set of input positions: one
 * position t gives J_t (d×d); all positions give the tokens-combined [J_0 … J_T] (d × n·d).
 * {@link JacobianOperator} has the final output's J and every layer site's cumulative and
 * layer-wise J (METHOD.md section 5). Each of the 2q+2 sweeps carries ℓ = k + oversampling
 * vectors, so memory is O(q·k·n·d) and J is never formed.
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

    /**
     * How a matrix-free analysis ran, for its JSON: the top-k size, the method's settings, and the
     * sweeps of the frozen system it used (J·V and Jᵀ·U, the reconstructions' J·x included).
     */
    public record Info(int k, int oversampling, @JsonProperty("power_iterations") int powerIterations, int sweeps) {}

    /**
     * A linear map from input-side rows (positions().length·dim() entries: block p belongs to input
     * position positions()[p]) to output-side rows (dim() entries), applied to blocks of rows. Each
     * call is one sweep of the frozen system, forward ({@link #times}) or reverse ({@link #transposeTimes}).
     */
    public interface Operator {
        /** The input positions the operator spans, in the order of the input-side blocks. */
        int[] positions();

        /** d: the width of one position's block and of the output. */
        int dim();

        /** l output-side rows from l input-side rows: row c = M v_c. */
        double[] times(double[] rows, int l);

        /** l input-side rows from l output-side rows: row c = q_cᵀ M. */
        double[] transposeTimes(double[] rows, int l);
    }

    /** Top k of the tokens-combined [J_0 … J_T]. */
    public static <A> Result tokensCombined(DetachedSystem<A> sys, int k, double[] y) {
        return top(JacobianOperator.finalOutput(sys, JacobianOperator.allPositions(sys)), k, y);
    }

    /** Top k of one position's J_t. */
    public static <A> Result position(DetachedSystem<A> sys, int t, int k, double[] y) {
        return top(JacobianOperator.finalOutput(sys, new int[]{t}), k, y);
    }

    /** Top k of any operator with the default oversampling, power iterations and seed. */
    public static Result top(Operator op, int k, double[] y) {
        return top(op, k, OVERSAMPLING, POWER_ITERATIONS, 1, y);
    }

    public static <A> Result top(DetachedSystem<A> sys, int[] positions, int k, int oversampling, int powerIterations,
                                 long seed, double[] y) {
        return top(JacobianOperator.finalOutput(sys, positions), k, oversampling, powerIterations, seed, y);
    }

    public static Result top(Operator op, int k, int oversampling, int powerIterations, long seed, double[] y) {
        int[] positions = op.positions();
        int d = op.dim(), cols = positions.length * d;
        if (k < 1 || k > Math.min(d, cols)) throw new IllegalArgumentException("k = " + k + " out of range 1.." + Math.min(d, cols));
        int l = Math.min(k + oversampling, Math.min(d, cols));
        int blocks = Math.max(1, Math.min(powerIterations + 1, d / l));  // the basis cannot exceed d rows
        Random rnd = new Random(seed);
        double[] omega = new double[l * cols];
        for (int i = 0; i < omega.length; i++) omega[i] = rnd.nextGaussian();
        int r = blocks * l;
        // The range basis Q = [Q_0 … Q_q] (r × d, rows) is built block by block, each block
        // orthonormalized against all before it, so Q's rows stay orthonormal; the reverse sweep
        // that takes Q_b to the next block, Jᵀ Q_b, is also block b of B = Qᵀ J. So B costs no
        // sweep of its own: 2q+2 sweeps of ℓ vectors in all (the textbook order forms B by one more
        // sweep of all (q+1)·ℓ rows). The span is the same Krylov space [JΩ, (JJᵀ)JΩ, …].
        double[] q = new double[r * d], b = new double[r * cols];
        System.arraycopy(orthonormalRows(op.times(omega, l), l, d), 0, q, 0, l * d);
        int sweeps = 1;
        for (int blk = 0; blk < blocks; blk++) {
            double[] qb = java.util.Arrays.copyOfRange(q, blk * l * d, (blk + 1) * l * d);
            double[] jtq = op.transposeTimes(qb, l);                  // Jᵀ Q_b: block blk of B (ℓ × cols)
            sweeps++;
            System.arraycopy(jtq, 0, b, blk * l * cols, l * cols);
            if (blk + 1 == blocks) break;
            double[] z = op.times(orthonormalRows(jtq, l, cols), l);  // J Jᵀ Q_b, up to a change of basis
            sweeps++;
            System.arraycopy(orthonormalAgainst(z, l, q, (blk + 1) * l, d), 0, q, (blk + 1) * l * d, l * d);
        }
        double[] s = new double[r], ub = new double[r * r], vt = new double[r * cols];
        Svd.requireFinite(b);
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
        return new Result(positions.clone(), sigma, u, v, sweeps);
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

    /**
     * The rows of z (rows × cols) made orthogonal to the first {@code done} rows of q (orthonormal),
     * by two passes of block Gram-Schmidt (twice is enough in fp64), then orthonormal among
     * themselves: the next block of a basis whose earlier blocks are q's.
     */
    static double[] orthonormalAgainst(double[] z, int rows, double[] q, int done, int cols) {
        double[] c = new double[rows * done];
        for (int pass = 0; pass < 2; pass++) {
            Blas.dgemm(false, true, rows, done, cols, 1.0, z, 0, cols, q, 0, cols, 0.0, c, 0, done);
            Blas.dgemm(false, false, rows, cols, done, -1.0, c, 0, done, q, 0, cols, 1.0, z, 0, cols);
        }
        double[] out = orthonormalRows(z, rows, cols);
        Blas.dgemm(false, true, rows, done, cols, 1.0, out, 0, cols, q, 0, cols, 0.0, c, 0, done);
        Blas.dgemm(false, false, rows, cols, done, -1.0, c, 0, done, q, 0, cols, 1.0, out, 0, cols);
        return orthonormalRows(out, rows, cols);
    }

    /** An orthonormal basis (as rows) of the row space of the rows×cols matrix m (rows ≤ cols). */
    static double[] orthonormalRows(double[] m, int rows, int cols) {
        double[] s = new double[rows], u = new double[rows * rows], vt = new double[rows * cols];
        Svd.requireFinite(m);
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
}
