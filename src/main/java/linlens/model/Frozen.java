package linlens.model;

/**
 * The detach points: every input-dependent factor A(x*) of a nonlinearity A(x)·x, recorded at
 * one prompt by {@link ForwardPass}. Fixing these makes the map from input embeddings to
 * outputs linear (METHOD.md section 2). Norm factors are stored as per-position scale vectors
 * {@code w ⊙ r_p} (n×d, row p), so a detached norm is a per-position diagonal.
 *
 * @param finalNorm the final norm's scales, n×d
 */
public record Frozen(int n, Layer[] layers, double[] finalNorm) {

    /**
     * One block's frozen factors; null where the family has no such norm.
     *
     * @param probs      attention probabilities per head, each n×n (row = query position)
     * @param gateAct    act(gate(x̂)), n×F
     * @param gateFactor φ(gate(x̂)) with act(g) = g·φ(g), n×F
     * @param up         up(x̂), n×F
     */
    public record Layer(double[] attnNorm, double[][] probs, double[] postAttnNorm, double[] ffnNorm,
                        double[] gateAct, double[] gateFactor, double[] up, double[] postFfnNorm) {

        /** The per-position, per-feature coefficient c with mlp(x̂) = down(c ⊙ path(x̂)). */
        public double[] mlpCoefficient(MlpPath path) {
            if (path == MlpPath.UP) return gateAct;
            double[] c = new double[up.length];
            for (int i = 0; i < c.length; i++) c[i] = gateFactor[i] * up[i];
            return c;
        }
    }
}
