package linlens.analysis;

import com.fasterxml.jackson.annotation.JsonProperty;
import linlens.model.ForwardTrace;
import linlens.model.Transformer;

import java.util.ArrayList;
import java.util.List;

/** The next-token prediction: the most likely token and the distribution's top k. */
public record Prediction(@JsonProperty("token_id") int tokenId, String text, double probability, double logit,
                         List<Candidate> top) {

    public record Candidate(@JsonProperty("token_id") int tokenId, String text, double probability, double logit) {}

    /** The next-token distribution's top k from a forward trace. */
    public static Prediction of(Transformer m, ForwardTrace tr, int k) {
        double[] lg = tr.logits();
        double max = Double.NEGATIVE_INFINITY;
        for (double v : lg) max = Math.max(max, v);
        double sum = 0;
        for (double v : lg) sum += Math.exp(v - max);
        int[] order = Vectors.topIndices(lg, Math.max(1, k));
        List<Candidate> top = new ArrayList<>();
        for (int id : order) top.add(new Candidate(id, m.tokenizer().decode(id), Math.exp(lg[id] - max) / sum, lg[id]));
        Candidate best = top.getFirst();
        return new Prediction(best.tokenId(), best.text(), best.probability(), best.logit(), top);
    }
}
