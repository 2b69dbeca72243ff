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

    @Mixin ChatOptions chat;

    @Override
    public Integer call() throws Exception {
        Prompts.Chat format = chat.format();
        Transformer m = common.load(spec.commandLine().getErr());
        var out = spec.commandLine().getOut();
        int[] ids;
        if (format == null) {
            ids = Prompts.encode(m, promptOption.prompt);
        } else {
            Prompts.Formatted f = Prompts.chat(m, promptOption.prompt, format);
            out.println("Chat prompt  " + Text.quote(f.text()));
            ids = f.ids();
        }
        for (int i = 0; i < ids.length; i++) out.printf("%4d  %8d  %s%n", i, ids[i], Text.quote(m.tokenizer().decode(ids[i])));
        return 0;
    }
}
