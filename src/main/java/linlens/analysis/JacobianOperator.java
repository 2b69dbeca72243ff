package linlens.analysis;

import linlens.blas.Arith;
import linlens.linear.DetachedSystem;
import linlens.linear.Site;

/**
 * A detached Jacobian restricted to some input positions, as a {@link MatrixFreeSvd.Operator}:
 * J·V is one forward sweep of the frozen system and Jᵀ·U one reverse sweep, so J is never
 * formed. Two kinds: the final output y ({@link #finalOutput}), and the final norm (frozen)
 * applied to a site's vector at the last position ({@link #site}, METHOD.md section 5) as a
 * function of the input embeddings (cumulative) or of the residual stream entering the site's
 * layer (layer-wise). Rows are fp64 on both sides; the sweeps run in the system's precision.
 */
public abstract class JacobianOperator<A> implements MatrixFreeSvd.Operator {
    /** The system the sweeps run on: the given one, or its one-position view when only the last position is asked for. */
    final DetachedSystem<A> sys;
    final Arith<A> ar;
    /** The positions as asked for (what {@link #positions} reports and {@link #apply} reads). */
    private final int[] positions;
    /** Where those positions sit in {@link #sys}'s sweeps. */
    private final int[] slots;
    final int n, d;

    private JacobianOperator(DetachedSystem<A> full, int[] positions) {
        int total = full.positions();
        boolean[] seen = new boolean[total];
        for (int t : positions) {
            if (t < 0 || t >= total || seen[t]) throw new IllegalArgumentException("bad or repeated position " + t + " of " + total);
            seen[t] = true;
        }
        this.positions = positions.clone();
        // J_T alone needs only the last position's stream (causal attention): sweeps n times cheaper
        boolean lastOnly = positions.length == 1 && positions[0] == total - 1;
        this.sys = lastOnly ? full.lastPositionOnly() : full;
        this.slots = lastOnly ? new int[]{0} : positions.clone();
        this.ar = sys.arith();
        this.n = sys.positions();
        this.d = sys.dim();
    }

    /** 0, 1, …, n−1: the tokens-combined operator's positions. */
    public static int[] allPositions(DetachedSystem<?> sys) {
        int[] all = new int[sys.positions()];
        for (int t = 0; t < all.length; t++) all[t] = t;
        return all;
    }

    /** The Jacobian of the output embedding y w.r.t. the input embeddings at the given positions. */
    public static <A> JacobianOperator<A> finalOutput(DetachedSystem<A> sys, int[] positions) {
        return new JacobianOperator<>(sys, positions) {
            @Override A forward(A v, int k) { return this.sys.jvp(v, k); }
            @Override A reverse(A u, int k) { return this.sys.vjp(u, k); }
        };
    }

    /**
     * The Jacobian of outScale ⊙ site(layer) at the last position (outScale: the final norm's
     * frozen scales for that vector, {@link LayerAnalysis#finalNormScale}) w.r.t. the input
     * embeddings ({@code layerwise} false: cumulative) or the residual stream entering
     * {@code layer} (layer-wise), at the given positions.
     */
    public static <A> JacobianOperator<A> site(DetachedSystem<A> sys, int layer, Site site, double[] outScale,
                                               boolean layerwise, int[] positions) {
        A scale = sys.arith().fromDoubles(outScale);
        int from = layerwise ? layer : 0;
        return new JacobianOperator<>(sys, positions) {
            @Override A forward(A v, int k) {
                A out = this.sys.jvpSite(from, layer, site, v, k);
                ar.scaleRows(out, 0, k, d, scale, 0);
                return out;
            }

            @Override A reverse(A u, int k) {
                ar.scaleRows(u, 0, k, d, scale, 0);  // a cotangent on outScale ⊙ site is outScale ⊙ it on the site
                return this.sys.vjpFromSite(layer, site, u, k, from, null);
            }
        };
    }

    /** k tangents (n, k, d) on the map's input, all positions of {@link #sys} → the output rows (k, d). */
    abstract A forward(A v, int k);

    /** k cotangents (k, d) on the output (may be overwritten) → the gradient (n, k, d) at the input of {@link #sys}. */
    abstract A reverse(A u, int k);

    @Override public int[] positions() { return positions.clone(); }

    @Override public int dim() { return d; }

    /** Input positions outside the operator's set get zero tangents. */
    @Override
    public double[] times(double[] rows, int l) {
        int cols = positions.length * d;
        A v = ar.alloc(n * l * d);
        for (int c = 0; c < l; c++)
            for (int p = 0; p < positions.length; p++) {
                int src = c * cols + p * d, dst = (slots[p] * l + c) * d;
                for (int i = 0; i < d; i++) ar.set(v, dst + i, rows[src + i]);
            }
        A jv = forward(v, l);
        double[] out = new double[l * d];
        for (int i = 0; i < out.length; i++) out[i] = ar.get(jv, i);
        return out;
    }

    @Override
    public double[] transposeTimes(double[] rows, int l) {
        int cols = positions.length * d;
        A g = reverse(ar.fromDoubles(rows), l);
        double[] out = new double[l * cols];
        for (int c = 0; c < l; c++)
            for (int p = 0; p < positions.length; p++) {
                int src = (slots[p] * l + c) * d, dst = c * cols + p * d;
                for (int i = 0; i < d; i++) out[dst + i] = ar.get(g, src + i);
            }
        return out;
    }

    /** Σ_t J_t x_t for one input x (n×d, row-major; only the operator's positions count): one forward sweep. */
    public double[] apply(double[] x) {
        double[] row = new double[positions.length * d];
        for (int p = 0; p < positions.length; p++) System.arraycopy(x, positions[p] * d, row, p * d, d);
        return times(row, 1);
    }
}
