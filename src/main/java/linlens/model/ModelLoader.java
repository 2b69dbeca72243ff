package linlens.model;

import linlens.format.GgufFile;
import linlens.format.GgufTensor;
import linlens.format.ModelFormatException;
import linlens.format.StoredMatrix;
import linlens.tokenizer.Tokenizer;

import java.nio.file.Files;
import java.nio.file.Path;

/** Opens a model file (GGUF) and builds a {@link Transformer} from its family description. */
public final class ModelLoader {
    private ModelLoader() {}

    public static Transformer load(Path path) {
        if (Files.isDirectory(path))
            throw new ModelFormatException(path + ": Hugging Face model folders are not supported yet; give a .gguf file");
        GgufFile gguf = GgufFile.open(path);
        try {
            return fromGguf(gguf);
        } catch (RuntimeException e) {
            gguf.close();
            throw e;
        }
    }

    static Transformer fromGguf(GgufFile g) {
        String arch = g.string("general.architecture");
        Family fam = Family.forGguf(arch);
        if (fam == null)
            throw new ModelFormatException(g.path() + ": unsupported architecture '" + arch + "' (supported: " + Family.supportedGguf() + ")");
        String p = arch + ".";
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
        StoredMatrix embd = matrix(g, "token_embd.weight", dim, -1);
        int vocab = embd.rows();
        StoredMatrix out = g.tensors().containsKey("output.weight") ? matrix(g, "output.weight", dim, vocab) : embd;

        int[] windows = new int[layers];
        double[][] invFreq = new double[layers][];
        double[] globalFreq = ModelConfig.ropeInvFreq(base, rotaryDim);
        double[] localFreq = globalFreq;
        double attnScale = 1.0 / Math.sqrt(headDim);
        if (fam == Family.GEMMA3) {
            // Gemma 3: local layers rotate with base 10000 and no scaling; global layers use the
            // configured base with the optional linear scaling factor.
            localFreq = ModelConfig.ropeInvFreq(10000.0, rotaryDim);
            double factor = g.real(p + "rope.scaling.factor", 1.0);
            if (factor != 1.0) for (int i = 0; i < globalFreq.length; i++) globalFreq[i] /= factor;
        }
        for (int l = 0; l < layers; l++) {
            boolean local = window > 0 && (fam.swaPattern() == 0 || l % fam.swaPattern() < fam.swaPattern() - 1);
            windows[l] = local ? window : 0;
            invFreq[l] = local ? localFreq : globalFreq;
        }
        ModelConfig cfg = new ModelConfig(arch, dim, layers, heads, kvHeads, headDim, ffn, vocab, context, eps,
                attnScale, rotaryDim, windows, invFreq);
        if (tok.vocabSize() != vocab)
            throw new ModelFormatException(g.path() + ": tokenizer has " + tok.vocabSize() + " tokens but the embedding has " + vocab + " rows");

        Transformer.Layer[] ls = new Transformer.Layer[layers];
        int qd = heads * headDim, kvd = kvHeads * headDim;
        for (int l = 0; l < layers; l++) {
            String b = "blk." + l + ".";
            ls[l] = new Transformer.Layer(
                    fam.preAttnNorm() ? vector(g, b + "attn_norm.weight", dim) : null,
                    matrix(g, b + "attn_q.weight", dim, qd), matrix(g, b + "attn_k.weight", dim, kvd),
                    matrix(g, b + "attn_v.weight", dim, kvd), matrix(g, b + "attn_output.weight", qd, dim),
                    fam.qkNorm() == Family.QkNorm.PER_HEAD ? vector(g, b + "attn_q_norm.weight", headDim) : null,
                    fam.qkNorm() == Family.QkNorm.PER_HEAD ? vector(g, b + "attn_k_norm.weight", headDim) : null,
                    fam.postAttnNorm() ? vector(g, b + "post_attention_norm.weight", dim) : null,
                    fam.preFfnNorm() ? vector(g, b + "ffn_norm.weight", dim) : null,
                    matrix(g, b + "ffn_gate.weight", dim, ffn), matrix(g, b + "ffn_up.weight", dim, ffn),
                    matrix(g, b + "ffn_down.weight", ffn, dim),
                    fam.postFfnNorm() ? vector(g, b + "post_ffw_norm.weight", dim) : null);
        }
        return new Transformer(fam, cfg, tok, embd, out, vector(g, "output_norm.weight", dim), ls, g.path().toString());
    }

    /** A matrix tensor with the expected shape ({@code rows} < 0: any row count). */
    private static StoredMatrix matrix(GgufFile g, String name, int cols, int rows) {
        GgufTensor t = g.tensor(name);
        if (t.dims().length != 2 || t.cols() != cols || (rows >= 0 && t.rows() != rows))
            throw new ModelFormatException(g.path() + ": tensor " + name + " has shape " + t.shape()
                    + ", expected [" + cols + ", " + (rows < 0 ? "*" : rows) + "]");
        return t;
    }

    private static double[] vector(GgufFile g, String name, int n) {
        GgufTensor t = g.tensor(name);
        if (t.elements() != n)
            throw new ModelFormatException(g.path() + ": tensor " + name + " has shape " + t.shape() + ", expected [" + n + "]");
        float[] f = new float[n];
        t.rowsToFloat(0, 1, f, 0);
        double[] d = new double[n];
        for (int i = 0; i < n; i++) d[i] = f[i];
        return d;
    }
}
