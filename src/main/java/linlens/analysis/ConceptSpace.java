package linlens.analysis;

import com.fasterxml.jackson.annotation.JsonProperty;
import linlens.blas.Arith;
import linlens.concepts.Concept;
import linlens.concepts.ConceptException;
import linlens.model.Prompts;
import linlens.model.Transformer;

import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * A concept on one model: its tokens, its readout vector and its subspace, all in the space of
 * the output embedding y (where logits = W_U·y).
 *
 * <ul>
 * <li>Tokens: for each word, its token as written and after a space (how it starts a line and how
 *     it continues running text), each form that is a single token.</li>
 * <li>Readout w (d): the mean unembedding row of the words' tokens minus the mean row of the
 *     versus words' tokens, or, without versus words, minus the vocabulary's mean row. So
 *     wᵀy is the words' mean logit over the versus words' (or the vocabulary's): linear in y,
 *     hence split exactly by the detached Jacobian, and unchanged by the softmax's free shift.
 *     A concept of contrast pairs only reads the mean of y(a) − y(b).</li>
 * <li>Subspace Q (r × d, orthonormal rows): the leading r right singular vectors of all its
 *     directions (each token's row minus the vocabulary mean, each pair's y(a) − y(b)), each
 *     scaled to unit length first so that no single direction dominates. A random direction puts
 *     r/d of its squared length in it: the chance level of a share.</li>
 * </ul>
 */
public final class ConceptSpace {
    private final Concept concept;
    private final int[] tokens, versusTokens;  // distinct token ids
    private final List<String> unknownWords;   // words with no single-token form
    private final double[] readout;             // (d)
    private final double[][] basis;             // (r, d) orthonormal rows
    private final int dim;

    private ConceptSpace(Concept concept, int[] tokens, int[] versusTokens, List<String> unknownWords, double[] readout,
                         double[][] basis, int dim) {
        this.concept = concept;
        this.tokens = tokens;
        this.versusTokens = versusTokens;
        this.unknownWords = unknownWords;
        this.readout = readout;
        this.basis = basis;
        this.dim = dim;
    }

    private record Cached(WeakReference<Transformer> model, Concept concept, ConceptSpace space) {}

    private static final List<Cached> CACHE = new ArrayList<>();

    /** The concept on the model: computed once per loaded model and concept (a scan asks for it on every prompt). */
    public static synchronized ConceptSpace of(Concept c, Transformer m) {
        CACHE.removeIf(x -> x.model().refersTo(null));
        for (Cached x : CACHE) if (x.model().refersTo(m) && x.concept().equals(c)) return x.space();
        ConceptSpace s = compute(c, m);
        if (CACHE.size() >= 16) CACHE.removeFirst();
        CACHE.add(new Cached(new WeakReference<>(m), c, s));
        return s;
    }

    private static ConceptSpace compute(Concept c, Transformer m) {
        int d = m.config().dim();
        List<String> unknown = new ArrayList<>();
        int[] toks = tokensOf(m, c.words(), unknown), vs = tokensOf(m, c.versusWords(), unknown);
        if (!c.words().isEmpty() && toks.length == 0)
            throw new ConceptException("concept " + c.name() + ": none of its words is a single token of this model");
        double[] vocabMean = EmbeddingNorms.meanRow(m.output());
        List<double[]> directions = new ArrayList<>();
        double[] wordsMean = meanRow(m, toks, vocabMean, directions);
        double[] versusMean = meanRow(m, vs, vocabMean, directions);
        double[] pairsMean = new double[d];
        for (List<String> p : c.contrastPairs()) {
            double[] ya = outputEmbedding(m, p.get(0)), yb = outputEmbedding(m, p.get(1));
            double[] diff = new double[d];
            for (int j = 0; j < d; j++) {
                diff[j] = ya[j] - yb[j];
                pairsMean[j] += diff[j] / c.contrastPairs().size();
            }
            directions.add(diff);
        }
        double[] readout = new double[d];
        if (toks.length > 0) {
            double[] base = vs.length > 0 ? versusMean : vocabMean;
            for (int j = 0; j < d; j++) readout[j] = wordsMean[j] - base[j];
        } else {
            readout = pairsMean;
        }
        return new ConceptSpace(c, toks, vs, List.copyOf(unknown), readout, basis(directions, c.effectiveRank(), d), d);
    }

    /**
     * The tokens of each word, as written and after a space, where that form is a single token: the
     * first token of a longer form is often a fragment shared by unrelated words (" ch", " b").
     * Words with no single-token form go to {@code unknown}.
     */
    private static int[] tokensOf(Transformer m, List<String> words, List<String> unknown) {
        Set<Integer> ids = new LinkedHashSet<>();
        int bos = m.tokenizer().bos();
        for (String w : words) {
            boolean any = false;
            for (String form : new String[]{w, " " + w}) {
                int[] e = m.tokenizer().encode(form);
                int i = e.length > 0 && e[0] == bos ? 1 : 0;
                if (e.length - i == 1) {
                    ids.add(e[i]);
                    any = true;
                }
            }
            if (!any) unknown.add(w);
        }
        return ids.stream().mapToInt(Integer::intValue).toArray();
    }

    /** The tokens' mean unembedding row (zeros for none); each row minus the vocabulary mean goes to {@code directions}. */
    private static double[] meanRow(Transformer m, int[] toks, double[] vocabMean, List<double[]> directions) {
        int d = vocabMean.length;
        double[] mean = new double[d];
        float[] row = new float[d];
        for (int t : toks) {
            m.output().rowsToFloat(t, 1, row, 0);
            double[] dir = new double[d];
            for (int j = 0; j < d; j++) {
                mean[j] += row[j] / (double) toks.length;
                dir[j] = row[j] - vocabMean[j];
            }
            directions.add(dir);
        }
        return mean;
    }

    private static double[] outputEmbedding(Transformer m, String prompt) {
        return PromptContext.of(m, prompt, Prompts.encode(m, prompt), -1).trace().y();
    }

    /** The leading right singular vectors of the unit-scaled directions (at most {@code rank}, none below 1e-10·σ₁). */
    private static double[][] basis(List<double[]> directions, int rank, int d) {
        List<double[]> unit = new ArrayList<>();
        for (double[] v : directions) {
            double norm = Math.sqrt(dot(v, v));
            if (norm > 0) {
                double[] u = v.clone();
                for (int j = 0; j < d; j++) u[j] /= norm;
                unit.add(u);
            }
        }
        if (unit.isEmpty()) throw new ConceptException("the concept's directions are all zero on this model");
        int rows = unit.size();
        double[] a = new double[rows * d];  // (rows, d)
        for (int i = 0; i < rows; i++) System.arraycopy(unit.get(i), 0, a, i * d, d);
        Spectrum s = Svd.of(Arith.F64, a, 0, rows, d, Math.min(rank, Math.min(rows, d)), null, -1);
        int r = 0;
        while (r < s.v().length && s.singularValues()[r] > 1e-10 * s.singularValues()[0]) r++;
        return Arrays.copyOf(s.v(), r);
    }

    public Concept concept() { return concept; }

    /** The words' distinct tokens. */
    public int[] tokens() { return tokens.clone(); }

    /** The versus words' distinct tokens (empty: none). */
    public int[] versusTokens() { return versusTokens.clone(); }

    /** Words with no single-token form (not used). */
    public List<String> unknownWords() { return unknownWords; }

    /** The readout w, (d): the concept's logit is wᵀy. */
    public double[] readout() { return readout.clone(); }

    /** The subspace's dimension r. */
    public int rank() { return basis.length; }

    /** The share of a random direction's squared length in the subspace, r/d. */
    public double chance() { return basis.length / (double) dim; }

    /** wᵀv. */
    public double logit(double[] v) { return dot(readout, v); }

    /** ‖Q v‖² / ‖v‖²: how much of v lies in the subspace (0 for a zero vector). */
    public double shareOf(double[] v) {
        double total = dot(v, v);
        if (total == 0) return 0;
        double in = 0;
        for (double[] q : basis) {
            double p = dot(q, v);
            in += p * p;
        }
        return in / total;
    }

    /**
     * The σ²-weighted share of the left singular subspace in the concept's: Σσ_k²‖Q u_k‖² / Σσ_k²
     * over the pairs given (a top-k, or a full spectrum).
     */
    public double spectralShare(double[] sigma, double[][] u) {
        int k = Math.min(sigma.length, u.length);
        double num = 0, den = 0;
        for (int i = 0; i < k; i++) {
            double w = sigma[i] * sigma[i];
            num += w * shareOf(u[i]);
            den += w;
        }
        return den == 0 ? 0 : num / den;
    }

    /** What the JSON says of the concept on this model. */
    public record Info(String name, String description, String source, @JsonProperty("words") int words,
                       @JsonProperty("versus_words") int versusWords, @JsonProperty("contrast_pairs") int contrastPairs,
                       int tokens, @JsonProperty("versus_tokens") int versusTokens,
                       @JsonProperty("multi_token_words") List<String> unknownWords, int rank, double chance,
                       @JsonProperty("readout_norm") double readoutNorm) {}

    public Info info() {
        return new Info(concept.name(), concept.description(), concept.source(), concept.words().size(), concept.versusWords().size(),
                concept.contrastPairs().size(), tokens.length, versusTokens.length, unknownWords, rank(), chance(),
                Math.sqrt(dot(readout, readout)));
    }

    static double dot(double[] a, double[] b) {
        double s = 0;
        for (int j = 0; j < a.length; j++) s += a[j] * b[j];
        return s;
    }
}
