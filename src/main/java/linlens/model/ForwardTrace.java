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
 */
public record ForwardTrace(int[] ids, double[] x, double[][] resid, double[][] attnOut, double[][] mlpOut,
                           double[] y, double[] logits, Frozen frozen) {
    public int n() { return ids.length; }
}
