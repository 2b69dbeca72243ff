package linlens.cli;

import linlens.analysis.Decomposition;
import linlens.model.ForwardPass;
import linlens.model.Prompts;
import linlens.model.Transformer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.util.concurrent.Callable;

@Command(name = "predict", description = "Print the next-token distribution's top K for a prompt.")
public final class PredictCommand implements Callable<Integer> {
    @Mixin CommonOptions common;
    @Spec CommandSpec spec;

    @Mixin PromptOption promptOption;

    @Option(names = "--top", description = "How many tokens to list (default: ${DEFAULT-VALUE}).", defaultValue = "10")
    int top;

    @Mixin ThreadsOption threads;

    @Override
    public Integer call() throws Exception {
        Bounds.atLeast("--top", top, 1);
        threads.apply();
        var out = spec.commandLine().getOut();
        Transformer m = common.load(spec.commandLine().getErr());
        Bounds.vocabCount("--top", top, m);
        int[] ids = Prompts.encode(m, promptOption.prompt);
        var p = Decomposition.predict(m, new ForwardPass(m).run(ids), top);
        out.printf("%d tokens; next-token top %d:%n", ids.length, top);
        for (var c : p.top()) out.printf("  %8d  %-24s p=%.6f  logit=%.4f%n", c.tokenId(), Text.quote(c.text()), c.probability(), c.logit());
        return 0;
    }
}
