package linlens.cli;

import linlens.analysis.Attribution;
import linlens.analysis.Decomposition;
import linlens.model.ForwardPass;
import linlens.model.InputException;
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

@Command(name = "attribute", description = {
        "Exact attribution of a token's logit (default: the predicted token) to the input positions,",
        "w_tᵀ J_i x_i, summing exactly to the logit; optionally split by layer and attention vs MLP."})
public final class AttributeCommand implements Callable<Integer> {
    @Mixin CommonOptions common;
    @Spec CommandSpec spec;

    @Mixin PromptOption promptOption;

    @Option(names = "--token", paramLabel = "TEXT", description = "Attribute this token (its text must be a single token).")
    String token;

    @Option(names = "--token-id", paramLabel = "ID", description = "Attribute this token id.")
    Integer tokenId;

    @Option(names = "--versus", paramLabel = "TEXT", description = "Attribute the logit difference against this single token.")
    String versus;

    @Option(names = "--by-component", description = "Also split by layer and attention vs MLP.")
    boolean byComponent;

    @Mixin LinearOptions linear;

    @Mixin ThreadsOption threads;

    @Option(names = "--json", paramLabel = "FILE", description = "Write the result as JSON.")
    Path json;

    @Option(names = "--report", paramLabel = "FILE.html", description = "Write a self-contained HTML report with interactive figures.")
    Path report;

    @Override
    public Integer call() throws Exception {
        if (token != null && tokenId != null) throw new InputException("give --token or --token-id, not both");
        if (tokenId != null) Bounds.atLeast("--token-id", tokenId, 0);
        OutputTargets.check(json, report, null);
        threads.apply();
        PrintWriter out = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        Transformer m = common.load(err);
        if (tokenId != null) Bounds.tokenId("--token-id", tokenId, m);
        int[] ids = Prompts.encode(m, promptOption.prompt);
        var tr = new ForwardPass(m).run(ids);
        int target = tokenId != null ? tokenId : token != null ? singleToken(m, token, "--token") : Decomposition.topIndices(tr.logits(), 1)[0];
        Integer vs = versus == null ? null : singleToken(m, versus, "--versus");
        var r = Attribution.run(m, promptOption.prompt, tr, new Attribution.Options(target, vs, byComponent, linear.precision, linear.mlpPath));
        if (json != null) JsonOutput.write(json, r);
        if (report != null) JsonOutput.writeText(report, HtmlReport.of(r).html());
        var a = r.attribution();
        out.printf("Logit of %s%s = %.6f; Σ contributions = %.6f (relative error %.1e, %s)%n", Text.quote(a.text()),
                a.versusText() == null ? "" : " minus " + Text.quote(a.versusText()), a.logit(), a.sum(), a.relativeError(), linear.precision.label());
        for (var c : a.contributions()) out.printf("  %3d  %-18s %+10.4f%n", c.position(), Text.quote(c.token()), c.value());
        if (a.components() != null) {
            out.printf("By component (direct path of the embedding at the last position: %+.4f):%n", a.embeddingDirect());
            for (var c : a.components()) out.printf("  layer %2d %-4s %+10.4f%n", c.layer(), c.key(), c.total());
        }
        if (json != null) out.println("JSON written to " + json);
        if (report != null) out.println("Report written to " + report);
        return 0;
    }

    /** The id of a text that is exactly one token (without BOS). */
    static int singleToken(Transformer m, String text, String option) {
        int[] ids = m.tokenizer().encode(text);
        int bos = m.tokenizer().bos();
        int[] body = ids.length > 0 && ids[0] == bos ? java.util.Arrays.copyOfRange(ids, 1, ids.length) : ids;
        if (body.length != 1)
            throw new InputException(option + " " + Text.quote(text) + " is " + body.length + " tokens, not one (try a leading space, e.g. \" Golden\")");
        return body[0];
    }
}
