package linlens.blas;

import linlens.format.StoredMatrix;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.atomic.LongAdder;

/**
 * GEMMs against a weight matrix kept in stored form: a tile of rows is decoded into a reused
 * buffer and handed to BLAS, so the full-precision matrix never exists in memory. One instance
 * per thread (it owns the tile buffers).
 */
public final class WeightGemm<A> {
    /** Values per decoded tile: 1M values (4 MB in fp32) keeps a tile in the last-level cache. */
    private static final int TILE_VALUES = 1 << 20;
    /**
     * Rows per tile at least, whatever the width: each GEMM call re-packs its activations (m × cols),
     * so a tile of few long rows (1M values are 36 rows of a 28672-wide W_down) would make every
     * product only 36 deep. A 512-row tile of a wide matrix leaves the cache (29 MB for 14336
     * columns), which measured faster than 512 × 2048 column runs of it: decoding a row in runs costs
     * more than the cache saves (bench on Llama 3.1 8B, BENCHMARKS.md).
     */
    private static final int MIN_TILE_ROWS = 512;
    /** Values decoded at once on the way to a double tile: 128 KB of floats, in the core's own cache. */
    private static final int WIDEN_VALUES = 1 << 15;
    /** Tiles of at least this many values are decoded by all BLAS threads at once (on the calling thread and the common pool). */
    private static final int PARALLEL_DECODE_VALUES = 1 << 18;

    /** Wall time of weight decoding on the calling threads, and the values decoded: the benchmark's decode share. */
    private static final LongAdder DECODE_NANOS = new LongAdder(), DECODED_VALUES = new LongAdder();

    private final Arith<A> ar;
    private A tile;

    public WeightGemm(Arith<A> ar) {
        this.ar = ar;
        this.tile = ar.alloc(0);
    }

    public Arith<A> arith() { return ar; }

    /** Nanoseconds spent decoding weight tiles since the JVM started (summed over calling threads). */
    public static long decodeNanos() { return DECODE_NANOS.sum(); }

    /** Weight values decoded since the JVM started. */
    public static long decodedValues() { return DECODED_VALUES.sum(); }

    private int tileRows(StoredMatrix w) {
        int rows = Math.min(w.rows(), Math.max(MIN_TILE_ROWS, TILE_VALUES / w.cols()));
        int need = rows * w.cols();
        if (ar.length(tile) < need) tile = ar.alloc(need);
        return rows;
    }

    /** Rows r..r+nr of w into the tile (nr × cols, row-major). */
    private A decode(StoredMatrix w, int r, int nr) {
        long t0 = System.nanoTime();
        int cols = w.cols();
        if (ar == Arith.F32) {
            float[] dst = (float[]) tile;
            inParts(nr, cols, (r0, cnt) -> w.rowsToFloat(r + r0, cnt, dst, r0 * cols));
        } else {
            // a few rows at a time through a float buffer that stays in cache: widening a whole
            // float tile would write and read it once more through memory
            double[] dst = (double[]) tile;
            int chunk = Math.max(1, WIDEN_VALUES / cols);
            inParts(nr, cols, (r0, cnt) -> {
                float[] rows = new float[Math.min(chunk, cnt) * cols];  // (≤ chunk, cols) decoded rows
                for (int i = r0; i < r0 + cnt; i += chunk) {
                    int c = Math.min(chunk, r0 + cnt - i);
                    w.rowsToFloat(r + i, c, rows, 0);
                    for (int j = 0, o = i * cols, e = c * cols; j < e; j++) dst[o + j] = rows[j];
                }
            });
        }
        DECODE_NANOS.add(System.nanoTime() - t0);
        DECODED_VALUES.add((long) nr * cols);
        return tile;
    }

    /** Decodes rows [r0, r0+count) of the current tile. */
    private interface RowPart { void decode(int r0, int count); }

    /**
     * Runs {@code part} over rows 0..nr of a tile, split between this thread and the common pool,
     * one part per BLAS thread where the tile is large: decoding is the one single-threaded step
     * between GEMMs that use every core.
     */
    private static void inParts(int nr, int cols, RowPart part) {
        int parts = Math.min(Blas.threads(), nr);
        if (parts < 2 || (long) nr * cols < PARALLEL_DECODE_VALUES) {
            part.decode(0, nr);
            return;
        }
        int per = (nr + parts - 1) / parts;
        CompletableFuture<?>[] rest = new CompletableFuture<?>[parts - 1];
        for (int p = 1; p < parts; p++) {
            int r0 = Math.min(nr, p * per), cnt = Math.min(per, nr - r0);
            rest[p - 1] = CompletableFuture.runAsync(() -> part.decode(r0, cnt), ForkJoinPool.commonPool());
        }
        part.decode(0, Math.min(per, nr));
        CompletableFuture.allOf(rest).join();
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
