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
     * The factors of the last position alone, as a one-position prompt: every per-position row
     * at position n−1, and each head's attention reduced to the self-probability A_h[n−1, n−1].
     * Causal attention makes the last position's stream, with these factors, give the last
     * position's Jacobians exactly (nothing but its own stream reaches it).
     */
    public Frozen lastPosition() {
        if (n == 1) return this;
        Layer[] one = new Layer[layers.length];
        for (int l = 0; l < layers.length; l++) {
            Layer f = layers[l];
            double[][] self = new double[f.probs().length][];
            for (int h = 0; h < self.length; h++) self[h] = new double[]{f.probs()[h][(n - 1) * n + n - 1]};
            one[l] = new Layer(lastRow(f.attnNorm()), self, lastRow(f.postAttnNorm()), lastRow(f.ffnNorm()),
                    lastRow(f.gateAct()), lastRow(f.gateFactor()), lastRow(f.up()), lastRow(f.postFfnNorm()));
        }
        return new Frozen(1, one, lastRow(finalNorm));
    }

    /** Row n−1 of an n-row per-position array (null stays null). */
    private double[] lastRow(double[] a) {
        if (a == null) return null;
        int width = a.length / n;
        return java.util.Arrays.copyOfRange(a, (n - 1) * width, n * width);
    }

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
