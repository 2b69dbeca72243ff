package linlens.analysis;

import linlens.blas.Arith;
import linlens.blas.WeightGemm;
import linlens.format.StoredMatrix;
import linlens.model.Progress;
import linlens.model.Transformer;

import java.util.ArrayList;
import java.util.List;

/**
 * Reads vectors in the model's hidden space as tokens (METHOD.md section 4): a vector in output
 * space is decoded by the unembedding (top logits of W_U·u); a vector in input space by the input
 * embeddings (rows most cosine-similar to v). Many vectors share one tiled pass over the matrix.
 */
public final class TokenDecoder {
    /** Vocabulary rows scored per GEMM. */
    private static final int CHUNK = 8192;

    public record Token(int id, String text, double score) {}

    private final Transformer model;
    private final WeightGemm<float[]> gemm = new WeightGemm<>(Arith.F32);
    private Progress progress = Progress.NONE;
    private long passes = 1, passesDone;

    public TokenDecoder(Transformer model) { this.model = model; }

    /**
     * Reports stage "decode" in vocabulary rows scored, over the {@code passes} passes (calls of
     * {@link #byUnembedding} or {@link #byEmbeddingCosine}) the caller will make: one pass scores
     * the whole vocabulary, however many vectors it decodes.
     */
    public TokenDecoder reporting(Progress progress, int passes) {
        this.progress = progress;
        this.passes = Math.max(1, passes);
        this.passesDone = 0;
        progress.update("decode", 0, this.passes * model.output().rows());
        return this;
    }

    /** Top tokens of W_U·u for each vector. */
    public List<List<Token>> byUnembedding(double[][] vectors, int top) {
        return topTokens(model.output(), vectors, top, null);
    }

    /** Input-embedding rows nearest to each vector by cosine similarity. */
    public List<List<Token>> byEmbeddingCosine(double[][] vectors, int top) {
        return topTokens(model.embedding(), vectors, top, EmbeddingNorms.of(model.embedding()));
    }

    /**
     * Reports {@code rowsInPass} rows of the current pass done, the passes before it whole; in
     * units of the unembedding's rows (the input embedding may have a few more or fewer); passes
     * beyond the caller's plan stay at the total.
     */
    private void report(long rowsInPass) {
        long perPass = model.output().rows();
        progress.update("decode", Math.min(passesDone * perPass + rowsInPass, passes * perPass), passes * perPass);
    }

    private List<List<Token>> topTokens(StoredMatrix w, double[][] vectors, int top, float[] rowNorms) {
        int m = vectors.length, d = w.cols(), vocab = w.rows();
        List<List<Token>> out = new ArrayList<>();
        if (m == 0) {
            passesDone++;
            report(0);
            return out;
        }
        top = Math.min(top, vocab); // more than the vocabulary only allocates (top near 2^31: m·top entries)
        if (top < 1) throw new IllegalArgumentException("top must be at least 1, got " + top);
        float[] x = new float[m * d];
        double[] vnorm = new double[m];
        for (int i = 0; i < m; i++) {
            double s = 0;
            for (int j = 0; j < d; j++) { x[i * d + j] = (float) vectors[i][j]; s += vectors[i][j] * vectors[i][j]; }
            vnorm[i] = Math.sqrt(s);
        }
        int[][] bestId = new int[m][top];
        double[][] best = new double[m][top];
        for (double[] b : best) java.util.Arrays.fill(b, Double.NEGATIVE_INFINITY);
        float[] scores = new float[m * CHUNK];
        for (int r0 = 0; r0 < vocab; r0 += CHUNK) {
            int nr = Math.min(CHUNK, vocab - r0);
            gemm.xWt(x, 0, m, d, w, r0, r0 + nr, scores, 0, CHUNK, false);
            for (int i = 0; i < m; i++)
                for (int r = 0; r < nr; r++) {
                    double sc = scores[i * CHUNK + r];
                    if (rowNorms != null) sc = sc / (Math.max(rowNorms[r0 + r], 1e-30) * Math.max(vnorm[i], 1e-30));
                    if (sc > best[i][top - 1]) insert(best[i], bestId[i], sc, r0 + r);
                }
            report((long) (r0 + nr) * model.output().rows() / vocab);
        }
        passesDone++;
        for (int i = 0; i < m; i++) {
            List<Token> list = new ArrayList<>(top);
            for (int k = 0; k < top && bestId[i][k] >= 0 && best[i][k] > Double.NEGATIVE_INFINITY; k++)
                list.add(new Token(bestId[i][k], model.tokenizer().decode(bestId[i][k]), best[i][k]));
            out.add(list);
        }
        return out;
    }

    /** Inserts (score, id) into descending arrays, dropping the last. */
    private static void insert(double[] best, int[] ids, double score, int id) {
        int k = best.length - 1;
        while (k > 0 && best[k - 1] < score) { best[k] = best[k - 1]; ids[k] = ids[k - 1]; k--; }
        best[k] = score;
        ids[k] = id;
    }

    /** Heap bytes per decoded token in a result (record, text, id and list slots; measured order of magnitude). */
    static final long BYTES_PER_DECODED_TOKEN = 128;

    /**
     * Counts within range can still ask for more than the heap holds: {@code vectors} vectors each
     * decoded to {@code top} tokens. Refused before the computation when that needs more than half
     * the heap (the other half is for J and its SVD).
     */
    public static void checkMemory(long vectors, int components, int top) {
        double need = (double) vectors * top * BYTES_PER_DECODED_TOKEN, heap = Runtime.getRuntime().maxMemory();
        if (need > heap / 2)
            throw new OptionException(String.format("{components} %d with {top} %d decode %d vectors to about %.1f GB of tokens, "
                    + "more than half the %.1f GB Java heap: lower {components} or {top} (or a larger -Xmx in LINLENS_JAVA_OPTS)",
                    components, top, vectors, need / 1e9, heap / 1e9));
    }
}
