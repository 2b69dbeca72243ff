package linlens.blas;

import linlens.format.StoredMatrix;

/**
 * GEMMs against a weight matrix kept in stored form: a tile of rows is decoded into a reused
 * buffer and handed to BLAS, so the full-precision matrix never exists in memory. One instance
 * per thread (it owns the tile buffers).
 */
public final class WeightGemm<A> {
    /** Values per decoded tile: 1M values (4 MB in fp32) keeps a tile in the last-level cache. */
    private static final int TILE_VALUES = 1 << 20;

    private final Arith<A> ar;
    private A tile;
    private float[] scratch = new float[0];

    public WeightGemm(Arith<A> ar) {
        this.ar = ar;
        this.tile = ar.alloc(0);
    }

    public Arith<A> arith() { return ar; }

    private int tileRows(StoredMatrix w) {
        int rows = Math.max(1, TILE_VALUES / w.cols());
        int need = rows * w.cols();
        if (ar.length(tile) < need) {
            tile = ar.alloc(need);
            if (ar != Arith.F32) scratch = new float[need];
        }
        return rows;
    }

    private A decode(StoredMatrix w, int r, int nr) {
        if (ar == Arith.F32) w.rowsToFloat(r, nr, (float[]) tile, 0);
        else ar.rows(w, r, nr, tile, scratch);
        return tile;
    }

    /**
     * The whole matrix decoded into {@code dst} (rows × cols, row-major), a tile at a time: for
     * products that reuse it many times, where decoding once per use would dominate.
     */
    public void decodeAll(StoredMatrix w, A dst) {
        int tr = tileRows(w), cols = w.cols();
        for (int r = 0; r < w.rows(); r += tr) {
            int nr = Math.min(tr, w.rows() - r);
            ar.copy(decode(w, r, nr), 0, dst, r * cols, nr * cols);
        }
    }

    /**
     * Y[:, 0:(r1-r0)] (+)= X · W[r0:r1, c0:c1]ᵀ: the forward product of m input rows (each of
     * c1-c0 values) with output features r0..r1, restricted to input features c0..c1.
     */
    public void xWt(A x, int xOff, int m, int ldx, StoredMatrix w, int r0, int r1, int c0, int c1,
                    A y, int yOff, int ldy, boolean accumulate) {
        int tr = tileRows(w), k = w.cols();
        for (int r = r0; r < r1; r += tr) {
            int nr = Math.min(tr, r1 - r);
            A t = decode(w, r, nr);
            ar.gemm(false, true, m, nr, c1 - c0, x, xOff, ldx, t, c0, k, accumulate, y, yOff + (r - r0), ldy);
        }
    }

    /** {@link #xWt} over all input features. */
    public void xWt(A x, int xOff, int m, int ldx, StoredMatrix w, int r0, int r1, A y, int yOff, int ldy, boolean accumulate) {
        xWt(x, xOff, m, ldx, w, r0, r1, 0, w.cols(), y, yOff, ldy, accumulate);
    }

    /**
     * Out (+)= G[:, 0:(r1-r0)] · W[r0:r1, c0:c1]: the transposed product, which takes gradients
     * on output features r0..r1 back to input features c0..c1.
     */
    public void xW(A g, int gOff, int m, int ldg, StoredMatrix w, int r0, int r1, int c0, int c1,
                   A out, int oOff, int ldo, boolean accumulate) {
        int tr = tileRows(w), k = w.cols();
        boolean acc = accumulate;
        for (int r = r0; r < r1; r += tr) {
            int nr = Math.min(tr, r1 - r);
            A t = decode(w, r, nr);
            ar.gemm(false, false, m, c1 - c0, nr, g, gOff + (r - r0), ldg, t, c0, k, acc, out, oOff, ldo);
            acc = true;
        }
    }
}
