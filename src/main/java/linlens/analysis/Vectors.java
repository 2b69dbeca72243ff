package linlens.analysis;

import linlens.blas.Arith;

/** Small vector helpers the analyses share. */
public final class Vectors {
    private Vectors() {}

    /** Indices of the k largest values, largest first. */
    public static int[] topIndices(double[] v, int k) {
        k = Math.min(k, v.length);
        int[] idx = new int[k];
        double[] best = new double[k];
        java.util.Arrays.fill(best, Double.NEGATIVE_INFINITY);
        java.util.Arrays.fill(idx, -1);
        for (int i = 0; i < v.length; i++) {
            if (v[i] <= best[k - 1]) continue;
            int p = k - 1;
            while (p > 0 && best[p - 1] < v[i]) { best[p] = best[p - 1]; idx[p] = idx[p - 1]; p--; }
            best[p] = v[i];
            idx[p] = i;
        }
        return idx;
    }

    /** ‖a − b‖ / ‖b‖. */
    public static double relativeError(double[] a, double[] b) {
        double num = 0, den = 0;
        for (int i = 0; i < b.length; i++) { num += (a[i] - b[i]) * (a[i] - b[i]); den += b[i] * b[i]; }
        return Math.sqrt(num / den);
    }

    /** The first n entries of an array in the given arithmetic, as doubles. */
    public static <A> double[] toDoubles(Arith<A> ar, A a, int n) {
        double[] d = new double[n];
        for (int i = 0; i < n; i++) d[i] = ar.get(a, i);
        return d;
    }

    /** a += b, returning a. */
    public static double[] plus(double[] a, double[] b) {
        for (int i = 0; i < a.length; i++) a[i] += b[i];
        return a;
    }

    /** Milliseconds since {@code t0} (a System.nanoTime reading). */
    public static double ms(long t0) { return (System.nanoTime() - t0) / 1e6; }
}
