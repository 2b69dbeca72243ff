package linlens.analysis;

import linlens.model.Progress;

import java.io.PrintWriter;
import java.util.List;
import java.util.Map;

/** {@code predict}: the next-token distribution's top k, from the forward pass alone. */
public final class NextToken implements Analysis<NextToken.Options> {
    public record Options(@Param(description = "How many tokens to list.", defaultValue = "10", min = 1,
            limit = Param.Limit.VOCAB_SIZE) int top) {}

    /** The prompt, its tokens and the top k: section "forward", as the app draws before any analysis. */
    public record Result(Figures.Forward forward) implements AnalysisResult {
        @Override public Object document() { return forward; }

        @Override public String title() { return "Linear Lens prediction: " + forward.prompt(); }

        @Override public Map<String, Object> sections() { return Map.of("forward", forward); }

        @Override public void print(PrintWriter out) {
            var p = forward.prediction();
            out.printf("%d tokens; next-token top %d:%n", forward.tokens().size(), p.top().size());
            for (var c : p.top()) out.printf("  %8d  %-24s p=%.6f  logit=%.4f%n", c.tokenId(), Text.quote(c.text()), c.probability(), c.logit());
        }
    }

    @Override public String name() { return "predict"; }

    @Override public String summary() { return "The next-token distribution's top K"; }

    @Override public List<String> description() { return List.of("Print the next-token distribution's top K for a prompt."); }

    @Override public Class<Options> optionsType() { return Options.class; }

    @Override
    public Result run(PromptContext ctx, Options o, Progress progress, ArraySink arrays) {
        var m = ctx.model();
        return new Result(new Figures.Forward(ctx.modelInfo(), ctx.prompt(), ctx.tokens(), Prediction.of(m, ctx.trace(), o.top())));
    }
}
