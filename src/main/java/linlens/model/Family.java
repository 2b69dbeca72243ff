package linlens.model;

import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * What distinguishes one decoder family from another, as data: one {@link Transformer} runs
 * them all, and the loaders read every family rule from here. Adding a family means adding a
 * description here, not a model class or a branch in a loader. Features that a checkpoint shows
 * by its tensors or its config (q/k/v/o biases, fused qkv or gate_up weights, a separate output
 * head, partial rotary, RoPE scaling types such as llama3 and longrope) are read from the
 * checkpoint; those it does not show are stated here.
 *
 * <p>A family starts from {@link #plain}, the plain pre-norm decoder (Llama's block), and states
 * only what differs with the {@code with...} methods. Each component, and its plain default:
 *
 * @param name                  the family's name, e.g. "gemma3" (no default)
 * @param ggufArchitectures     GGUF {@code general.architecture} values that map to this family;
 *                              default none (the family has no GGUF form of its own)
 * @param hfModelTypes          Hugging Face {@code config.json} {@code model_type} values that
 *                              map to it; default none
 * @param norms                 which RMSNorms the block has, by their Hugging Face names;
 *                              default {@link Norms#PRE}: before attention and before the MLP
 * @param hfNormOffset          Hugging Face stores norm weights w and applies (offset + w); GGUF
 *                              converters already added it. Default 0
 * @param qkNorm                RMSNorm on queries and keys; default {@link QkNorm#NONE}
 * @param activation            the gate activation of the gated MLP; default {@link Activation#SILU}
 * @param embeddingScale        multiply input embeddings by sqrt(hidden size); default false
 * @param ggufRope              how rotary pairs are laid out in a head of a GGUF file (Hugging Face
 *                              checkpoints always rotate halves; llama.cpp's converter permutes
 *                              Llama's q/k rows to interleaved pairs); default {@link RopeStyle#NEOX}
 * @param slidingWindows        which layers use the model's sliding window when config.json has
 *                              no {@code layer_types} (which decides when present) and in GGUF
 *                              files; default {@link SlidingWindows#EVERY_LAYER}
 * @param localRopeBase         the sliding-window layers' own RoPE base, where they do not rotate
 *                              like the global layers; default null: they rotate like them
 * @param ggufLinearRopeScaling a GGUF file's {@code rope.scaling.factor} divides the global
 *                              layers' RoPE frequencies (linear scaling); default false: the key
 *                              is not read (Hugging Face configs state their scaling type, read
 *                              in every family)
 * @param ggufQueryScalar       the query pre-attention scalar of a GGUF file, which has no key for
 *                              it (config.json's {@code query_pre_attn_scalar} is read in every
 *                              family); default {@link QueryScalar#HEAD_DIM}
 */
public record Family(
        String name,
        List<String> ggufArchitectures,
        List<String> hfModelTypes,
        Norms norms,
        double hfNormOffset,
        QkNorm qkNorm,
        Activation activation,
        boolean embeddingScale,
        RopeStyle ggufRope,
        SlidingWindows slidingWindows,
        LocalRopeBase localRopeBase,
        boolean ggufLinearRopeScaling,
        QueryScalar ggufQueryScalar) {

    public Family {
        Objects.requireNonNull(name);
        ggufArchitectures = List.copyOf(ggufArchitectures);
        hfModelTypes = List.copyOf(hfModelTypes);
        Objects.requireNonNull(norms);
        Objects.requireNonNull(qkNorm);
        Objects.requireNonNull(activation);
        Objects.requireNonNull(ggufRope);
        Objects.requireNonNull(slidingWindows);
        Objects.requireNonNull(ggufQueryScalar);
    }

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

    /**
     * The block's RMSNorms in the order pre-attention, post-attention (on the attention output,
     * inside the residual branch), pre-MLP, post-MLP; each given by its Hugging Face name (after
     * {@code model.layers.N.}), null where the block has none. GGUF files name the four the same
     * way in every family.
     */
    public record Norms(String preAttn, String postAttn, String preFfn, String postFfn) {
        /** No norm in the block: the start for a block without the plain pre-norms. */
        public static final Norms NONE = new Norms(null, null, null, null);
        /** The plain pre-norm block: input_layernorm before attention, post_attention_layernorm before the MLP. */
        public static final Norms PRE = NONE.withPreAttn("input_layernorm").withPreFfn("post_attention_layernorm");

        public Norms withPreAttn(String hfName) { return new Norms(hfName, postAttn, preFfn, postFfn); }
        public Norms withPostAttn(String hfName) { return new Norms(preAttn, hfName, preFfn, postFfn); }
        public Norms withPreFfn(String hfName) { return new Norms(preAttn, postAttn, hfName, postFfn); }
        public Norms withPostFfn(String hfName) { return new Norms(preAttn, postAttn, preFfn, hfName); }
    }

    /**
     * Which layers attend within the model's sliding window (when it has one). config.json's
     * {@code layer_types}, when present, decides instead in every family.
     */
    public sealed interface SlidingWindows {
        /** Every layer uses the window (the plain default). */
        SlidingWindows EVERY_LAYER = new EveryLayer();
        /**
         * Qwen's older configs: with {@code use_sliding_window}, the layers from index
         * {@code max_window_layers} on use the window, those before it attend globally; a config
         * without these keys windows every layer. GGUF files window every layer.
         */
        SlidingWindows FROM_MAX_WINDOW_LAYERS = new FromMaxWindowLayers();

        /** Every {@code n}-th layer (n−1, 2n−1, …) attends globally, the others within the window. */
        static SlidingWindows globalEvery(int n) { return new GlobalEvery(n); }

        /** Whether layer {@code layer} uses the window, as far as the family decides it. */
        boolean windowed(int layer);

        record EveryLayer() implements SlidingWindows {
            public boolean windowed(int layer) { return true; }
        }

        record FromMaxWindowLayers() implements SlidingWindows {
            public boolean windowed(int layer) { return true; }
        }

        record GlobalEvery(int n) implements SlidingWindows {
            public GlobalEvery {
                if (n < 1) throw new IllegalArgumentException("n = " + n);
            }

            public boolean windowed(int layer) { return layer % n < n - 1; }
        }
    }

    /**
     * The sliding-window layers' own RoPE base, read from {@code ggufKey} (after the
     * architecture's prefix) or, in configs without {@code rope_parameters}, {@code hfLegacyKey};
     * {@code fallback} when the file has no such key. These layers then rotate with this base
     * and no frequency scaling (transformers 5 configs state their parameters per layer type).
     */
    public record LocalRopeBase(String ggufKey, String hfLegacyKey, double fallback) {}

    /** The query pre-attention scalar s: attention scores are q·k / sqrt(s). */
    @FunctionalInterface
    public interface QueryScalar {
        /** The head size: scores q·k / sqrt(head size). */
        QueryScalar HEAD_DIM = (layers, dim, heads, headDim) -> headDim;

        double of(int layers, int dim, int heads, int headDim);
    }

    /** The plain pre-norm decoder named {@code name}: every component at its default (see the class comment). */
    public static Family plain(String name) {
        return new Family(name, List.of(), List.of(), Norms.PRE, 0, QkNorm.NONE, Activation.SILU, false,
                RopeStyle.NEOX, SlidingWindows.EVERY_LAYER, null, false, QueryScalar.HEAD_DIM);
    }

    public Family gguf(String... architectures) { return with(d -> d.ggufArchitectures = List.of(architectures)); }
    public Family hf(String... modelTypes) { return with(d -> d.hfModelTypes = List.of(modelTypes)); }
    public Family withNorms(Norms v) { return with(d -> d.norms = v); }
    public Family withHfNormOffset(double v) { return with(d -> d.hfNormOffset = v); }
    public Family withQkNorm(QkNorm v) { return with(d -> d.qkNorm = v); }
    public Family withActivation(Activation v) { return with(d -> d.activation = v); }
    public Family withEmbeddingScale() { return with(d -> d.embeddingScale = true); }
    public Family withGgufRope(RopeStyle v) { return with(d -> d.ggufRope = v); }
    public Family withSlidingWindows(SlidingWindows v) { return with(d -> d.slidingWindows = v); }
    public Family withLocalRopeBase(LocalRopeBase v) { return with(d -> d.localRopeBase = v); }
    public Family withGgufLinearRopeScaling() { return with(d -> d.ggufLinearRopeScaling = true); }
    public Family withGgufQueryScalar(QueryScalar v) { return with(d -> d.ggufQueryScalar = v); }

    /** A copy with {@code change} applied: the one place that lists the components in order. */
    private Family with(Consumer<Draft> change) {
        Draft d = new Draft(this);
        change.accept(d);
        return new Family(d.name, d.ggufArchitectures, d.hfModelTypes, d.norms, d.hfNormOffset, d.qkNorm, d.activation,
                d.embeddingScale, d.ggufRope, d.slidingWindows, d.localRopeBase, d.ggufLinearRopeScaling, d.ggufQueryScalar);
    }

    /** The components of a family being changed. */
    private static final class Draft {
        String name;
        List<String> ggufArchitectures, hfModelTypes;
        Norms norms;
        double hfNormOffset;
        QkNorm qkNorm;
        Activation activation;
        boolean embeddingScale;
        RopeStyle ggufRope;
        SlidingWindows slidingWindows;
        LocalRopeBase localRopeBase;
        boolean ggufLinearRopeScaling;
        QueryScalar ggufQueryScalar;

        Draft(Family f) {
            name = f.name; ggufArchitectures = f.ggufArchitectures; hfModelTypes = f.hfModelTypes; norms = f.norms;
            hfNormOffset = f.hfNormOffset; qkNorm = f.qkNorm; activation = f.activation; embeddingScale = f.embeddingScale;
            ggufRope = f.ggufRope; slidingWindows = f.slidingWindows; localRopeBase = f.localRopeBase;
            ggufLinearRopeScaling = f.ggufLinearRopeScaling; ggufQueryScalar = f.ggufQueryScalar;
        }
    }

    /**
     * Gemma 3: sandwich norms with (1 + w) weights, per-head QK-norm, GELU-tanh gate, sqrt(d)
     * embedding scale, 5 local : 1 global layers, the local ones rotating with their own base.
     */
    public static final Family GEMMA3 = plain("gemma3").gguf("gemma3", "gemma3_text").hf("gemma3_text")
            .withNorms(Norms.PRE.withPostAttn("post_attention_layernorm")
                    .withPreFfn("pre_feedforward_layernorm").withPostFfn("post_feedforward_layernorm"))
            .withHfNormOffset(1.0)
            .withQkNorm(QkNorm.PER_HEAD)
            .withActivation(Activation.GELU_TANH)
            .withEmbeddingScale()
            .withSlidingWindows(SlidingWindows.globalEvery(6))
            .withLocalRopeBase(new LocalRopeBase("rope.freq_base_swa", "rope_local_base_freq", 10000.0))
            .withGgufLinearRopeScaling()
            // Gemma 3 27B (62 layers) scales queries by its query_pre_attn_scalar = d / heads, not
            // the head size; GGUF has no key for it, and llama.cpp decides by the layer count too.
            .withGgufQueryScalar((layers, dim, heads, headDim) -> layers == 62 ? (double) dim / heads : headDim);

    /** Llama 3 (and Mistral, which llama.cpp stores as "llama"): the plain block; llama.cpp interleaves rotary pairs. */
    public static final Family LLAMA = plain("llama").gguf("llama").hf("llama")
            .withGgufRope(RopeStyle.INTERLEAVED);

    /** Mistral and Ministral: Llama's block with sliding windows (all layers, or per {@code layer_types}); no GGUF form of its own. */
    public static final Family MISTRAL = plain("mistral").hf("mistral", "ministral");

    /** Qwen 2 / 2.5 and the DeepSeek-R1 distills of them: q/k/v biases (seen in the tensors) make the map affine. */
    public static final Family QWEN2 = plain("qwen2").gguf("qwen2").hf("qwen2")
            .withSlidingWindows(SlidingWindows.FROM_MAX_WINDOW_LAYERS);

    /** Qwen 3: per-head QK-norm. */
    public static final Family QWEN3 = plain("qwen3").gguf("qwen3").hf("qwen3")
            .withQkNorm(QkNorm.PER_HEAD)
            .withSlidingWindows(SlidingWindows.FROM_MAX_WINDOW_LAYERS);

    /** Phi 3 / Phi 4: the plain block; its fused qkv and gate_up, partial rotary and longrope show in the checkpoint. */
    public static final Family PHI3 = plain("phi3").gguf("phi3").hf("phi3");

    /** OLMo 2: norms only on the branch outputs inside the residual, QK-norm over all of q and k. */
    public static final Family OLMO2 = plain("olmo2").gguf("olmo2").hf("olmo2")
            .withNorms(Norms.NONE.withPostAttn("post_attention_layernorm").withPostFfn("post_feedforward_layernorm"))
            .withQkNorm(QkNorm.FULL);

    /** The registry, in the order error messages list the supported names. */
    private static final List<Family> ALL = List.of(GEMMA3, LLAMA, MISTRAL, QWEN2, QWEN3, PHI3, OLMO2);

    /** Every supported family. */
    public static List<Family> all() { return ALL; }

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
