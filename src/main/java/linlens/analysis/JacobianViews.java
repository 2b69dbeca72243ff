package linlens.analysis;

import linlens.blas.Arith;

import java.util.ArrayList;
import java.util.List;

/**
 * Readings of one d×d Jacobian besides its SVD (METHOD.md section 4): the columns with the
 * largest norms (vectors in output space, decoded like u) and the rows with the largest norms
 * (vectors in input space, decoded like v).
 */
public final class JacobianViews {
    private JacobianViews() {}

    /** A column or row of J picked by its norm. */
    public record Line(int index, double norm, double[] vector) {}

    public static <A> List<Line> topColumns(Arith<A> ar, A jac, int off, int d, int count) {
        double[] norms = new double[d];
        for (int r = 0; r < d; r++)
            for (int c = 0; c < d; c++) { double v = ar.get(jac, off + r * d + c); norms[c] += v * v; }
        List<Line> out = new ArrayList<>();
        for (int c : Vectors.topIndices(norms, count)) {
            double[] v = new double[d];
            for (int r = 0; r < d; r++) v[r] = ar.get(jac, off + r * d + c);
            out.add(new Line(c, Math.sqrt(norms[c]), v));
        }
        return out;
    }

    public static <A> List<Line> topRows(Arith<A> ar, A jac, int off, int d, int count) {
        double[] norms = new double[d];
        for (int r = 0; r < d; r++)
            for (int c = 0; c < d; c++) { double v = ar.get(jac, off + r * d + c); norms[r] += v * v; }
        List<Line> out = new ArrayList<>();
        for (int r : Vectors.topIndices(norms, count)) {
            double[] v = new double[d];
            for (int c = 0; c < d; c++) v[c] = ar.get(jac, off + r * d + c);
            out.add(new Line(r, Math.sqrt(norms[r]), v));
        }
        return out;
    }

    /** Norm of each position's block of a vector of n·d entries. */
    public static double[] blockNorms(double[] v, int n, int d) {
        double[] b = new double[n];
        for (int t = 0; t < n; t++) {
            double s = 0;
            for (int j = 0; j < d; j++) s += v[t * d + j] * v[t * d + j];
            b[t] = Math.sqrt(s);
        }
        return b;
    }
}
