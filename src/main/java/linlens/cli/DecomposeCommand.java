package linlens.cli;

import linlens.analysis.Decomposition;
import linlens.model.InputException;
import linlens.model.Prompts;
import linlens.model.Transformer;
import linlens.report.HtmlReport;
import linlens.report.NpyExport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "decompose", description = {
        "Compute the detached Jacobian J_i of the last position's output embedding w.r.t. every input",
        "embedding, check that y = Σ J_i x_i, and decode the leading singular vectors of each J_i."})
public final class DecomposeCommand implements Callable<Integer> {
    @Mixin CommonOptions common;
    @Spec CommandSpec spec;

    @Mixin PromptOption promptOption;

    @Option(names = "--components", description = "Singular pairs decoded per position (default: ${DEFAULT-VALUE}).", defaultValue = "8")
    int components;

    @Option(names = "--top", description = "Tokens shown per singular vector (default: ${DEFAULT-VALUE}).", defaultValue = "8")
    int top;

    @Mixin LinearOptions linear;

    @Mixin ThreadsOption threads;

    @Option(names = "--json", paramLabel = "FILE", description = "Write the full result as JSON.")
    Path json;

    @Option(names = "--nonlinear", description = "Also compute the ordinary Jacobian (nothing frozen) and how badly it reconstructs y.")
    boolean nonlinear;

    @Option(names = "--export", paramLabel = "DIR", description = "Write J, the SVDs (and the ordinary J) as .npy files with a manifest.json.")
    Path export;

    @Option(names = "--report", paramLabel = "FILE.html", description = "Write a self-contained HTML report with interactive figures.")
    Path report;

    @Option(names = "--matrix-free", description = "Never form J: reconstruction by one J·x sweep, top-k of the tokens-combined J and of the last position's J from sweeps (long prompts).")
    boolean matrixFree;

    @Option(names = "--k", paramLabel = "K", description = "Singular values of each matrix-free top-k (default: --components).")
    Integer k;

    @Override
    public Integer call() throws Exception {
        Bounds.atLeast("--components", components, 1);
        Bounds.atLeast("--top", top, 1);
        MatrixFreeFlags.check(matrixFree, k, export, report);
        if (matrixFree && nonlinear) throw new InputException("--nonlinear materializes the ordinary Jacobian: not with --matrix-free");
        OutputTargets.check(json, report, export);
        threads.apply();
        PrintWriter out = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        Map<String, Double> times = new LinkedHashMap<>();
        long t0 = System.nanoTime();
        Transformer m = common.load(err);
        times.put("load", (System.nanoTime() - t0) / 1e6);
        int[] ids = Prompts.encode(m, promptOption.prompt);
        MatrixFreeFlags.checkK(k, m.config().dim());
        Bounds.width("--components", components, m);
        Bounds.vocabCount("--top", top, m);
        if (!matrixFree) Decomposition.checkMaterializable(ids.length, m.config().dim(), linear.precision);
        // u and v of each position's pairs, its top columns and rows, the tokens-combined pairs (matrix-free: 2 spectra)
        Bounds.decodeMemory(matrixFree ? 4L * components : 4L * ids.length * components + 2L * components, components, top);
        common.progress(err, "decomposing " + ids.length + " tokens in " + linear.precision.label()
                + (matrixFree ? ", matrix-free..." : "..."));
        NpyExport ex = export == null ? null : NpyExport.create(export);
        Decomposition.Detail<?> detail;
        try {
            detail = Decomposition.run(m, promptOption.prompt, Decomposition.forward(m, ids, times, nonlinear),
                    matrixFree ? Decomposition.Options.matrixFree(linear.precision, linear.mlpPath, components, top, k == null ? 0 : k)
                            : new Decomposition.Options(linear.precision, linear.mlpPath, components, top, nonlinear, ex), times,
                    ConsoleProgress.of(err, common.quiet));
        } catch (Exception | Error e) {
            if (ex != null) ex.abandon();
            throw e;
        }
        var r = detail.result();
        if (json != null) JsonOutput.write(json, r);
        if (report != null) JsonOutput.writeText(report, HtmlReport.of(detail).html());
        if (export != null) out.println("arrays written to " + export);
        print(out, r, Math.min(components, 4), Math.min(top, 6));
        if (json != null) out.println("JSON written to " + json);
        if (report != null) out.println("Report written to " + report);
        return 0;
    }

    static void print(PrintWriter out, Decomposition.Result r, int shownComponents, int shownTokens) {
        var mi = r.model();
        out.printf("Model:        %s (%s), d=%d, %d layers, vocab %d%n", mi.family(), Path.of(mi.source()).getFileName(),
                mi.hiddenSize(), mi.layers(), mi.vocabSize());
        out.printf("Prompt:       %s (%d tokens)%n", Text.quote(r.prompt()), r.tokens().size());
        StringBuilder toks = new StringBuilder();
        for (var t : r.tokens()) toks.append(toks.isEmpty() ? "" : " | ").append(Text.quote(t.text()));
        out.println("Tokens:       " + toks);
        var p = r.prediction();
        out.printf("Prediction:   %s p=%.4f (then", Text.quote(p.text()), p.probability());
        for (int i = 1; i < p.top().size(); i++) out.printf(" %s %.4f", Text.quote(p.top().get(i).text()), p.top().get(i).probability());
        out.println(")");
        var rc = r.reconstruction();
        if (rc.constantNorm() > 0)
            out.printf("Reconstruction: |Σ J_i x_i + c - y| / |y| = %.3e  (%s, mlp path %s; biases: |c| / |y| = %.3g)%n",
                    rc.relativeError(), rc.precision(), rc.mlpPath(), rc.constantNorm() / rc.outputNorm());
        else
            out.printf("Reconstruction: |Σ J_i x_i - y| / |y| = %.3e  (%s, mlp path %s)%n", rc.relativeError(), rc.precision(), rc.mlpPath());
        if (r.nonlinearReconstruction() != null)
            out.printf("Ordinary J (nothing frozen): |Σ J_i x_i - y| / |y| = %.3e%n", r.nonlinearReconstruction().relativeError());
        var comb = r.svdCombined();
        if (r.matrixFree() != null)
            out.printf("Tokens combined [J_0 … J_%d]: matrix-free top-%d (%d sweeps, J not formed)%n", r.tokens().size() - 1,
                    r.matrixFree().k(), r.matrixFree().sweeps());
        else
            out.printf("Tokens combined [J_0 … J_%d]: stable rank %.3f%n", r.tokens().size() - 1, comb.stableRank());
        for (int k = 0; k < Math.min(shownComponents, comb.components().size()); k++) {
            var c = comb.components().get(k);
            out.printf("  %d  σ=%-9.4g u: %s%n", k + 1, c.sigma(), join(c.uTokens(), shownTokens));
        }
        for (var s : r.svd()) {
            out.printf("%nPosition %d %s  %s  σ:", s.position(), Text.quote(s.token()),
                    s.stableRank() == null ? "top-" + s.singularValues().length : String.format("stable rank %.3f", s.stableRank()));
            for (int k = 0; k < Math.min(6, s.singularValues().length); k++) out.printf(" %.4g", s.singularValues()[k]);
            out.println();
            for (int k = 0; k < Math.min(shownComponents, s.components().size()); k++) {
                var c = s.components().get(k);
                out.printf("  %d  σ=%-9.4g u: %s%n     %9s   v: %s%n", k + 1, c.sigma(), join(c.uTokens(), shownTokens), "", join(c.vTokens(), shownTokens));
            }
        }
        out.print("\nTimings (ms):");
        r.timingsMs().forEach((k, v) -> out.printf(" %s %.0f", k, v));
        out.println();
    }

    static String join(java.util.List<String> toks, int n) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < Math.min(n, toks.size()); i++) b.append(i == 0 ? "" : " ").append(Text.quote(toks.get(i)));
        return b.toString();
    }
}
