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
    /** Each generated token is a forward pass over the whole grown sequence: more is not an analysis any more. */
    static final int MAX_TOKENS = 512;

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

    @Mixin ThreadsOption threads;

    @Option(names = "--json", paramLabel = "FILE", description = "Write the result as JSON.")
    Path json;

    @Option(names = "--report", paramLabel = "FILE.html", description = "Write a self-contained HTML report with interactive figures.")
    Path report;

    @Override
    public Integer call() throws Exception {
        Bounds.within("--tokens", tokens, 1, MAX_TOKENS, null);
        Bounds.finite("--strength", strength);
        if (layer != null) Bounds.atLeast("--layer", layer, 0);
        OutputTargets.check(json, report, null);
        threads.apply();
        PrintWriter out = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        Transformer m = common.load(err);
        if (layer != null) Bounds.layer("--layer", layer, m);
        int[] src = Prompts.encode(m, prompt), tgt = Prompts.encode(m, target);
        if (tgt.length + tokens > m.config().context())
            throw new InputException("--tokens " + tokens + " out of range 1.." + Math.max(0, m.config().context() - tgt.length)
                    + " (the target's " + tgt.length + " tokens plus --tokens exceed the model's context of " + m.config().context() + ")");
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
