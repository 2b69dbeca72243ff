package linlens.analysis;

import com.fasterxml.jackson.annotation.JsonProperty;
import linlens.blas.Arith;
import linlens.blas.WeightGemm;
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
    /** The unembedding product runs in this many pieces of the vocabulary: progress and cancel points. */
    private static final int UNEMBEDDING_CHUNKS = 16;

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

    @Override public String summary() { return "Each layer's readout: where the prediction appears"; }

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
        // (layers, d) the stream after each read layer at the last position, and its normed readout
        double[] hidden = new double[layers.length * d], normed = new double[layers.length * d];
        for (int i = 0; i < layers.length; i++) {
            System.arraycopy(tr.resid()[layers[i] + 1], (n - 1) * d, hidden, i * d, d);
            double[] scale = fp.finalNormScales(java.util.Arrays.copyOfRange(hidden, i * d, (i + 1) * d));
            for (int j = 0; j < d; j++) normed[i * d + j] = hidden[i * d + j] * scale[j];
        }
        // (layers, V) the lens logits: one product of every layer's readout with the unembedding,
        // so that W_U is decoded once, not once per layer; in chunks of its rows, each a progress step
        double[] logits = new double[layers.length * V];
        WeightGemm<double[]> gemm = new WeightGemm<>(Arith.F64);
        int chunks = Math.min(V, UNEMBEDDING_CHUNKS);
        for (int c = 0; c < chunks; c++) {
            progress.update("unembedding", c, chunks);
            int r0 = (int) ((long) V * c / chunks), r1 = (int) ((long) V * (c + 1) / chunks);
            gemm.xWt(normed, 0, layers.length, d, m.output(), r0, r1, logits, r0, V, false);
        }
        progress.update("unembedding", chunks, chunks);
        List<LayerReadout> out = new ArrayList<>();
        Double lastError = null;
        for (int i = 0; i < layers.length; i++) {
            progress.update("layers", i, layers.length);
            double[] row = java.util.Arrays.copyOfRange(logits, i * V, (i + 1) * V);
            out.add(readout(m, layers[i], row, predicted, o.top()));
            if (layers[i] == L - 1) lastError = Vectors.relativeError(row, tr.logits());
        }
        progress.update("layers", layers.length, layers.length);
        if (arrays.wanted()) {
            try {
                arrays.add("hidden", new int[]{layers.length, d}, hidden, "residual stream after each read layer, at the last position");
                arrays.add("normed", new int[]{layers.length, d}, normed, "the same through the final norm (scales frozen at each vector)");
                float[] stored = new float[logits.length];
                for (int i = 0; i < logits.length; i++) stored[i] = (float) logits[i];
                arrays.add("logits", new int[]{layers.length, V}, stored, "W_U · normed: the lens logits of each read layer");
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
    private static LayerReadout readout(Transformer m, int layer, double[] row, int predicted, int top) {
        double max = Double.NEGATIVE_INFINITY;
        for (double v : row) max = Math.max(max, v);
        double sum = 0;
        int rank = 1;
        for (int v = 0; v < row.length; v++) {
            sum += Math.exp(row[v] - max);
            if (row[v] > row[predicted]) rank++;
        }
        List<Prediction.Candidate> best = new ArrayList<>();
        for (int id : Vectors.topIndices(row, top))
            best.add(new Prediction.Candidate(id, m.tokenizer().decode(id), Math.exp(row[id] - max) / sum, row[id]));
        return new LayerReadout(layer, "blocks." + layer + ".hook_resid_post", best, rank,
                Math.exp(row[predicted] - max) / sum, row[predicted]);
    }
}
