package linlens.cli;

import linlens.analysis.Analysis;
import linlens.analysis.AnalysisResult;
import linlens.analysis.ArraySink;
import linlens.analysis.ChatResult;
import linlens.analysis.OptionException;
import linlens.analysis.ParamSpec;
import linlens.analysis.PromptContext;
import linlens.model.Prompts;
import linlens.model.Transformer;
import linlens.report.HtmlReport;
import linlens.report.NpyExport;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.TypeConversionException;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * The subcommand of one analysis, built from its description and its options ({@link ParamSpec}):
 * the analysis's own options, the prompt, the model options every command has, and the outputs
 * (--json, --report, and --export where the analysis writes arrays). One run: parse and check
 * the options, check the outputs can be written, load the model, check the options against it,
 * run, write the outputs, print the summary. Option errors name options as typed here (--mlp-path).
 */
final class AnalysisCommand implements Callable<Integer> {
    private final Analysis<?> analysis;
    private final CommonOptions common = new CommonOptions();
    private final ThreadsOption threads = new ThreadsOption();
    private final ChatOptions chat = new ChatOptions();
    private CommandSpec spec;

    private AnalysisCommand(Analysis<?> analysis) {
        this.analysis = analysis;
    }

    /** The analysis's subcommand. */
    static CommandLine of(Analysis<?> analysis) {
        AnalysisCommand command = new AnalysisCommand(analysis);
        CommandSpec spec = CommandSpec.wrapWithoutInspection(command);
        command.spec = spec;
        spec.name(analysis.name());
        spec.usageMessage().header(analysis.summary()).description(analysis.description().toArray(String[]::new));
        spec.addMixin("common", CommandSpec.forAnnotatedObject(command.common));
        spec.addOption(OptionSpec.builder("--prompt").paramLabel("<prompt>").type(String.class)
                .description(analysis.promptDescription() + " (default: \"${DEFAULT-VALUE}\").").defaultValue(analysis.defaultPrompt()).build());
        spec.addMixin("chat", CommandSpec.forAnnotatedObject(command.chat));
        for (ParamSpec p : analysis.params()) spec.addOption(option(p));
        spec.addMixin("threads", CommandSpec.forAnnotatedObject(command.threads));
        if (analysis.fullDescription() != null)
            spec.addOption(OptionSpec.builder("--full").type(boolean.class).arity("0").description(analysis.fullDescription()).build());
        spec.addOption(path("--json", "FILE", "Write the full result as JSON."));
        spec.addOption(path("--report", "FILE.html", "Write a self-contained HTML report with interactive figures."));
        if (analysis.hasArrays())
            spec.addOption(path("--export", "DIR", "Write the arrays (Jacobians, singular vectors...) as .npy files with a manifest.json."));
        return new CommandLine(spec);
    }

    private static OptionSpec option(ParamSpec p) {
        String text = p.description();
        if (p.defaultText() != null && !text.contains("default"))
            text = text.endsWith(".") ? text.substring(0, text.length() - 1) + " (default: " + p.defaultText() + ")." : text + " (default: " + p.defaultText() + ")";
        OptionSpec.Builder b = OptionSpec.builder(p.cliName()).description(text).required(p.required());
        if (p.kind() == ParamSpec.Kind.FLAG) return b.type(boolean.class).arity("0").build();
        return b.type(Object.class).paramLabel(p.required() ? "<" + p.name() + ">" : p.label()).converters(s -> {
            try {
                return p.parseText(s);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }).build();
    }

    private static OptionSpec path(String name, String label, String description) {
        return OptionSpec.builder(name).paramLabel(label).type(Path.class).description(description).build();
    }

    /** Option errors (OptionException) are rendered with the command line's names by {@link Main}. */
    @Override
    public Integer call() throws Exception {
        Map<String, Object> given = new LinkedHashMap<>();
        var parsed = spec.commandLine().getParseResult();
        for (ParamSpec p : analysis.params())
            if (parsed.hasMatchedOption(p.cliName())) given.put(p.name(), parsed.matchedOptionValue(p.cliName(), null));
        Record options = ParamSpec.build(analysis.optionsType(), given);
        analysis.checkUnchecked(options);
        Path json = value("--json"), report = value("--report"), export = analysis.hasArrays() ? value("--export") : null;
        if (export != null && analysis.noArraysUnchecked(options) != null) throw new OptionException(analysis.noArraysUnchecked(options));
        if (report != null && analysis.noReportUnchecked(options) != null) throw new OptionException(analysis.noReportUnchecked(options));
        OutputTargets.check(json, report, export);
        threads.apply();
        PrintWriter out = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        String prompt = value("--prompt");
        Prompts.Chat chatFormat = chat.format();

        long t0 = System.nanoTime();
        Transformer m = common.load(err);
        double loadMs = (System.nanoTime() - t0) / 1e6;
        ParamSpec.checkAgainst(options, m);
        // every refusal (the options against the prompt, then a model that fails its forward pass)
        // before the first progress line, and before the forward pass where the prompt decides it
        Prompts.Formatted formatted = chatFormat == null ? null : Prompts.chat(m, prompt, chatFormat);
        int[] ids = formatted == null ? Prompts.encode(m, prompt) : formatted.ids();
        analysis.checkPromptUnchecked(m, ids, options);
        PromptContext ctx = PromptContext.of(m, prompt, formatted == null ? null : formatted.text(), ids, loadMs);
        common.progress(err, analysis.name() + ": " + ids.length + " tokens...");
        NpyExport ex = export == null ? null : NpyExport.create(export);
        AnalysisResult result;
        try {
            result = ChatResult.of(analysis.runUnchecked(ctx, options, ConsoleProgress.of(err, common.quiet), ex == null ? ArraySink.NONE : ex), ctx);
            if (ex != null) ex.commit();
        } catch (Exception | Error e) {
            if (ex != null) ex.abandon();
            throw e;
        }
        if (json != null) JsonOutput.write(json, result.document());
        if (report != null) JsonOutput.writeText(report, HtmlReport.of(result).html());
        if (export != null) out.println("arrays written to " + export);
        if (analysis.fullDescription() != null && Boolean.TRUE.equals(value("--full"))) result.printFull(out);
        else result.print(out);
        if (json != null) out.println("JSON written to " + json);
        if (report != null) out.println("Report written to " + report);
        return 0;
    }

    private <T> T value(String option) {
        return spec.findOption(option).getValue();
    }
}
