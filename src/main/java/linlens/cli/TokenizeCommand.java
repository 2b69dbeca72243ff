package linlens.cli;

import linlens.analysis.Text;
import linlens.model.Prompts;
import linlens.model.Transformer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.util.concurrent.Callable;

@Command(name = "tokenize", description = "Print the token ids and pieces of a prompt.")
public final class TokenizeCommand implements Callable<Integer> {
    @Mixin CommonOptions common;
    @Spec CommandSpec spec;

    @Mixin PromptOption promptOption;

    @Override
    public Integer call() throws Exception {
        Transformer m = common.load(spec.commandLine().getErr());
        int[] ids = Prompts.encode(m, promptOption.prompt);
        var out = spec.commandLine().getOut();
        for (int i = 0; i < ids.length; i++) out.printf("%4d  %8d  %s%n", i, ids[i], Text.quote(m.tokenizer().decode(ids[i])));
        return 0;
    }
}
