package linlens.model;

import java.util.List;

/**
 * What distinguishes one decoder family from another, as data: one {@link Transformer} runs
 * them all. Adding a family means adding a description here, not a model class.
 *
 * @param name            the family's name, e.g. "gemma3"
 * @param ggufArchitectures GGUF {@code general.architecture} values that map to this family
 * @param preAttnNorm     RMSNorm on the residual stream before attention
 * @param postAttnNorm    RMSNorm on the attention output inside the residual branch
 * @param preFfnNorm      RMSNorm on the residual stream before the MLP
 * @param postFfnNorm     RMSNorm on the MLP output inside the residual branch
 * @param qkNorm          RMSNorm on queries and keys
 * @param activation      the gate activation of the gated MLP
 * @param rope            how rotary pairs are laid out in a head
 * @param embeddingScale  multiply input embeddings by sqrt(hidden size)
 * @param swaPattern      every {@code swaPattern}-th layer is global, the others use the sliding
 *                        window (0: all layers use the window from the config, if any)
 */
public record Family(
        String name,
        List<String> ggufArchitectures,
        boolean preAttnNorm,
        boolean postAttnNorm,
        boolean preFfnNorm,
        boolean postFfnNorm,
        QkNorm qkNorm,
        Activation activation,
        RopeStyle rope,
        boolean embeddingScale,
        int swaPattern) {

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

    /** Gemma 3: sandwich norms, per-head QK-norm, GELU-tanh gate, sqrt(d) embedding scale, 5 local : 1 global. */
    public static final Family GEMMA3 = new Family("gemma3", List.of("gemma3", "gemma3_text"),
            true, true, true, true, QkNorm.PER_HEAD, Activation.GELU_TANH, RopeStyle.NEOX, true, 6);

    public static final List<Family> ALL = List.of(GEMMA3);

    /** The family for a GGUF architecture name, or null. */
    public static Family forGguf(String architecture) {
        for (Family f : ALL) if (f.ggufArchitectures.contains(architecture)) return f;
        return null;
    }

    /** Names of the supported GGUF architectures, for error messages. */
    public static String supportedGguf() {
        return String.join(", ", ALL.stream().flatMap(f -> f.ggufArchitectures.stream()).toList());
    }

}
