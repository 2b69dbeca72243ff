package linlens.analysis;

import linlens.format.StoredMatrix;
import linlens.model.ModelLoader;
import linlens.model.Transformer;
import linlens.testing.TinyModels;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** The input-embedding row norms: one pass per loaded model, whatever the number of decoders, and the same bits as before. */
class EmbeddingNormsTest {
    /** The norms as TokenDecoder computed them for every decoder, before they were kept per model. */
    private static float[] perDecoderNorms(StoredMatrix e) {
        int d = e.cols();
        float[] norms = new float[e.rows()], rows = new float[8192 * d];
        for (int r0 = 0; r0 < e.rows(); r0 += 8192) {
            int nr = Math.min(8192, e.rows() - r0);
            e.rowsToFloat(r0, nr, rows, 0);
            for (int r = 0; r < nr; r++) {
                double s = 0;
                for (int j = 0; j < d; j++) s += (double) rows[r * d + j] * rows[r * d + j];
                norms[r0 + r] = (float) Math.sqrt(s);
            }
        }
        return norms;
    }

    @Test
    void twoDecodersOnOneModelComputeTheNormsOnceWithTheSameResults() throws Exception {
        Transformer m = ModelLoader.load(TinyModels.named("llama3").gguf());
        double[][] vectors = new double[3][m.config().dim()];
        Random rnd = new Random(7);
        for (double[] v : vectors) for (int j = 0; j < v.length; j++) v[j] = rnd.nextGaussian();

        long before = EmbeddingNorms.PASSES.get();
        var first = new TokenDecoder(m).byEmbeddingCosine(vectors, 5);
        var second = new TokenDecoder(m).byEmbeddingCosine(vectors, 5);
        assertEquals(1, EmbeddingNorms.PASSES.get() - before, "one pass over the vocabulary for two decoders of one model");
        assertEquals(first, second);
        assertArrayEquals(perDecoderNorms(m.embedding()), EmbeddingNorms.of(m.embedding()), "bit for bit the norms computed per decoder");

        // the cosine scores as the per-decoder norms give them
        float[] norms = perDecoderNorms(m.embedding());
        float[] row = new float[m.config().dim()];
        for (int i = 0; i < vectors.length; i++) {
            TokenDecoder.Token t = first.get(i).getFirst();
            m.embedding().rowsToFloat(t.id(), 1, row, 0);
            double dot = 0, vn = 0;
            for (int j = 0; j < row.length; j++) { dot += row[j] * (double) (float) vectors[i][j]; vn += vectors[i][j] * vectors[i][j]; }
            assertEquals(dot / (norms[t.id()] * Math.sqrt(vn)), t.score(), 1e-5, "cosine of the best row");
        }

        // another load of the same file is another model: its own pass
        Transformer again = ModelLoader.load(TinyModels.named("llama3").gguf());
        long mid = EmbeddingNorms.PASSES.get();
        assertEquals(first, new TokenDecoder(again).byEmbeddingCosine(vectors, 5));
        assertEquals(1, EmbeddingNorms.PASSES.get() - mid);
    }
}
