package linlens.model;

/**
 * Hyperparameters of one model, read from its file.
 *
 * @param windows        per layer: sliding-window size in tokens, or 0 for global attention
 * @param invFreq        per layer: RoPE inverse frequencies (rotaryDim/2 values), scaling applied
 * @param rotaryDim      how many dimensions of each head are rotated (the head size unless partial)
 * @param rope           how the rotated dimensions are paired in this checkpoint's q/k layout
 * @param ropeAttnFactor multiplies the rotated dimensions' cos and sin (Phi 3 longrope), 1 otherwise
 * @param attnScale      multiplies q·k before the softmax
 * @param longRope       Phi 3 longrope: the frequencies for prompts longer than the original
 *                       context (null for other models)
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
        Family.RopeStyle rope,
        double ropeAttnFactor,
        int[] windows,
        double[][] invFreq,
        LongRope longRope) {

    /** Prompts of more than {@code originalContext} tokens rotate with {@code invFreq} (long factors). */
    public record LongRope(int originalContext, double[][] invFreq) {
        /**
         * Longrope beyond the original context, as both formats give it: every layer rotates with
         * the plain frequencies divided by the long factors (within it, the short factors apply,
         * like any per-frequency divisors).
         */
        static LongRope of(double[] plainFreq, double[] longFactors, int originalContext, int layers) {
            double[][] perLayer = new double[layers][];
            java.util.Arrays.fill(perLayer, divided(plainFreq, longFactors));
            return new LongRope(originalContext, perLayer);
        }
    }

    /** Layer l's inverse frequencies for a prompt of n tokens. */
    public double[] invFreq(int layer, int n) {
        return longRope != null && n > longRope.originalContext() ? longRope.invFreq()[layer] : invFreq[layer];
    }

    public int qDim() { return heads * headDim; }
    public int kvDim() { return kvHeads * headDim; }
    public double embedScale(Family f) { return f.embeddingScale() ? Math.sqrt(dim) : 1.0; }

    /** Standard RoPE inverse frequencies base^(-2i/rotaryDim). */
    public static double[] ropeInvFreq(double base, int rotaryDim) {
        double[] f = new double[rotaryDim / 2];
        for (int i = 0; i < f.length; i++) f[i] = Math.pow(base, -2.0 * i / rotaryDim);
        return f;
    }

    /**
     * Llama 3 frequency scaling: wavelengths above the original context's low-frequency bound are
     * stretched by {@code factor}, those below the high-frequency bound kept, and those between
     * interpolated smoothly.
     */
    public static double[] llama3InvFreq(double[] inv, double factor, double lowFreqFactor, double highFreqFactor,
                                         double originalContext) {
        double lowWavelen = originalContext / lowFreqFactor, highWavelen = originalContext / highFreqFactor;
        double[] f = new double[inv.length];
        for (int i = 0; i < inv.length; i++) {
            double wavelen = 2 * Math.PI / inv[i];
            if (wavelen < highWavelen) f[i] = inv[i];
            else if (wavelen > lowWavelen) f[i] = inv[i] / factor;
            else {
                double smooth = (originalContext / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
                f[i] = (1 - smooth) * inv[i] / factor + smooth * inv[i];
            }
        }
        return f;
    }

    /** Linear RoPE scaling: every frequency divided by {@code factor}. */
    public static double[] linear(double[] inv, double factor) {
        double[] f = new double[inv.length];
        for (int i = 0; i < inv.length; i++) f[i] = inv[i] / factor;
        return f;
    }

    /** inv[i] / divisors[i]: per-frequency factors as GGUF stores them (rope_freqs, rope_factors_*). */
    public static double[] divided(double[] inv, double[] divisors) {
        double[] f = new double[inv.length];
        for (int i = 0; i < inv.length; i++) f[i] = inv[i] / divisors[i];
        return f;
    }
}
