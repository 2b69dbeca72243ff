package linlens.model;

import linlens.format.StoredMatrix;
import linlens.tokenizer.Tokenizer;

/**
 * A loaded decoder: its family, hyperparameters, tokenizer and weights in stored form.
 * Norm weights are plain vectors already including any (1+w) offset the family uses.
 *
 * <h2>The block</h2>
 * The one statement of the decoder that every family runs. {@link ForwardPass} computes it,
 * {@code linear.DetachedSystem} applies its detached linear form and {@code linear.OrdinaryJacobian}
 * backpropagates through it, all three in this step order (reverse sweeps in reverse), and their
 * comments cite the steps as "block step N". Shapes: n positions, width d, H query heads and KV
 * key/value heads of size hd, MLP width F; every stream is row-major, one row per position.
 * <pre>
 *   h = scale · E[ids]                                  (n, d)  scale = sqrt(d) where the family says so, else 1
 *   per layer l:
 *     1  a = preAttnNorm(h)                             RMSNorm w ⊙ x / rms(x) per row; identity where absent
 *     2  q = a·Wqᵀ + bq   k = a·Wkᵀ + bk   v = a·Wvᵀ + bv   (n, H·hd), (n, KV·hd), (n, KV·hd)
 *     3  q = rope_l(qkNorm(q))   k = rope_l(qkNorm(k))  QK-norm per head, over all heads, or none
 *     4  P_h = softmax(attnScale · q_h k_gᵀ)            (n, n) per head, causal and within window_l;
 *                                                       g = h / (H/KV), the head's key/value group
 *     5  o = [P_0 v_g(0) | … | P_{H−1} v_g(H−1)]·Woᵀ + bo
 *     6  h = h + postAttnNorm(o)
 *     7  m = preFfnNorm(h)
 *     8  f = (act(m·Wgateᵀ) ⊙ m·Wupᵀ)·Wdownᵀ            (n, F) inside; act(g) = g·φ(g)
 *     9  h = h + postFfnNorm(f)
 *   y = finalNorm(h)[n−1]    logits = W_U·y
 * </pre>
 * In nanoGPT's two lines: {@code h = h + postAttnNorm(attn(preAttnNorm(h)))} (steps 1–6);
 * {@code h = h + postFfnNorm(mlp(preFfnNorm(h)))} (steps 7–9).
 *
 * <p><b>Family switches.</b> Which of the four norms exist (a null vector in {@link Layer} is the
 * identity): pre-norms only (Llama, Mistral, Qwen, Phi), post-norms only (OLMo 2), both (Gemma 3's
 * sandwich). QK-norm (step 3): none, per head (hd values), or over all H·hd of a position (OLMo 2).
 * RoPE (step 3): pair layout, rotated dimensions and per-layer frequencies, from {@link ModelConfig}.
 * Window (step 4): per layer, 0 for global. Activation (step 8): SiLU or GELU-tanh. Biases (steps 2
 * and 5): where the checkpoint has them (Qwen 2). Embedding scale: Gemma.
 *
 * <p><b>Detach points</b> ({@link Frozen}, METHOD.md "Freezing the nonlinearities"): each
 * nonlinearity is A(x)·x with A(x) held at this prompt's value.
 * <ul>
 *   <li>Steps 1, 6, 7, 9 and the final norm: the per-row scales w ⊙ 1/rms(x), a fixed diagonal per position.</li>
 *   <li>Step 4: every P_h. Queries and keys then carry no derivative, so steps 2–3 keep only v (QK-norm
 *       and RoPE need no detach point of their own) and bq, bk drop out.</li>
 *   <li>Step 8: {@link MlpPath#UP} freezes act(m·Wgateᵀ) and stays linear through Wup;
 *       {@link MlpPath#GATE} freezes φ(m·Wgateᵀ) and m·Wupᵀ and stays linear through Wgate.</li>
 *   <li>Residual additions and the embedding scale are linear already; bv and bo are the affine constant.</li>
 * </ul>
 * The detached block is then h = h + post ⊙ ([P_h (pre ⊙ h)·Wv_gᵀ]_h·Woᵀ) followed by
 * h = h + post ⊙ ((c ⊙ (pre ⊙ h)·Wpathᵀ)·Wdownᵀ), with c the frozen MLP coefficient.
 */
public record Transformer(Family family, ModelConfig config, Tokenizer tokenizer, StoredMatrix embedding,
                          StoredMatrix output, double[] outputNorm, Layer[] layers, String source) {

    /**
     * One block's weights. Norm vectors and biases are null where the model has none.
     * q/k/v/o and gate/up/down are matrices with rows = output features: wq (H·hd, d), wk and wv
     * (KV·hd, d), wo (d, H·hd), gate and up (F, d), down (d, F). Norms: attnNorm, postAttnNorm,
     * ffnNorm, postFfnNorm (d); qNorm, kNorm (hd, or H·hd and KV·hd for QK-norm over all heads).
     */
    public record Layer(double[] attnNorm, StoredMatrix wq, StoredMatrix wk, StoredMatrix wv, StoredMatrix wo,
                        double[] bq, double[] bk, double[] bv, double[] bo,
                        double[] qNorm, double[] kNorm, double[] postAttnNorm,
                        double[] ffnNorm, StoredMatrix gate, StoredMatrix up, StoredMatrix down,
                        double[] postFfnNorm) {}

    public boolean tiedHead() { return output == embedding; }
}
