package linlens.linear;

import linlens.blas.Arith;
import linlens.model.ModelConfig;

/**
 * How many vectors one sweep through the linear system carries at once. A sweep's buffers grow
 * linearly with the number of vectors k; a larger k makes every weight GEMM wider (each decoded
 * weight tile is used on more rows) and needs fewer sweeps, so k is the most a memory budget
 * allows. The budgets cover the per-vector buffers only: the decoded weights a sweep keeps (W_O,
 * and W_down and W_path for the per-position MLP maps) and the Jacobians being filled come on top.
 */
public final class SweepMemory {
    private SweepMemory() {}

    /**
     * Sweep budget for materializing one Jacobian (the decomposition, the benchmark): 1 GiB, a
     * sixteenth of the launcher's default 16 GiB heap, next to the (n, d, d) J the sweeps fill
     * and its SVD's copies. For the demo model (d = 640) it carries all d cotangents in one sweep
     * up to about 90 tokens in fp32.
     */
    public static final long JACOBIAN_BUDGET = 1L << 30;

    /**
     * Sweep budget for the layer analysis and steering: 512 MiB, half the single-Jacobian budget,
     * because these hold a layer-wise and a cumulative J per site (and the forward path every
     * site's) while they sweep.
     */
    public static final long LAYER_BUDGET = 512L << 20;

    /**
     * The most the layer analysis's forward path may hold: one forward sweep of all n·d input
     * tangents fills every requested site's (n, d, d) cumulative J at once, so it is taken only
     * while those Jacobians together stay under 2 GiB; beyond, the reverse sweeps (one site's J
     * at a time) are used even where they cost more.
     */
    public static final long HELD_JACOBIANS_LIMIT = 2L << 30;

    /**
     * Bytes one vector (a tangent or cotangent) takes in a sweep through the detached system over
     * {@code positions} positions: the state and branch buffers of {@link DetachedSystem}
     * (2 × (n, d): the stream and a branch), the MLP's (n, F), and the per-head buffers
     * (H + KV) × (n, hd). The same for forward (J·V) and reverse (Jᵀ·U) sweeps.
     */
    public static long bytesPerVector(ModelConfig cfg, int positions, Arith<?> ar) {
        int d = cfg.dim(), F = cfg.ffnDim(), H = cfg.heads(), KV = cfg.kvHeads(), hd = cfg.headDim();
        return (long) positions * (2L * d + F + (long) (H + KV) * hd) * Precision.of(ar).bytesPerValue();
    }

    /**
     * Bytes one cotangent takes in a reverse sweep of {@link OrdinaryJacobian} (fp64) over
     * {@code positions} positions, an estimate: the stream and branch gradients (3 × (n, d)), the
     * MLP's (counted 2 × (n, F); z, gu and gg are three), the output, query, key and value
     * gradients (counted 3 × (H + KV) × (n, hd); they are 2) and one head's score gradients
     * (n, n). The counts are kept as they are: the block size they give sets the GEMM shapes of
     * every sweep, and with them the last bits of J.
     */
    public static long ordinaryBytesPerVector(ModelConfig cfg, int positions) {
        int d = cfg.dim(), F = cfg.ffnDim(), H = cfg.heads(), KV = cfg.kvHeads(), hd = cfg.headDim(), n = positions;
        return (long) n * (3L * d + 2L * F + 3L * (H + KV) * hd + n) * Double.BYTES;
    }

    /** Vectors per sweep: as many as {@code budgetBytes} allows at {@code bytesPerVector}, at least 1, at most {@code most}. */
    public static int vectorsPerSweep(long budgetBytes, long bytesPerVector, int most) {
        return (int) Math.max(1, Math.min(most, budgetBytes / bytesPerVector));
    }
}
