package linlens.model;

import java.util.List;

/**
 * What distinguishes one decoder family from another, as data: one {@link Transformer} runs
 * them all. Adding a family means adding a description here, not a model class. Features that a
 * checkpoint shows by its tensors (q/k/v/o biases, fused qkv or gate_up weights, a separate
 * output head) are read from the tensors; those it does not show are stated here.
 *
 * @param name            the family's name, e.g. "gemma3"
 * @param ggufArchitectures GGUF {@code general.architecture} values that map to this family
 * @param hfModelTypes    Hugging Face {@code config.json} {@code model_type} values that map to it
 * @param preAttnNorm     RMSNorm on the residual stream before attention
 * @param postAttnNorm    RMSNorm on the attention output inside the residual branch
 * @param preFfnNorm      RMSNorm on the residual stream before the MLP
 * @param postFfnNorm     RMSNorm on the MLP output inside the residual branch
 * @param qkNorm          RMSNorm on queries and keys
 * @param activation      the gate activation of the gated MLP
 * @param ggufRope        how rotary pairs are laid out in a head of a GGUF file (Hugging Face
 *                        checkpoints always rotate halves; llama.cpp's converter permutes Llama's
 *                        q/k rows to interleaved pairs)
 * @param embeddingScale  multiply input embeddings by sqrt(hidden size)
 * @param swaPattern      every {@code swaPattern}-th layer is global, the others use the sliding
 *                        window (0: all layers use the window from the config, if any)
 * @param hfNorms         the Hugging Face names of the block's norms
 * @param hfNormOffset    Hugging Face stores norm weights w and applies (offset + w); GGUF
 *                        converters already added it
 */
public record Family(
        String name,
        List<String> ggufArchitectures,
        List<String> hfModelTypes,
        boolean preAttnNorm,
        boolean postAttnNorm,
        boolean preFfnNorm,
        boolean postFfnNorm,
        QkNorm qkNorm,
        Activation activation,
        RopeStyle ggufRope,
        boolean embeddingScale,
        int swaPattern,
        HfNorms hfNorms,
        double hfNormOffset) {

    /** NONE, PER_HEAD (one weight of head size shared by heads), FULL (over all of q and of k). */
    public enum QkNorm { NONE, PER_HEAD, FULL }

    /** Gate activations, written act(g) = g·φ(g). */
    public enum Activation {
        SILU, GELU_TANH;

        private static final double C = 0.7978845608028654; // sqrt(2/π)

        /** φ(g) with act(g) = g·φ(g): the factor the GATE linear path freezes. */
        public double factor(double g) {
            return switch (this) {
                case SILU -> 1.0 / (1.0 + Math.exp(-g));
                case GELU_TANH -> 0.5 * (1.0 + Math.tanh(C * (g + 0.044715 * g * g * g)));
            };
        }

        /** act'(g), for true backpropagation (the ordinary Jacobian). */
        public double derivative(double g) {
            return switch (this) {
                case SILU -> { double s = factor(g); yield s + g * s * (1 - s); }
                case GELU_TANH -> {
                    double th = Math.tanh(C * (g + 0.044715 * g * g * g));
                    yield 0.5 * (1 + th) + 0.5 * g * (1 - th * th) * C * (1 + 3 * 0.044715 * g * g);
                }
            };
        }
    }

    /** NEOX rotates the two halves of a head against each other; INTERLEAVED rotates (2i, 2i+1). */
    public enum RopeStyle { NEOX, INTERLEAVED }

    /** Names (after {@code model.layers.N.}) of the norms in the order pre-attn, post-attn, pre-FFN, post-FFN; null where absent. */
    public record HfNorms(String preAttn, String postAttn, String preFfn, String postFfn) {}

    private static final HfNorms PRE_NORMS = new HfNorms("input_layernorm", null, "post_attention_layernorm", null);

    /** Gemma 3: sandwich norms, per-head QK-norm, GELU-tanh gate, sqrt(d) embedding scale, 5 local : 1 global. */
    public static final Family GEMMA3 = new Family("gemma3", List.of("gemma3", "gemma3_text"), List.of("gemma3_text"),
            true, true, true, true, QkNorm.PER_HEAD, Activation.GELU_TANH, RopeStyle.NEOX, true, 6,
            new HfNorms("input_layernorm", "post_attention_layernorm", "pre_feedforward_layernorm", "post_feedforward_layernorm"),
            1.0);

    /** Llama 3 (and Mistral, which llama.cpp stores as "llama"): pre-norms, SiLU, llama3 RoPE scaling. */
    public static final Family LLAMA = new Family("llama", List.of("llama"), List.of("llama"),
            true, false, true, false, QkNorm.NONE, Activation.SILU, RopeStyle.INTERLEAVED, false, 0, PRE_NORMS, 0);

    /** Mistral and Ministral: Llama's block with sliding windows (all layers, or per {@code layer_types}). */
    public static final Family MISTRAL = new Family("mistral", List.of(), List.of("mistral", "ministral"),
            true, false, true, false, QkNorm.NONE, Activation.SILU, RopeStyle.INTERLEAVED, false, 0, PRE_NORMS, 0);

    /** Qwen 2 / 2.5 and the DeepSeek-R1 distills of them: q/k/v biases make the map affine. */
    public static final Family QWEN2 = new Family("qwen2", List.of("qwen2"), List.of("qwen2"),
            true, false, true, false, QkNorm.NONE, Activation.SILU, RopeStyle.NEOX, false, 0, PRE_NORMS, 0);

    /** Qwen 3: per-head QK-norm. */
    public static final Family QWEN3 = new Family("qwen3", List.of("qwen3"), List.of("qwen3"),
            true, false, true, false, QkNorm.PER_HEAD, Activation.SILU, RopeStyle.NEOX, false, 0, PRE_NORMS, 0);

    /** Phi 3 / Phi 4: fused qkv and gate_up, partial rotary with longrope factors. */
    public static final Family PHI3 = new Family("phi3", List.of("phi3"), List.of("phi3"),
            true, false, true, false, QkNorm.NONE, Activation.SILU, RopeStyle.NEOX, false, 0, PRE_NORMS, 0);

    /** OLMo 2: norms only on the branch outputs inside the residual, QK-norm over all of q and k. */
    public static final Family OLMO2 = new Family("olmo2", List.of("olmo2"), List.of("olmo2"),
            false, true, false, true, QkNorm.FULL, Activation.SILU, RopeStyle.NEOX, false, 0,
            new HfNorms(null, "post_attention_layernorm", null, "post_feedforward_layernorm"), 0);

    public static final List<Family> ALL = List.of(GEMMA3, LLAMA, MISTRAL, QWEN2, QWEN3, PHI3, OLMO2);

    /** The family for a GGUF architecture name, or null. */
    public static Family forGguf(String architecture) {
        for (Family f : ALL) if (f.ggufArchitectures.contains(architecture)) return f;
        return null;
    }

    /** The family for a Hugging Face {@code model_type}, or null. */
    public static Family forHf(String modelType) {
        for (Family f : ALL) if (f.hfModelTypes.contains(modelType)) return f;
        return null;
    }

    /** Names of the supported GGUF architectures, for error messages. */
    public static String supportedGguf() {
        return String.join(", ", ALL.stream().flatMap(f -> f.ggufArchitectures.stream()).toList());
    }

    /** Names of the supported Hugging Face model types, for error messages. */
    public static String supportedHf() {
        return String.join(", ", ALL.stream().flatMap(f -> f.hfModelTypes.stream()).toList());
    }
}
