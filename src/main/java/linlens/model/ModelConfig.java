package linlens.model;

/**
 * Hyperparameters of one model, read from its file.
 *
 * @param windows    per layer: sliding-window size in tokens, or 0 for global attention
 * @param invFreq    per layer: RoPE inverse frequencies (rotaryDim/2 values), scaling applied
 * @param rotaryDim  how many dimensions of each head are rotated (the head size unless partial)
 * @param attnScale  multiplies q·k before the softmax
 */
public record ModelConfig(
        String architecture,
        int dim,
        int layers,
        int heads,
        int kvHeads,
        int headDim,
        int ffnDim,
        int vocab,
        int context,
        double normEps,
        double attnScale,
        int rotaryDim,
        int[] windows,
        double[][] invFreq) {

    public int qDim() { return heads * headDim; }
    public int kvDim() { return kvHeads * headDim; }
    public double embedScale(Family f) { return f.embeddingScale() ? Math.sqrt(dim) : 1.0; }

    /** Standard RoPE inverse frequencies base^(-2i/rotaryDim). */
    public static double[] ropeInvFreq(double base, int rotaryDim) {
        double[] f = new double[rotaryDim / 2];
        for (int i = 0; i < f.length; i++) f[i] = Math.pow(base, -2.0 * i / rotaryDim);
        return f;
    }
}
