package linlens.model;

/**
 * Everything one forward pass over a prompt leaves behind, in fp64. Step numbers are the
 * block's ({@link Transformer}); every (rows, cols) array is row-major, one row per position.
 *
 * @param ids      the prompt's token ids, (n)
 * @param x        input embeddings as the first layer receives them (scaled), (n, d)
 * @param resid    resid[l] is the residual stream entering layer l (resid[L] leaves the last), L+1 × (n, d)
 * @param attnOut  each layer's attention branch output before it joins the residual (after step 6's
 *                 post-norm), L × (n, d)
 * @param mlpOut   each layer's MLP branch output before it joins the residual (after step 9's
 *                 post-norm), L × (n, d)
 * @param y        the last position's final-normed hidden state (the output embedding), (d)
 * @param logits   the next-token logits at the last position, (vocab); null when not asked for
 * @param activations per layer, the intermediates true backpropagation needs; null unless asked for
 */
public record ForwardTrace(int[] ids, double[] x, double[][] resid, double[][] attnOut, double[][] mlpOut,
                           double[] y, double[] logits, Frozen frozen, Activations[] activations) {
    public int n() { return ids.length; }

    /**
     * One layer's intermediates, row-major, one row per position.
     *
     * @param attnRaw attention output projection before any post-attention norm (step 5's o), (n, d)
     * @param hMid    residual stream between attention and MLP (after step 6), (n, d)
     * @param mlpRaw  MLP down projection before any post-MLP norm (step 8's f), (n, d)
     * @param qRaw    queries before QK-norm and RoPE (step 2), (n, H·hd), head h at columns h·hd;
     *                kRaw likewise, (n, KV·hd)
     * @param qRot    queries as used in the scores, after QK-norm and RoPE (step 3), (n, H·hd);
     *                kRot likewise, (n, KV·hd)
     * @param v       values (step 2), (n, KV·hd)
     * @param gate    gate projection before the activation (step 8's m·Wgateᵀ), (n, F)
     */
    public record Activations(double[] attnRaw, double[] hMid, double[] mlpRaw, double[] qRaw, double[] kRaw,
                              double[] qRot, double[] kRot, double[] v, double[] gate) {}
}
