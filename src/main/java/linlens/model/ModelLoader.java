package linlens.model;

import linlens.format.Dequant;
import linlens.format.GgmlType;
import linlens.format.GgufFile;
import linlens.format.GgufTensor;
import linlens.format.ModelLimits;
import linlens.format.SafetensorsTensor;
import linlens.format.ModelFormatException;
import linlens.format.RowSlice;
import linlens.format.StoredMatrix;
import linlens.tokenizer.Tokenizer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;
import java.util.function.Function;

/**
 * Opens a model (a GGUF file, or a Hugging Face folder with config.json) and builds a
 * {@link Transformer} from its family description. Both formats share {@link #layers}: only the
 * tensor names and the hyperparameter keys differ.
 */
public final class ModelLoader {
    private ModelLoader() {}

    /**
     * Loads a model file or folder. Every problem with the file is a {@link ModelFormatException}
     * naming it: the explicit checks come first; any other exception the parsing raises (a bug the
     * checks missed, or a broken file they did not foresee) is wrapped as a safety net, and so is
     * running out of heap while loading.
     */
    public static Transformer load(Path path) {
        try {
            return loadChecked(path);
        } catch (ModelFormatException | InputException e) {
            throw e;
        } catch (OutOfMemoryError e) {
            throw new ModelFormatException(String.format("%s: loading the model ran out of heap (the JVM has %.1f GB); "
                    + "set LINLENS_JAVA_OPTS=-Xmx<more>g", path, Runtime.getRuntime().maxMemory() / 1e9), e);
        } catch (RuntimeException e) {
            String msg = e.getMessage() == null || e.getMessage().contains("MemorySegment") ? ""
                    : ": " + e.getMessage().lines().findFirst().orElse("");
            throw new ModelFormatException(path + ": corrupt model file (" + e.getClass().getSimpleName() + msg + ")", e);
        }
    }

    private static Transformer loadChecked(Path path) {
        if (Files.isDirectory(path)) return HfLoader.load(path);
        GgufFile gguf = GgufFile.open(path);
        try {
            return fromGguf(gguf);
        } catch (RuntimeException | Error e) {
            gguf.close();
            throw e;
        }
    }

    /** Heads, kv heads and head size agree: kv heads divide the heads, and the q and kv widths stay bounded. */
    static void checkHeads(Object file, int heads, int kvHeads, int headDim, String headsKey, String kvKey, String headDimKey) {
        if (kvHeads > heads || heads % kvHeads != 0)
            throw new ModelFormatException(file + ": " + headsKey + " = " + heads + " is not a multiple of "
                    + kvKey + " = " + kvHeads);
        if ((long) heads * headDim > ModelLimits.MAX_WIDTH)
            throw new ModelFormatException(file + ": " + headsKey + " × " + headDimKey + " = " + heads + " × " + headDim
                    + " is implausibly large (the limit is " + ModelLimits.MAX_WIDTH + ")");
    }

    /** The embedding's row count (the vocabulary), bounded. */
    static int vocabRows(Object file, StoredMatrix embd) {
        return ModelLimits.count(file, "tensor " + embd.name() + " rows (the vocabulary)", embd.rows(), 1, ModelLimits.MAX_VOCAB);
    }

    /**
     * Last checks of a configuration built from validated fields: derived numbers are finite, and
     * the heap can hold what loading and a one-token forward pass allocate from these counts.
     */
    static void checkConfig(Object file, ModelConfig c) {
        for (double[][] perLayer : c.longRope() == null ? new double[][][] {c.invFreq()}
                : new double[][][] {c.invFreq(), c.longRope().invFreq()})
            for (double[] inv : perLayer)
                for (double f : inv)
                    if (!Double.isFinite(f) || f < 0)
                        throw new ModelFormatException(file + ": the RoPE parameters give a non-finite frequency (" + f + ")");
        if (!(Double.isFinite(c.attnScale()) && c.attnScale() > 0))
            throw new ModelFormatException(file + ": attention scale " + c.attnScale() + " is not a finite number > 0");
        if (!(Double.isFinite(c.ropeAttnFactor()) && c.ropeAttnFactor() > 0))
            throw new ModelFormatException(file + ": RoPE attention factor " + c.ropeAttnFactor() + " is not a finite number > 0");
        // Per layer: norm weights and biases (doubles, plus their float staging) and a one-token
        // forward pass's kept rows (residuals, branch outputs, frozen MLP factors); plus logits.
        long perLayer = 12L * (6L * c.dim() + 2L * c.qDim() + 3L * c.kvDim()) + 8L * (6L * c.dim() + 6L * c.ffnDim());
        ModelLimits.requireHeap(file, perLayer * c.layers() + 16L * c.vocab(),
                c.layers() + " layers of width " + c.dim() + " and MLP width " + c.ffnDim());
    }

    /** Where a loader finds tensors: by name, null when absent; {@code where} names the source in errors. */
    record Tensors(String where, Function<String, StoredMatrix> lookup) {
        StoredMatrix find(String name) { return lookup.apply(name); }

        StoredMatrix require(String name) {
            StoredMatrix t = find(name);
            if (t == null) throw new ModelFormatException(where + ": tensor " + name + " not found");
            return decodable(t);
        }

        /** Refuses, at load time, a tensor stored in a type that cannot be decoded. */
        StoredMatrix decodable(StoredMatrix t) {
            GgmlType type = t instanceof GgufTensor g ? g.type() : t instanceof SafetensorsTensor s ? s.type() : null;
            if (type != null && !Dequant.supports(type))
                throw new ModelFormatException(where + ": tensor " + t.name() + " is stored as " + type + ", which is not supported");
            return t;
        }

        /** A vector of n finite values > 0 (RoPE frequency divisors). */
        double[] positiveVector(String name, int n) {
            double[] v = vector(name, n, 0, false);
            for (int i = 0; i < n; i++)
                if (!(Double.isFinite(v[i]) && v[i] > 0))
                    throw new ModelFormatException(where + ": tensor " + name + "[" + i + "] = " + v[i] + " must be a finite number > 0");
            return v;
        }

        /** A matrix with the expected shape ({@code rows} < 0: any row count). */
        StoredMatrix matrix(String name, int cols, int rows) {
            return checked(require(name), cols, rows);
        }

        StoredMatrix checked(StoredMatrix t, int cols, int rows) {
            decodable(t);
            if (t.cols() != cols || (rows >= 0 && t.rows() != rows))
                throw new ModelFormatException(where + ": tensor " + t.name() + " has " + t.rows() + " rows of "
                        + t.cols() + ", expected " + (rows < 0 ? "*" : rows) + " rows of " + cols);
            return t;
        }

        /** A vector of n values (plus {@code offset}), or null if the tensor is absent and optional. */
        double[] vector(String name, int n, double offset, boolean optional) {
            StoredMatrix t = find(name);
            if (t == null) {
                if (optional) return null;
                throw new ModelFormatException(where + ": tensor " + name + " not found");
            }
            decodable(t);
            if ((long) t.rows() * t.cols() != n)
                throw new ModelFormatException(where + ": tensor " + name + " has " + (long) t.rows() * t.cols()
                        + " values, expected " + n);
            float[] f = new float[n];
            t.rowsToFloat(0, t.rows(), f, 0);
            double[] d = new double[n];
            for (int i = 0; i < n; i++) d[i] = f[i] + offset;
            return d;
        }
    }

    /** What a loader reads each tensor as: the model's ends, then a block's tensors. */
    enum Role {
        EMBEDDING, OUTPUT, OUTPUT_NORM,
        ATTN_NORM, POST_ATTN_NORM, FFN_NORM, POST_FFN_NORM,
        Q, K, V, O, QKV, Q_NORM, K_NORM,
        GATE, UP, DOWN, GATE_UP
    }

    /**
     * One format's tensor names by role: the name before {@link #WEIGHT} or {@link #BIAS}, with
     * {@code %d} for the layer index in a block's tensors. A role without a name is one the
     * format leaves to the family (Hugging Face's norms, see {@link #withNorms}).
     */
    record Names(Map<Role, String> byRole) {
        static final String WEIGHT = ".weight", BIAS = ".bias";

        Names {
            byRole = Collections.unmodifiableMap(new EnumMap<>(byRole));
        }

        /** A copy with {@code role} named {@code name}. */
        Names with(Role role, String name) {
            EnumMap<Role, String> m = new EnumMap<>(Role.class);
            m.putAll(byRole);
            m.put(role, name);
            return new Names(m);
        }

        /**
         * A copy with the block's norms named after the family's ({@link Family.Norms}), each
         * prefixed by {@code layerPrefix}; the norms the family lacks stay unnamed.
         */
        Names withNorms(String layerPrefix, Family.Norms norms) {
            Names n = this;
            if (norms.preAttn() != null) n = n.with(Role.ATTN_NORM, layerPrefix + norms.preAttn());
            if (norms.postAttn() != null) n = n.with(Role.POST_ATTN_NORM, layerPrefix + norms.postAttn());
            if (norms.preFfn() != null) n = n.with(Role.FFN_NORM, layerPrefix + norms.preFfn());
            if (norms.postFfn() != null) n = n.with(Role.POST_FFN_NORM, layerPrefix + norms.postFfn());
            return n;
        }

        /** The name of {@code role}'s tensor in layer {@code layer}, with {@code suffix} (WEIGHT or BIAS). */
        String at(Role role, int layer, String suffix) { return name(role).formatted(layer) + suffix; }

        /** The name of a whole-model tensor's weight. */
        String weight(Role role) { return name(role) + WEIGHT; }

        private String name(Role role) {
            String n = byRole.get(role);
            if (n == null) throw new IllegalStateException("no tensor name for " + role);
            return n;
        }
    }

    /** llama.cpp's tensor names, the same in every family. */
    static final Names GGUF_NAMES = new Names(Map.ofEntries(
            Map.entry(Role.EMBEDDING, "token_embd"), Map.entry(Role.OUTPUT, "output"), Map.entry(Role.OUTPUT_NORM, "output_norm"),
            Map.entry(Role.ATTN_NORM, "blk.%d.attn_norm"), Map.entry(Role.POST_ATTN_NORM, "blk.%d.post_attention_norm"),
            Map.entry(Role.FFN_NORM, "blk.%d.ffn_norm"), Map.entry(Role.POST_FFN_NORM, "blk.%d.post_ffw_norm"),
            Map.entry(Role.Q, "blk.%d.attn_q"), Map.entry(Role.K, "blk.%d.attn_k"), Map.entry(Role.V, "blk.%d.attn_v"),
            Map.entry(Role.O, "blk.%d.attn_output"), Map.entry(Role.QKV, "blk.%d.attn_qkv"),
            Map.entry(Role.Q_NORM, "blk.%d.attn_q_norm"), Map.entry(Role.K_NORM, "blk.%d.attn_k_norm"),
            Map.entry(Role.GATE, "blk.%d.ffn_gate"), Map.entry(Role.UP, "blk.%d.ffn_up"), Map.entry(Role.DOWN, "blk.%d.ffn_down"),
            // llama.cpp stores a fused gate_up (Phi 3) as ffn_up of twice the rows
            Map.entry(Role.GATE_UP, "blk.%d.ffn_up")));

    /** The prefix of a block's tensors in Hugging Face checkpoints. */
    static final String HF_LAYER = "model.layers.%d.";

    /** Hugging Face's tensor names; the block's norms are named per family ({@link Names#withNorms}). */
    static final Names HF_NAMES = new Names(Map.ofEntries(
            Map.entry(Role.EMBEDDING, "model.embed_tokens"), Map.entry(Role.OUTPUT, "lm_head"), Map.entry(Role.OUTPUT_NORM, "model.norm"),
            Map.entry(Role.Q, HF_LAYER + "self_attn.q_proj"), Map.entry(Role.K, HF_LAYER + "self_attn.k_proj"),
            Map.entry(Role.V, HF_LAYER + "self_attn.v_proj"), Map.entry(Role.O, HF_LAYER + "self_attn.o_proj"),
            Map.entry(Role.QKV, HF_LAYER + "self_attn.qkv_proj"),
            Map.entry(Role.Q_NORM, HF_LAYER + "self_attn.q_norm"), Map.entry(Role.K_NORM, HF_LAYER + "self_attn.k_norm"),
            Map.entry(Role.GATE, HF_LAYER + "mlp.gate_proj"), Map.entry(Role.UP, HF_LAYER + "mlp.up_proj"),
            Map.entry(Role.DOWN, HF_LAYER + "mlp.down_proj"), Map.entry(Role.GATE_UP, HF_LAYER + "mlp.gate_up_proj")));

    /** The blocks' weights, from tensors named per {@code nm}; norms get {@code normOffset} added. */
    static Transformer.Layer[] layers(Family fam, ModelConfig c, Tensors ts, Names nm, double normOffset) {
        int d = c.dim(), qd = c.qDim(), kvd = c.kvDim(), F = c.ffnDim();
        int qkNormSize = fam.qkNorm() == Family.QkNorm.FULL ? qd : c.headDim();
        int kNormSize = fam.qkNorm() == Family.QkNorm.FULL ? kvd : c.headDim();
        Family.Norms norms = fam.norms();
        String W = Names.WEIGHT, B = Names.BIAS;
        Transformer.Layer[] ls = new Transformer.Layer[c.layers()];
        for (int l = 0; l < c.layers(); l++) {
            StoredMatrix wq, wk, wv, gate, up;
            StoredMatrix qkv = ts.find(nm.at(Role.QKV, l, W));
            if (qkv != null) {  // fused q, k, v rows (Phi 3)
                ts.checked(qkv, d, qd + 2 * kvd);
                wq = new RowSlice(qkv, 0, qd);
                wk = new RowSlice(qkv, qd, kvd);
                wv = new RowSlice(qkv, qd + kvd, kvd);
            } else {
                wq = ts.matrix(nm.at(Role.Q, l, W), d, qd);
                wk = ts.matrix(nm.at(Role.K, l, W), d, kvd);
                wv = ts.matrix(nm.at(Role.V, l, W), d, kvd);
            }
            StoredMatrix fusedUp = ts.find(nm.at(Role.GATE_UP, l, W));
            if (ts.find(nm.at(Role.GATE, l, W)) == null && fusedUp != null) {  // fused gate then up (Phi 3)
                ts.checked(fusedUp, d, 2 * F);
                gate = new RowSlice(fusedUp, 0, F);
                up = new RowSlice(fusedUp, F, F);
            } else {
                gate = ts.matrix(nm.at(Role.GATE, l, W), d, F);
                up = ts.matrix(nm.at(Role.UP, l, W), d, F);
            }
            for (Role mlp : new Role[] {Role.GATE, Role.UP, Role.DOWN})
                if (ts.find(nm.at(mlp, l, B)) != null)
                    throw new ModelFormatException(ts.where() + ": MLP biases (" + nm.at(mlp, l, B) + ") are not supported");
            double[] bq, bk, bv;
            if (qkv != null) {  // a fused bias splits like the fused weight
                double[] b = ts.vector(nm.at(Role.QKV, l, B), qd + 2 * kvd, 0, true);
                bq = b == null ? null : Arrays.copyOfRange(b, 0, qd);
                bk = b == null ? null : Arrays.copyOfRange(b, qd, qd + kvd);
                bv = b == null ? null : Arrays.copyOfRange(b, qd + kvd, qd + 2 * kvd);
            } else {
                bq = ts.vector(nm.at(Role.Q, l, B), qd, 0, true);
                bk = ts.vector(nm.at(Role.K, l, B), kvd, 0, true);
                bv = ts.vector(nm.at(Role.V, l, B), kvd, 0, true);
            }
            boolean qk = fam.qkNorm() != Family.QkNorm.NONE;
            ls[l] = new Transformer.Layer(
                    norms.preAttn() != null ? ts.vector(nm.at(Role.ATTN_NORM, l, W), d, normOffset, false) : null,
                    wq, wk, wv, ts.matrix(nm.at(Role.O, l, W), qd, d), bq, bk, bv,
                    ts.vector(nm.at(Role.O, l, B), d, 0, true),
                    qk ? ts.vector(nm.at(Role.Q_NORM, l, W), qkNormSize, normOffset, false) : null,
                    qk ? ts.vector(nm.at(Role.K_NORM, l, W), kNormSize, normOffset, false) : null,
                    norms.postAttn() != null ? ts.vector(nm.at(Role.POST_ATTN_NORM, l, W), d, normOffset, false) : null,
                    norms.preFfn() != null ? ts.vector(nm.at(Role.FFN_NORM, l, W), d, normOffset, false) : null,
                    gate, up, ts.matrix(nm.at(Role.DOWN, l, W), F, d),
                    norms.postFfn() != null ? ts.vector(nm.at(Role.POST_FFN_NORM, l, W), d, normOffset, false) : null);
        }
        return ls;
    }

    /**
     * Per-layer windows and inverse frequencies: the layers {@code scheme} windows get
     * {@code window} (none when 0) and the local frequencies, the others attend globally.
     */
    static void windowsByScheme(Family.SlidingWindows scheme, int window, double[] localFreq, double[] globalFreq,
                                int[] windows, double[][] invFreq) {
        for (int l = 0; l < windows.length; l++) {
            boolean local = window > 0 && scheme.windowed(l);
            windows[l] = local ? window : 0;
            invFreq[l] = local ? localFreq : globalFreq;
        }
    }

    static Transformer fromGguf(GgufFile g) {
        String arch = g.string("general.architecture");
        Family fam = Family.forGguf(arch);
        if (fam == null)
            throw new ModelFormatException(g.path() + ": unsupported architecture '" + ModelLimits.shown(arch) + "' (supported: " + Family.supportedGguf() + ")");
        String p = arch + ".";
        Path f = g.path();
        Tensors ts = new Tensors(f.toString(), g.tensors()::get);
        int dim = ModelLimits.count(f, p + "embedding_length", g.integer(p + "embedding_length"), 1, ModelLimits.MAX_WIDTH);
        int layers = ModelLimits.count(f, p + "block_count", g.integer(p + "block_count"), 1, ModelLimits.MAX_LAYERS);
        int heads = ModelLimits.count(f, p + "attention.head_count", g.integer(p + "attention.head_count"), 1, ModelLimits.MAX_HEADS);
        int kvHeads = ModelLimits.count(f, p + "attention.head_count_kv", g.integer(p + "attention.head_count_kv", heads),
                1, ModelLimits.MAX_HEADS);
        int headDim = ModelLimits.count(f, p + "attention.key_length", g.integer(p + "attention.key_length", dim / heads),
                1, ModelLimits.MAX_WIDTH);
        checkHeads(f, heads, kvHeads, headDim, p + "attention.head_count", p + "attention.head_count_kv", p + "attention.key_length");
        int ffn = ModelLimits.count(f, p + "feed_forward_length", g.integer(p + "feed_forward_length"), 1, ModelLimits.MAX_FFN);
        int context = ModelLimits.count(f, p + "context_length", g.integer(p + "context_length"), 1, ModelLimits.MAX_CONTEXT);
        double eps = ModelLimits.positive(f, p + "attention.layer_norm_rms_epsilon", g.real(p + "attention.layer_norm_rms_epsilon"));
        if (g.integer(p + "attention.value_length", headDim) != headDim)
            throw new ModelFormatException(g.path() + ": value head size differs from key head size");
        int rotaryDim = ModelLimits.count(f, p + "rope.dimension_count", g.integer(p + "rope.dimension_count", headDim),
                2, ModelLimits.MAX_WIDTH);
        if (rotaryDim > headDim)
            throw new ModelFormatException(f + ": " + p + "rope.dimension_count = " + rotaryDim + " exceeds the head size "
                    + p + "attention.key_length = " + headDim);
        if (rotaryDim % 2 != 0) throw new ModelFormatException(f + ": " + p + "rope.dimension_count = " + rotaryDim + " must be even");
        double base = ModelLimits.positive(f, p + "rope.freq_base", g.real(p + "rope.freq_base", 10000.0));
        int window = ModelLimits.count(f, p + "attention.sliding_window", g.integer(p + "attention.sliding_window", 0),
                0, ModelLimits.MAX_CONTEXT);

        Tokenizer tok = Tokenizer.fromGguf(g);
        Names nm = GGUF_NAMES;
        StoredMatrix embd = ts.matrix(nm.weight(Role.EMBEDDING), dim, -1);
        int vocab = vocabRows(f, embd);
        StoredMatrix out = ts.find(nm.weight(Role.OUTPUT)) != null ? ts.matrix(nm.weight(Role.OUTPUT), dim, vocab) : embd;

        double[] plainFreq = ModelConfig.ropeInvFreq(base, rotaryDim);
        double[] globalFreq = plainFreq;
        double attnScale = 1.0 / Math.sqrt(fam.ggufQueryScalar().of(layers, dim, heads, headDim)), ropeAttnFactor = 1.0;
        // Per-frequency divisors: Llama 3's frequency scaling (rope_freqs), longrope's factors
        // (short ones within the original context, long ones beyond it).
        ModelConfig.LongRope longRope = null;
        StoredMatrix freqFactors = ts.find("rope_freqs.weight") != null ? ts.find("rope_freqs.weight")
                : ts.find("rope_factors_short.weight");
        if (freqFactors != null) {
            globalFreq = ModelConfig.divided(plainFreq, ts.positiveVector(freqFactors.name(), rotaryDim / 2));
            ropeAttnFactor = ModelLimits.positive(f, p + "rope.scaling.attn_factor", g.real(p + "rope.scaling.attn_factor", 1.0));
            if (ts.find("rope_factors_long.weight") != null)
                longRope = ModelConfig.LongRope.of(plainFreq, ts.positiveVector("rope_factors_long.weight", rotaryDim / 2),
                        ModelLimits.count(f, p + "rope.scaling.original_context_length",
                                g.integer(p + "rope.scaling.original_context_length", context), 1, ModelLimits.MAX_CONTEXT),
                        layers);
        }
        double[] localFreq = null;
        Family.LocalRopeBase localBase = fam.localRopeBase();
        if (localBase != null)  // unscaled, with the sliding-window layers' own base
            localFreq = ModelConfig.ropeInvFreq(ModelLimits.positive(f, p + localBase.ggufKey(),
                    g.real(p + localBase.ggufKey(), localBase.fallback())), rotaryDim);
        if (fam.ggufLinearRopeScaling())
            globalFreq = ModelConfig.linear(globalFreq,
                    ModelLimits.positive(f, p + "rope.scaling.factor", g.real(p + "rope.scaling.factor", 1.0)));
        if (localFreq == null) localFreq = globalFreq;
        int[] windows = new int[layers];
        double[][] invFreq = new double[layers][];
        windowsByScheme(fam.slidingWindows(), window, localFreq, globalFreq, windows, invFreq);
        ModelConfig cfg = new ModelConfig(arch, dim, layers, heads, kvHeads, headDim, ffn, vocab, context, eps,
                attnScale, rotaryDim, fam.ggufRope(), ropeAttnFactor, windows, invFreq, longRope);
        checkConfig(f, cfg);
        if (tok.vocabSize() != vocab)
            throw new ModelFormatException(g.path() + ": tokenizer has " + tok.vocabSize() + " tokens but the embedding has " + vocab + " rows");
        return new Transformer(fam, cfg, tok, embd, out, ts.vector(nm.weight(Role.OUTPUT_NORM), dim, 0, false),
                layers(fam, cfg, ts, nm, 0), g.path().toString());
    }
}
