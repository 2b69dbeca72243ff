package linlens.cli;

import linlens.analysis.OptionException;
import linlens.model.Prompts;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/** --chat, --system and --chat-template: the prompt as one user turn of the model's chat template. */
public final class ChatOptions {
    @Option(names = "--chat", description = "Put the prompt in the model's chat template, as one user turn followed by the generation prompt (the template's own special tokens and BOS; the analysis then sees the formatted prompt).")
    public boolean chat;

    @Option(names = "--system", paramLabel = "TEXT", description = "With --chat: a system turn before the user turn.")
    public String system;

    @Option(names = "--chat-template", paramLabel = "FILE", description = "With --chat: a Jinja chat template file to use instead of the model's own (a base model has none).")
    public Path template;

    /** The chat format asked for, or null for a plain prompt; refuses --system or --chat-template without --chat. */
    public Prompts.Chat format() {
        if (!chat) {
            if (system != null) throw new OptionException("{system} needs {chat}");
            if (template != null) throw new OptionException("{chat_template} needs {chat}");
            return null;
        }
        return new Prompts.Chat(system, template);
    }
}
