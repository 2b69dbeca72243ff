package linlens.analysis;

/**
 * The SVD of one d×d Jacobian J = U Σ Vᵀ, keeping all singular values and the leading pairs.
 * Pairs are oriented so that u_k · y ≥ 0 (v_k flipped with u_k).
 *
 * @param u leading left singular vectors, u[k] of length d
 * @param v matching right singular vectors
 */
public record Spectrum(int position, double[] singularValues, double[][] u, double[][] v) {

    /** Stable rank ‖J‖_F² / σ₁², the paper's "dimensionality". */
    public double stableRank() {
        double f = 0;
        for (double s : singularValues) f += s * s;
        return singularValues[0] == 0 ? 0 : f / (singularValues[0] * singularValues[0]);
    }
}
