package linlens.analysis;

import linlens.format.StoredMatrix;

import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The Euclidean norm of every row of an input-embedding matrix, for decoding by cosine
 * ({@link TokenDecoder#byEmbeddingCosine}), and the mean row of an unembedding (concepts). One pass over the whole vocabulary (262k rows on
 * Gemma 3), so it is computed once per loaded model and kept while the matrix is reachable:
 * a scan makes a decoder for every prompt. Keyed by the matrix's identity (its equals may compare
 * the mapped bytes), held weakly so an unloaded model takes its norms with it.
 */
final class EmbeddingNorms {
    private EmbeddingNorms() {}

    /** Rows scored per chunk, as the decoder reads them. */
    private static final int CHUNK = 8192;

    private record Entry(WeakReference<StoredMatrix> matrix, float[] norms, double[] mean) {}

    private static final List<Entry> CACHE = new ArrayList<>();

    /** Passes over a vocabulary made so far (the tests count them). */
    static final AtomicLong PASSES = new AtomicLong();

    /** The row norms of the matrix, computed on first use (under the lock: a second caller waits rather than repeats the pass). */
    static float[] of(StoredMatrix e) { return entry(e).norms(); }

    /**
     * The mean of all rows, (cols): the vocabulary's average unembedding row, which concept
     * readouts subtract ({@link ConceptSpace}); from the same pass as the norms. A copy.
     */
    static double[] meanRow(StoredMatrix e) { return entry(e).mean().clone(); }

    private static synchronized Entry entry(StoredMatrix e) {
        CACHE.removeIf(x -> x.matrix().refersTo(null));
        for (Entry x : CACHE) if (x.matrix().refersTo(e)) return x;
        Entry x = compute(e);
        CACHE.add(x);
        return x;
    }

    private static Entry compute(StoredMatrix e) {
        PASSES.incrementAndGet();
        int d = e.cols();
        double[] mean = new double[d];
        float[] norms = new float[e.rows()], rows = new float[CHUNK * d];
        for (int r0 = 0; r0 < e.rows(); r0 += CHUNK) {
            int nr = Math.min(CHUNK, e.rows() - r0);
            e.rowsToFloat(r0, nr, rows, 0);
            for (int r = 0; r < nr; r++) {
                double s = 0;
                for (int j = 0; j < d; j++) {
                    s += (double) rows[r * d + j] * rows[r * d + j];
                    mean[j] += rows[r * d + j];
                }
                norms[r0 + r] = (float) Math.sqrt(s);
            }
        }
        for (int j = 0; j < d; j++) mean[j] /= e.rows();
        return new Entry(new WeakReference<>(e), norms, mean);
    }
}
