package linlens.analysis;

/**
 * The SVD of one Jacobian J = U Σ Vᵀ, keeping the singular values and the leading pairs.
 * Pairs are oriented so that u_k · y ≥ 0 (v_k flipped with u_k).
 *
 * @param singularValues all singular values when {@code complete}; the leading ones of a
 *                       matrix-free top-k otherwise
 * @param u              leading left singular vectors, u[k] of length d
 * @param v              matching right singular vectors
 * @param complete       whether singularValues is the whole spectrum (false for a matrix-free top-k)
 */
public record Spectrum(int position, double[] singularValues, double[][] u, double[][] v, boolean complete) {

    /** A complete spectrum (LAPACK on the materialized J). */
    public Spectrum(int position, double[] singularValues, double[][] u, double[][] v) {
        this(position, singularValues, u, v, true);
    }

    /** A matrix-free top-k: its k singular values, and its leading {@code keep} pairs. */
    public static Spectrum topK(MatrixFreeSvd.Result r, int position, int keep) {
        int kept = Math.min(keep, r.u().length);
        return new Spectrum(position, r.singularValues(), java.util.Arrays.copyOf(r.u(), kept),
                java.util.Arrays.copyOf(r.v(), kept), false);
    }

    /**
     * Stable rank ‖J‖_F² / σ₁², the paper's "dimensionality". ‖J‖_F² needs every singular value,
     * so a top-k has none (a sum over the top k would understate it by an unknown amount).
     */
    public double stableRank() {
        if (!complete) throw new IllegalStateException("the stable rank needs the whole spectrum, not a top-k");
        double f = 0;
        for (double s : singularValues) f += s * s;
        return singularValues[0] == 0 ? 0 : f / (singularValues[0] * singularValues[0]);
    }

    /** {@link #stableRank()}, or null for a top-k. */
    public Double stableRankIfComplete() { return complete ? stableRank() : null; }
}
