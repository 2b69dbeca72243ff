package linlens.cli;

import picocli.CommandLine.Option;

/** The prompt a command works on, defaulting to the paper's example. */
public final class PromptOption {
    @Option(names = "--prompt", description = "Prompt text (default: \"${DEFAULT-VALUE}\").", defaultValue = CommonOptions.DEFAULT_PROMPT)
    public String prompt;
}
