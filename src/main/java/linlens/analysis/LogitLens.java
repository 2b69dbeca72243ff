package linlens.analysis;

import com.fasterxml.jackson.annotation.JsonProperty;
import linlens.model.ForwardPass;
import linlens.model.ForwardTrace;
import linlens.model.Progress;
import linlens.model.Transformer;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * {@code logit-lens}: each layer's residual stream at the last position ([resid_post]) read out
 * as if it were the last layer's: through the final norm, its scales frozen at that vector (as
 * in {@code layers}, so the readout is linear in the stream), and the unembedding. Shows at which
 * layer the prediction appears and what the model "would say" before. At the last layer the
 * readout is the model's own output, which the result checks.
 */
public final class LogitLens implements Analysis<LogitLens.Options> {
    /** @param layers 0-based layers to read (null: every layer) */
    public record Options(@Param(description = "Tokens listed per layer.", defaultValue = "5", min = 1,
                                  limit = Param.Limit.VOCAB_SIZE) int top,
                          @Param(description = "Layers (0-based; default: every layer).", label = "L", limit = Param.Limit.LAYER)
                          int[] layers) {}

    /** One layer's readout: its top tokens, and where the model's final prediction stands in it. */
    public record LayerReadout(int layer, String hook, List<Prediction.Candidate> top,
                               @JsonProperty("predicted_rank") int predictedRank,
                               @JsonProperty("predicted_probability") double predictedProbability,
                               @JsonProperty("predicted_logit") double predictedLogit) {}

    /**
     * @param lastLayerError ‖lens logits − model logits‖ / ‖model logits‖ at the last layer (null
     *                       when the last layer was not asked for): 0 up to rounding
     */
    public record Result(ModelInfo model, String prompt, List<TokenInfo> tokens, Prediction prediction,
                         List<LayerReadout> layers, @JsonProperty("last_layer_error") Double lastLayerError,
                         @JsonProperty("timings_ms") Map<String, Double> timingsMs) implements AnalysisResult {
        @Override public Object document() { return this; }

        @Override public String title() { return "Linear Lens logit lens: " + prompt; }

        @Override public Map<String, Object> sections() { return Map.of("logit_lens", this); }

        @Override public void print(PrintWriter out) {
            out.printf("Prompt %s (%d tokens) → %s p=%.4f%n", Text.quote(prompt), tokens.size(), Text.quote(prediction.text()),
                    prediction.probability());
            out.printf("%-6s %-24s %-9s %s%n", "layer", "top token", "p", "rank of " + Text.quote(prediction.text()));
            for (var l : layers) {
                var best = l.top().getFirst();
                out.printf("%-6d %-24s %-9.4f %d (p=%.4f)%n", l.layer(), Text.quote(best.text()), best.probability(),
                        l.predictedRank(), l.predictedProbability());
            }
            if (lastLayerError != null) out.printf("Last layer against the model's logits: relative error %.1e%n", lastLayerError);
        }
    }

    @Override public String name() { return "logit-lens"; }

    @Override public List<String> description() {
        return List.of("Each layer's residual stream at the last position through the final norm (frozen at that vector) and",
                "the unembedding: the tokens each layer would predict, and the rank of the model's prediction there.");
    }

    @Override public Class<Options> optionsType() { return Options.class; }

    @Override public boolean hasArrays() { return true; }

    @Override
    public Result run(PromptContext ctx, Options o, Progress progress, ArraySink arrays) {
        long t0 = System.nanoTime();
        Transformer m = ctx.model();
        ForwardTrace tr = ctx.trace();
        int n = tr.n(), d = m.config().dim(), L = m.config().layers(), V = m.config().vocab();
        int[] layers = o.layers() != null ? o.layers() : java.util.stream.IntStream.range(0, L).toArray();
        int predicted = ctx.prediction().tokenId();
        ForwardPass fp = new ForwardPass(m);
        List<LayerReadout> out = new ArrayList<>();
        // (layers, d) the stream and its normed readout; (layers, V) the lens logits, only when exported
        double[] hidden = new double[layers.length * d], normed = new double[layers.length * d];
        float[] allLogits = arrays.wanted() ? new float[layers.length * V] : null;
        Double lastError = null;
        for (int i = 0; i < layers.length; i++) {
            progress.update("layers", i, layers.length);
            int l = layers[i];
            double[] h = java.util.Arrays.copyOfRange(tr.resid()[l + 1], (n - 1) * d, n * d);
            double[] scale = fp.finalNormScales(h), y = new double[d];
            for (int j = 0; j < d; j++) y[j] = h[j] * scale[j];
            double[] logits = fp.logits(y);
            System.arraycopy(h, 0, hidden, i * d, d);
            System.arraycopy(y, 0, normed, i * d, d);
            if (allLogits != null) for (int v = 0; v < V; v++) allLogits[i * V + v] = (float) logits[v];
            out.add(readout(m, l, logits, predicted, o.top()));
            if (l == L - 1) lastError = Vectors.relativeError(logits, tr.logits());
        }
        progress.update("layers", layers.length, layers.length);
        if (arrays.wanted()) {
            try {
                arrays.add("hidden", new int[]{layers.length, d}, hidden, "residual stream after each read layer, at the last position");
                arrays.add("normed", new int[]{layers.length, d}, normed, "the same through the final norm (scales frozen at each vector)");
                arrays.add("logits", new int[]{layers.length, V}, allLogits, "W_U · normed: the lens logits of each read layer");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            arrays.describe("kind", "logit-lens");
            arrays.describe("model", ctx.modelInfo());
            arrays.describe("positions", ctx.tokens());
            arrays.describe("layers", layers);
        }
        Map<String, Double> times = ctx.times();
        times.put("logit_lens", Vectors.ms(t0));
        return new Result(ctx.modelInfo(), ctx.prompt(), ctx.tokens(), ctx.prediction(), out, lastError, times);
    }

    /** The top tokens of one layer's logits (softmax probabilities) and the predicted token's rank (1 = top). */
    private static LayerReadout readout(Transformer m, int layer, double[] logits, int predicted, int top) {
        double max = Double.NEGATIVE_INFINITY;
        for (double v : logits) max = Math.max(max, v);
        double sum = 0;
        int rank = 1;
        for (int v = 0; v < logits.length; v++) {
            sum += Math.exp(logits[v] - max);
            if (logits[v] > logits[predicted]) rank++;
        }
        List<Prediction.Candidate> best = new ArrayList<>();
        for (int id : Vectors.topIndices(logits, top))
            best.add(new Prediction.Candidate(id, m.tokenizer().decode(id), Math.exp(logits[id] - max) / sum, logits[id]));
        return new LayerReadout(layer, "blocks." + layer + ".hook_resid_post", best, rank,
                Math.exp(logits[predicted] - max) / sum, logits[predicted]);
    }
}
