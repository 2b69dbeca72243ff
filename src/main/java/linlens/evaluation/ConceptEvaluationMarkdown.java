package linlens.evaluation;

import java.util.Locale;

/** docs/concepts.md from an evaluation's report: the numbers in tables, with what each means. */
public final class ConceptEvaluationMarkdown {
    private ConceptEvaluationMarkdown() {}

    public static String of(ConceptEvaluation.Report r, String command) {
        StringBuilder b = new StringBuilder();
        var o = r.options();
        b.append("# Concept scans: bias and toxicity on public sets\n\n");
        b.append("Written by `").append(command).append("` (").append(String.format(Locale.ROOT, "%.0f", r.seconds()))
                .append(" s) on `").append(r.model()).append("`: at most ").append(o.items())
                .append(" items per set, seed ").append(o.seed()).append(", top-").append(o.k())
                .append(" spectral shares, ").append(o.resamples()).append(" bootstrap resamples for the 95 % intervals. "
                        + "Rerun that command to reproduce every number (the samples are seeded; the arithmetic is deterministic "
                        + "for the same `--threads`).\n\n");
        b.append("""
                The scores are those of `linlens concept` (README, "Concepts"): for a concept with readout w, the concept logit
                wᵀy split exactly over the input positions by the detached Jacobian (wᵀJ_i x_i), the spectral share of J's top
                singular subspace in the concept's subspace, and three baselines on the same forward pass: the logit lens (wᵀ of
                each layer's stream through the final norm; its last layer is the concept logit itself), gradient × input of the
                ordinary Jacobian, and the output probability of the concept's tokens. "Prompt tokens" leaves out the BOS token,
                whose contribution is large and the same kind for every prompt. The spectral share is the last position's (the
                tokens-combined one costs n times more), and prompts over 64 tokens are left out (the counts below are those
                scored).

                """);
        b.append("## Toxicity (concept `profanity`)\n\n");
        b.append("""
                Each method has a few variants; the variant is chosen by AUROC on a development split (a seeded third of the
                items) and the table reports it on the other two thirds: AUROC (the chance that a positive prompt outscores a
                negative one; 0.5 is chance) and the true-positive rate at 1 % false positives, each with a stratified bootstrap
                95 % interval. The scored toxicity set has no non-toxic prompts (every one is rated toxic ≥ 0.5), so it is set
                against TruthfulQA's questions, which also differ in style, and, within itself, its top severe-toxicity quartile
                against its bottom quartile (same source, same style).

                """);
        for (var t : r.toxicity()) {
            b.append("### ").append(t.name()).append("\n\n");
            b.append("Positives: ").append(t.positives()).append(" (").append(t.positivesCount()).append("); negatives: ")
                    .append(t.negatives()).append(" (").append(t.negativesCount()).append("). Development ").append(t.devItems())
                    .append(" items, reported on ").append(t.testItems()).append(".\n\n");
            b.append("| method | variant chosen on the dev split | dev AUROC | AUROC [95 % CI] | TPR at 1 % FPR [95 % CI] |\n|---|---|---|---|---|\n");
            for (var row : t.rows())
                b.append("| ").append(row.method()).append(" | ").append(row.variant()).append(" | ")
                        .append(String.format(Locale.ROOT, "%.3f", row.devAuroc())).append(" | ").append(row.auroc()).append(" | ")
                        .append(row.tprAt1()).append(" |\n");
            b.append('\n');
        }
        b.append("## Bias: stereotype versus anti-stereotype\n\n");
        b.append("""
                Each item is the prompt up to the word where the stereotypical and the anti-stereotypical versions differ, and
                the model's logit difference of those two words as the next token (mean over each word's single-token forms, as
                written and after a space; items where a word has no single-token form are skipped). The stereotype score is the
                share of items where the stereotypical word wins (0.5: no preference). Where the difference comes from: the exact
                contributions wᵀJ_i x_i averaged over the items, by position counted back from the last token, beside gradient ×
                input; and by layer, each layer's attention and MLP output at the last position (exact: with the embedding's
                direct path they sum to the difference), beside the logit lens's reading of the stream after each layer.

                """);
        b.append("| set | items scored (left out) | stereotype score [95 % CI] | mean logit difference [95 % CI] |\n|---|---|---|---|\n");
        for (var s : r.bias())
            b.append("| ").append(s.name()).append(" | ").append(s.items()).append(" (").append(s.skipped()).append(") | ")
                    .append(s.stereotypeScore()).append(" | ").append(s.meanDifference()).append(" |\n");
        b.append("\nLeft out: items of the whole set with no text before the differing word (before the draw), and drawn items "
                + "where a word has no single-token form.\n");
        b.append("\nBy position (mean contribution to the difference; the last column is every earlier prompt token together):\n\n");
        b.append("| set | method | BOS | last token | 2nd last | 3rd last | 4th last | earlier |\n|---|---|---|---|---|---|---|---|\n");
        for (var s : r.bias()) {
            b.append("| ").append(s.name()).append(" | exact (detached J) | ").append(f(s.bosShare()));
            for (double v : s.byPositionFromEnd()) b.append(" | ").append(f(v));
            b.append(" |\n| ").append(s.name()).append(" | gradient × input | –");
            for (double v : s.gradByPositionFromEnd()) b.append(" | ").append(f(v));
            b.append(" |\n");
        }
        b.append("\nBy layer (mean; exact attention + MLP contributions at the last position, and the logit lens after the layer):\n\n");
        for (var s : r.bias()) {
            b.append("**").append(s.name()).append("** (embedding's direct path ").append(f(s.embeddingDirect())).append(")\n\n");
            b.append("| layer |");
            for (int l = 0; l < s.attnByLayer().length; l++) b.append(' ').append(l).append(" |");
            b.append("\n|---|").append("---|".repeat(s.attnByLayer().length)).append('\n');
            row(b, "attn (exact)", s.attnByLayer());
            row(b, "mlp (exact)", s.mlpByLayer());
            row(b, "logit lens", s.lensByLayer());
            b.append('\n');
        }
        b.append("""
                ## Reading these numbers

                Where the detached-Jacobian scores win, tie or lose against the baselines is in the tables as measured, on this
                small model and these sample sizes; the intervals say how much the ranking can be trusted. The exact attribution
                and the gradient × input baseline read the same gradient direction through different Jacobians (frozen versus
                full): the first sums exactly to the concept logit, the second does not. The spectral share asks a different
                question (what the prompt's linear map could promote, not what it does promote), which is why it can separate
                worse than the readouts of the output itself.
                """);
        return b.toString();
    }

    private static void row(StringBuilder b, String label, double[] v) {
        b.append("| ").append(label).append(" |");
        for (double x : v) b.append(' ').append(f(x)).append(" |");
        b.append('\n');
    }

    private static String f(double v) { return String.format(Locale.ROOT, "%+.3f", v); }
}
