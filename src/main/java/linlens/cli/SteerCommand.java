package linlens.cli;

import linlens.analysis.Steering;
import linlens.model.InputException;
import linlens.model.MlpPath;
import linlens.model.Prompts;
import linlens.model.Transformer;
import linlens.report.HtmlReport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "steer", description = {
        "Steer greedy generation of a target prompt with a source prompt's cumulative Jacobian at a layer,",
        "printing the steered and unsteered continuations side by side."})
public final class SteerCommand implements Callable<Integer> {
    @Mixin CommonOptions common;
    @Spec CommandSpec spec;

    @Option(names = "--prompt", description = "Source prompt whose Jacobian steers (default: \"${DEFAULT-VALUE}\").",
            defaultValue = "The Golden Gate Bridge")
    String prompt;

    @Option(names = "--target", required = true, description = "The prompt to continue.")
    String target;

    @Option(names = "--layer", description = "Layer whose output is steered (default: about two thirds of the depth).")
    Integer layer;

    @Option(names = "--strength", defaultValue = "0.5", description = "λ: size of the added vector relative to the stream's norm (default: ${DEFAULT-VALUE}).")
    double strength;

    @Option(names = "--tokens", defaultValue = "20", description = "Tokens to generate (default: ${DEFAULT-VALUE}).")
    int tokens;

    @Option(names = "--mlp-path", defaultValue = "up", converter = Converters.MlpPathConverter.class,
            description = "up or gate (default: ${DEFAULT-VALUE}).")
    MlpPath mlpPath;

    @Option(names = "--json", paramLabel = "FILE", description = "Write the result as JSON.")
    Path json;

    @Option(names = "--report", paramLabel = "FILE.html", description = "Write a self-contained HTML report with interactive figures.")
    Path report;

    @Override
    public Integer call() throws Exception {
        JsonOutput.checkWritable(json);
        JsonOutput.checkWritable(report);
        if (tokens < 1 || tokens > 512) throw new InputException("--tokens must be between 1 and 512");
        if (!Double.isFinite(strength)) throw new InputException("--strength must be a finite number");
        PrintWriter out = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        Transformer m = common.load(err);
        int[] src = Prompts.encode(m, prompt), tgt = Prompts.encode(m, target);
        if (tgt.length + tokens > m.config().context()) throw new InputException("target plus --tokens exceeds the model's context");
        int l = layer != null ? layer : Steering.defaultLayer(m.config().layers());
        common.progress(err, "steering with the Jacobian of layer " + l + " of " + Text.quote(prompt) + "...");
        var r = Steering.run(m, prompt, src, target, tgt, new Steering.Options(l, strength, tokens, mlpPath));
        if (json != null) JsonOutput.write(json, r);
        if (report != null) JsonOutput.writeText(report, HtmlReport.of(r).html());
        out.printf("Source %s, layer %d, λ = %.3g%n", Text.quote(prompt), l, strength);
        out.printf("  unsteered: %s%s%n", target, r.unsteered().text().replace("\n", "\\n"));
        out.printf("  steered:   %s%s%n", target, r.steered().text().replace("\n", "\\n"));
        if (json != null) out.println("JSON written to " + json);
        if (report != null) out.println("Report written to " + report);
        return 0;
    }
}
