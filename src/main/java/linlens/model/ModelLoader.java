package linlens.model;

import linlens.format.GgufFile;
import linlens.format.ModelFormatException;
import linlens.format.RowSlice;
import linlens.format.StoredMatrix;
import linlens.tokenizer.Tokenizer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.function.Function;

/**
 * Opens a model (a GGUF file, or a Hugging Face folder with config.json) and builds a
 * {@link Transformer} from its family description. Both formats share {@link #layers}: only the
 * tensor names and the hyperparameter keys differ.
 */
public final class ModelLoader {
    private ModelLoader() {}

    public static Transformer load(Path path) {
        if (Files.isDirectory(path)) return HfLoader.load(path);
        GgufFile gguf = GgufFile.open(path);
        try {
            return fromGguf(gguf);
        } catch (RuntimeException e) {
            gguf.close();
            throw e;
        }
    }

    /** Where a loader finds tensors: by name, null when absent; {@code where} names the source in errors. */
    record Tensors(String where, Function<String, StoredMatrix> lookup) {
        StoredMatrix find(String name) { return lookup.apply(name); }

        StoredMatrix require(String name) {
            StoredMatrix t = find(name);
            if (t == null) throw new ModelFormatException(where + ": tensor " + name + " not found");
            return t;
        }

        /** A matrix with the expected shape ({@code rows} < 0: any row count). */
        StoredMatrix matrix(String name, int cols, int rows) {
            return checked(require(name), cols, rows);
        }

        StoredMatrix checked(StoredMatrix t, int cols, int rows) {
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

    /** Tensor names of one format; {@code %d} stands for the layer index. */
    record Names(String attnNorm, String postAttnNorm, String ffnNorm, String postFfnNorm,
                 String q, String k, String v, String o, String qkv, String qNorm, String kNorm,
                 String gate, String up, String down, String gateUp, String bias, String weight) {
        String at(String pattern, int layer, String suffix) { return pattern.formatted(layer) + suffix; }
    }

    static final Names GGUF_NAMES = new Names("blk.%d.attn_norm", "blk.%d.post_attention_norm", "blk.%d.ffn_norm",
            "blk.%d.post_ffw_norm", "blk.%d.attn_q", "blk.%d.attn_k", "blk.%d.attn_v", "blk.%d.attn_output",
            "blk.%d.attn_qkv", "blk.%d.attn_q_norm", "blk.%d.attn_k_norm", "blk.%d.ffn_gate", "blk.%d.ffn_up",
            "blk.%d.ffn_down", "blk.%d.ffn_up", ".bias", ".weight");

    /** The blocks' weights, from tensors named per {@code names}; norms get {@code normOffset} added. */
    static Transformer.Layer[] layers(Family fam, ModelConfig c, Tensors ts, Names nm, double normOffset) {
        int d = c.dim(), qd = c.qDim(), kvd = c.kvDim(), F = c.ffnDim();
        int qkNormSize = fam.qkNorm() == Family.QkNorm.FULL ? qd : c.headDim();
        int kNormSize = fam.qkNorm() == Family.QkNorm.FULL ? kvd : c.headDim();
        String W = nm.weight(), B = nm.bias();
        Transformer.Layer[] ls = new Transformer.Layer[c.layers()];
        for (int l = 0; l < c.layers(); l++) {
            StoredMatrix wq, wk, wv, gate, up;
            StoredMatrix qkv = ts.find(nm.at(nm.qkv(), l, W));
            if (qkv != null) {  // fused q, k, v rows (Phi 3)
                ts.checked(qkv, d, qd + 2 * kvd);
                wq = new RowSlice(qkv, 0, qd);
                wk = new RowSlice(qkv, qd, kvd);
                wv = new RowSlice(qkv, qd + kvd, kvd);
            } else {
                wq = ts.matrix(nm.at(nm.q(), l, W), d, qd);
                wk = ts.matrix(nm.at(nm.k(), l, W), d, kvd);
                wv = ts.matrix(nm.at(nm.v(), l, W), d, kvd);
            }
            StoredMatrix fusedUp = ts.find(nm.at(nm.gateUp(), l, W));
            if (ts.find(nm.at(nm.gate(), l, W)) == null && fusedUp != null) {  // fused gate then up (Phi 3)
                ts.checked(fusedUp, d, 2 * F);
                gate = new RowSlice(fusedUp, 0, F);
                up = new RowSlice(fusedUp, F, F);
            } else {
                gate = ts.matrix(nm.at(nm.gate(), l, W), d, F);
                up = ts.matrix(nm.at(nm.up(), l, W), d, F);
            }
            for (String mlp : new String[] {nm.gate(), nm.up(), nm.down()})
                if (ts.find(nm.at(mlp, l, B)) != null)
                    throw new ModelFormatException(ts.where() + ": MLP biases (" + nm.at(mlp, l, B) + ") are not supported");
            double[] bq, bk, bv;
            if (qkv != null) {  // a fused bias splits like the fused weight
                double[] b = ts.vector(nm.at(nm.qkv(), l, B), qd + 2 * kvd, 0, true);
                bq = b == null ? null : Arrays.copyOfRange(b, 0, qd);
                bk = b == null ? null : Arrays.copyOfRange(b, qd, qd + kvd);
                bv = b == null ? null : Arrays.copyOfRange(b, qd + kvd, qd + 2 * kvd);
            } else {
                bq = ts.vector(nm.at(nm.q(), l, B), qd, 0, true);
                bk = ts.vector(nm.at(nm.k(), l, B), kvd, 0, true);
                bv = ts.vector(nm.at(nm.v(), l, B), kvd, 0, true);
            }
            boolean qk = fam.qkNorm() != Family.QkNorm.NONE;
            ls[l] = new Transformer.Layer(
                    fam.preAttnNorm() ? ts.vector(nm.at(nm.attnNorm(), l, W), d, normOffset, false) : null,
                    wq, wk, wv, ts.matrix(nm.at(nm.o(), l, W), qd, d), bq, bk, bv,
                    ts.vector(nm.at(nm.o(), l, B), d, 0, true),
                    qk ? ts.vector(nm.at(nm.qNorm(), l, W), qkNormSize, normOffset, false) : null,
                    qk ? ts.vector(nm.at(nm.kNorm(), l, W), kNormSize, normOffset, false) : null,
                    fam.postAttnNorm() ? ts.vector(nm.at(nm.postAttnNorm(), l, W), d, normOffset, false) : null,
                    fam.preFfnNorm() ? ts.vector(nm.at(nm.ffnNorm(), l, W), d, normOffset, false) : null,
                    gate, up, ts.matrix(nm.at(nm.down(), l, W), F, d),
                    fam.postFfnNorm() ? ts.vector(nm.at(nm.postFfnNorm(), l, W), d, normOffset, false) : null);
        }
        return ls;
    }

    /** Per-layer windows and inverse frequencies from one sliding window and the family's layer pattern. */
    static void windowsByPattern(Family fam, int window, double[] localFreq, double[] globalFreq,
                                 int[] windows, double[][] invFreq) {
        for (int l = 0; l < windows.length; l++) {
            boolean local = window > 0 && (fam.swaPattern() == 0 || l % fam.swaPattern() < fam.swaPattern() - 1);
            windows[l] = local ? window : 0;
            invFreq[l] = local ? localFreq : globalFreq;
        }
    }

    static Transformer fromGguf(GgufFile g) {
        String arch = g.string("general.architecture");
        Family fam = Family.forGguf(arch);
        if (fam == null)
            throw new ModelFormatException(g.path() + ": unsupported architecture '" + arch + "' (supported: " + Family.supportedGguf() + ")");
        String p = arch + ".";
        Tensors ts = new Tensors(g.path().toString(), g.tensors()::get);
        int dim = (int) g.integer(p + "embedding_length");
        int layers = (int) g.integer(p + "block_count");
        int heads = (int) g.integer(p + "attention.head_count");
        int kvHeads = (int) g.integer(p + "attention.head_count_kv", heads);
        int headDim = (int) g.integer(p + "attention.key_length", dim / heads);
        int ffn = (int) g.integer(p + "feed_forward_length");
        int context = (int) g.integer(p + "context_length");
        double eps = g.real(p + "attention.layer_norm_rms_epsilon");
        if ((int) g.integer(p + "attention.value_length", headDim) != headDim)
            throw new ModelFormatException(g.path() + ": value head size differs from key head size");
        int rotaryDim = (int) g.integer(p + "rope.dimension_count", headDim);
        double base = g.real(p + "rope.freq_base", 10000.0);
        int window = (int) g.integer(p + "attention.sliding_window", 0);

        Tokenizer tok = Tokenizer.fromGguf(g);
        StoredMatrix embd = ts.matrix("token_embd.weight", dim, -1);
        int vocab = embd.rows();
        StoredMatrix out = ts.find("output.weight") != null ? ts.matrix("output.weight", dim, vocab) : embd;

        int[] windows = new int[layers];
        double[][] invFreq = new double[layers][];
        double[] globalFreq = ModelConfig.ropeInvFreq(base, rotaryDim);
        double[] localFreq = globalFreq;
        double attnScale = 1.0 / Math.sqrt(headDim), ropeAttnFactor = 1.0;
        // Per-frequency divisors: Llama 3's frequency scaling (rope_freqs), Phi 3's longrope
        // factors (short ones within the original context, long ones beyond it).
        ModelConfig.LongRope longRope = null;
        StoredMatrix freqFactors = ts.find("rope_freqs.weight") != null ? ts.find("rope_freqs.weight")
                : ts.find("rope_factors_short.weight");
        if (freqFactors != null) {
            double[] plain = globalFreq;
            globalFreq = ModelConfig.divided(plain, ts.vector(freqFactors.name(), rotaryDim / 2, 0, false));
            localFreq = globalFreq;
            ropeAttnFactor = g.real(p + "rope.scaling.attn_factor", 1.0);
            if (ts.find("rope_factors_long.weight") != null) {
                double[] longFreq = ModelConfig.divided(plain, ts.vector("rope_factors_long.weight", rotaryDim / 2, 0, false));
                double[][] perLayer = new double[layers][];
                Arrays.fill(perLayer, longFreq);
                longRope = new ModelConfig.LongRope((int) g.integer(p + "rope.scaling.original_context_length", context), perLayer);
            }
        }
        if (fam == Family.GEMMA3) {
            // Gemma 3 27B (62 layers) scales queries by its query_pre_attn_scalar = d / heads, not
            // the head size; GGUF has no key for it, llama.cpp decides by the layer count too.
            if (layers == 62) attnScale = 1.0 / Math.sqrt((double) dim / heads);
            // Gemma 3: local layers rotate with their own base (10000) and no scaling; global layers
            // use the configured base with the optional linear scaling factor.
            localFreq = ModelConfig.ropeInvFreq(g.real(p + "rope.freq_base_swa", 10000.0), rotaryDim);
            double factor = g.real(p + "rope.scaling.factor", 1.0);
            if (factor != 1.0) for (int i = 0; i < globalFreq.length; i++) globalFreq[i] /= factor;
        }
        windowsByPattern(fam, window, localFreq, globalFreq, windows, invFreq);
        ModelConfig cfg = new ModelConfig(arch, dim, layers, heads, kvHeads, headDim, ffn, vocab, context, eps,
                attnScale, rotaryDim, fam.ggufRope(), ropeAttnFactor, windows, invFreq, longRope);
        if (tok.vocabSize() != vocab)
            throw new ModelFormatException(g.path() + ": tokenizer has " + tok.vocabSize() + " tokens but the embedding has " + vocab + " rows");
        return new Transformer(fam, cfg, tok, embd, out, ts.vector("output_norm.weight", dim, 0, false),
                layers(fam, cfg, ts, GGUF_NAMES, 0), g.path().toString());
    }
}
