package linlens.model;

/**
 * Everything one forward pass over a prompt leaves behind, in fp64.
 *
 * @param x        input embeddings as the first layer receives them (scaled), n×d
 * @param resid    resid[l] is the residual stream entering layer l (resid[L] leaves the last), n×d each
 * @param attnOut  each layer's attention branch output before it joins the residual, n×d
 * @param mlpOut   each layer's MLP branch output before it joins the residual, n×d
 * @param y        the last position's final-normed hidden state (the output embedding), d
 * @param logits   the next-token logits at the last position
 * @param activations per layer, the intermediates true backpropagation needs; null unless asked for
 */
public record ForwardTrace(int[] ids, double[] x, double[][] resid, double[][] attnOut, double[][] mlpOut,
                           double[] y, double[] logits, Frozen frozen, Activations[] activations) {
    public int n() { return ids.length; }

    /**
     * One layer's intermediates, n rows each.
     *
     * @param attnRaw attention output projection before any post-attention norm (n×d)
     * @param hMid    residual stream between attention and MLP (n×d)
     * @param mlpRaw  MLP down projection before any post-MLP norm (n×d)
     * @param qRaw    queries before QK-norm and RoPE (n×H·hd); kRaw likewise (n×KV·hd)
     * @param qRot    queries as used in the scores, after QK-norm and RoPE; kRot likewise
     * @param v       values (n×KV·hd)
     * @param gate    gate projection before the activation (n×F)
     */
    public record Activations(double[] attnRaw, double[] hMid, double[] mlpRaw, double[] qRaw, double[] kRaw,
                              double[] qRot, double[] kRot, double[] v, double[] gate) {}
}
