package linlens.scan;

import linlens.analysis.Analyses;
import linlens.analysis.Analysis;
import linlens.analysis.ArraySink;
import linlens.analysis.Attribution;
import linlens.analysis.ConceptScores;
import linlens.analysis.Decomposition;
import linlens.analysis.LayerAnalysis;
import linlens.analysis.NextToken;
import linlens.analysis.OptionException;
import linlens.analysis.ParamSpec;
import linlens.analysis.PromptContext;
import linlens.analysis.SpectrumSummary;
import linlens.linear.Site;
import linlens.model.InputException;
import linlens.model.Progress;
import linlens.model.Prompts;
import linlens.model.Transformer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One dataset row through the analyses a scan asked for, as one row of results (column name →
 * value: Long, Integer, Double, String, or a List of them). Every number comes from the
 * analyses of {@link Analyses#ALL}, run through their {@link Analysis} interface on one shared
 * {@link PromptContext} (one forward pass per prompt); nothing is computed here.
 *
 * <p>The analyses' options are fixed by the scan: {@code predict} top 5; {@code decompose}
 * matrix-free (cost linear in the prompt's length) with top-k = {@code k} and one decoded token
 * per singular vector; {@code attribute} of the predicted token; {@code layers} matrix-free, the
 * residual stream after every layer, top-1.
 */
public final class PromptScanner {
    private final Transformer model;
    private final List<String> groups;
    private final int maxTokens;
    /** Group → (analysis, options), in {@link ScanSchema#GROUPS} order. */
    private final Map<String, Run> runs = new LinkedHashMap<>();

    private record Run(Analysis<?> analysis, Record options) {}

    /**
     * The analyses' options for a model (checked against it: {@code k} within its width).
     * An {@link OptionException} names the option that does not fit.
     */
    public PromptScanner(Transformer model, List<String> groups, int k, int maxTokens) {
        this(model, groups, k, maxTokens, null);
    }

    /** With the concept of the {@code concept} group (null without it). */
    public PromptScanner(Transformer model, List<String> groups, int k, int maxTokens, String concept) {
        this.model = model;
        this.groups = List.copyOf(groups);
        this.maxTokens = maxTokens;
        for (String g : ScanSchema.GROUPS) {
            if (!groups.contains(g)) continue;
            Map<String, Object> given = new LinkedHashMap<>();
            switch (g) {
                case "predict" -> given.put("top", 5);
                case "decompose" -> {
                    given.put("matrix_free", true);
                    given.put("k", k);
                    given.put("components", k);
                    given.put("top", 1);
                }
                case "attribute" -> {}
                case "layers" -> {
                    int[] all = new int[model.config().layers()];
                    for (int l = 0; l < all.length; l++) all[l] = l;
                    given.put("layers", all);
                    given.put("keys", List.of(Site.LAYER));
                    given.put("components", 1);
                    given.put("top", 1);
                    given.put("matrix_free", true);
                    given.put("k", 1);
                }
                case "concept" -> {
                    given.put("concept", concept);
                    given.put("k", k);
                }
                default -> throw new IllegalStateException(g);
            }
            Analysis<?> a = Analyses.byName(g);
            Record options = ParamSpec.build(a.optionsType(), given);
            a.checkUnchecked(options);
            ParamSpec.checkAgainst(options, model);
            runs.put(g, new Run(a, options));
        }
    }

    /** The options each group's analysis runs with (for the manifest and the tests). */
    public Map<String, Record> options() {
        Map<String, Record> out = new LinkedHashMap<>();
        runs.forEach((g, r) -> out.put(g, r.options()));
        return out;
    }

    /**
     * The row's results. A row that cannot be analysed (no prompt, empty, not text, more than
     * {@code maxTokens} tokens, refused by an analysis) gets its error and the columns known so far.
     */
    public Map<String, Object> scan(DatasetRow row) {
        long t0 = System.nanoTime();
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("row_index", row.index());
        out.put("prompt", row.prompt());
        out.putAll(row.columns());
        if (row.error() != null) {
            out.put("error", row.error());
            return out;
        }
        try {
            int[] ids = Prompts.encode(model, row.prompt());
            out.put("n_tokens", ids.length);
            if (ids.length > maxTokens) throw new InputException(ids.length + " tokens, more than --max-tokens " + maxTokens);
            PromptContext ctx = PromptContext.of(model, row.prompt(), ids, -1);
            out.put("tokens", ctx.tokens().stream().map(t -> t.text()).toList());
            out.put("token_ids", Arrays.stream(ids).boxed().toList());
            out.put("time_forward_ms", ctx.times().get("forward"));
            for (var e : runs.entrySet()) {
                long t1 = System.nanoTime();
                Run run = e.getValue();
                Object doc = run.analysis().runUnchecked(ctx, run.options(), Progress.NONE, ArraySink.NONE).document();
                double ms = (System.nanoTime() - t1) / 1e6;
                switch (e.getKey()) {
                    case "predict" -> predict(out, (linlens.analysis.Figures.Forward) doc);
                    case "decompose" -> decompose(out, (Decomposition.Result) doc, ms);
                    case "attribute" -> attribute(out, (Attribution.Result) doc, ms);
                    case "layers" -> layers(out, (LayerAnalysis.Result) doc, ctx, ms);
                    case "concept" -> concept(out, (ConceptScores.Result) doc, ms);
                    default -> throw new IllegalStateException(e.getKey());
                }
            }
        } catch (OptionException e) {
            out.put("error", e.render(OptionException.CLI));
        } catch (InputException e) {
            String m = e.getMessage();
            out.put("error", m.startsWith("empty prompt") ? "empty prompt" : m);
        } catch (RuntimeException e) {
            // a failure of this prompt alone: the scan records it and goes on with the next
            out.put("error", "internal error: " + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()));
        }
        out.put("time_total_ms", (System.nanoTime() - t0) / 1e6);
        return out;
    }

    private static void predict(Map<String, Object> out, linlens.analysis.Figures.Forward f) {
        var p = f.prediction();
        out.put("predicted_token_id", p.tokenId());
        out.put("predicted_token", p.text());
        out.put("predicted_prob", p.probability());
        out.put("predicted_logit", p.logit());
        out.put("top5_token_ids", p.top().stream().map(c -> c.tokenId()).toList());
        out.put("top5_tokens", p.top().stream().map(c -> c.text()).toList());
        out.put("top5_probs", p.top().stream().map(c -> c.probability()).toList());
    }

    private static void decompose(Map<String, Object> out, Decomposition.Result r, double ms) {
        out.put("reconstruction_error", r.reconstruction().relativeError());
        SpectrumSummary comb = r.svdCombined();
        var last = r.svd().getFirst();
        out.put("combined_sigma", doubles(comb.singularValues()));
        out.put("combined_u_tokens", firstTokens(comb.components(), true));
        out.put("combined_v_tokens", firstTokens(comb.components(), false));
        out.put("last_sigma", doubles(last.singularValues()));
        out.put("last_u_tokens", firstTokens(last.components(), true));
        out.put("last_v_tokens", firstTokens(last.components(), false));
        out.put("time_decompose_ms", ms);
    }

    private static void attribute(Map<String, Object> out, Attribution.Result r, double ms) {
        var a = r.attribution();
        out.put("attribution", a.contributions().stream().map(Attribution.Contribution::value).toList());
        out.put("attribution_constant", a.constant());
        out.put("attribution_error", a.relativeError());
        out.put("time_attribute_ms", ms);
    }

    private static void layers(Map<String, Object> out, LayerAnalysis.Result r, PromptContext ctx, double ms) {
        List<String> tokens = new ArrayList<>();
        List<Integer> ids = new ArrayList<>();
        Integer first = null;
        int predicted = ctx.prediction().tokenId();
        for (var s : r.sites()) {
            var c = s.cumulative().tokensCombined().components().getFirst();
            tokens.add(c.uTokens().getFirst());
            ids.add(c.uTokenIds().getFirst());
            if (first == null && c.uTokenIds().getFirst() == predicted) first = s.layer();
        }
        out.put("layer_top_tokens", tokens);
        out.put("layer_top_token_ids", ids);
        out.put("first_prediction_layer", first);
        out.put("time_layers_ms", ms);
    }

    private static void concept(Map<String, Object> out, ConceptScores.Result r, double ms) {
        var a = r.attribution();
        out.put("concept", r.concept().name());
        out.put("concept_logit", r.logit());
        out.put("concept_attribution", a.positions().stream().map(ConceptScores.PositionScore::value).toList());
        out.put("concept_attribution_constant", a.constant());
        out.put("concept_attribution_error", a.relativeError());
        out.put("concept_embedding_direct", a.embeddingDirect());
        out.put("concept_layer_attn", a.layers().stream().map(ConceptScores.LayerScore::attn).toList());
        out.put("concept_layer_mlp", a.layers().stream().map(ConceptScores.LayerScore::mlp).toList());
        var sp = r.spectral();  // null when --k is 0
        out.put("concept_share_last", sp == null ? null : sp.lastPosition().share());
        out.put("concept_share_combined", sp == null ? null : sp.tokensCombined().share());
        out.put("concept_chance", r.concept().chance());
        out.put("concept_logit_lens", doubles(r.baselines().logitLens()));
        out.put("concept_grad_x_input", doubles(r.baselines().gradXInput()));
        out.put("concept_probability", r.baselines().probability());
        out.put("concept_versus_probability", r.baselines().versusProbability());
        out.put("time_concept_ms", ms);
    }

    private static List<Double> doubles(double[] a) { return Arrays.stream(a).boxed().toList(); }

    private static List<String> firstTokens(List<SpectrumSummary.Component> comps, boolean u) {
        return comps.stream().map(c -> (u ? c.uTokens() : c.vTokens()).getFirst()).toList();
    }
}
