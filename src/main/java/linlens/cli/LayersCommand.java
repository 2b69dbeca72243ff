package linlens.cli;

import linlens.analysis.Decomposition;
import linlens.analysis.LayerAnalysis;
import linlens.linear.Site;
import linlens.model.ForwardPass;
import linlens.model.InputException;
import linlens.model.Prompts;
import linlens.model.Transformer;
import linlens.report.NpyExport;
import linlens.report.HtmlReport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "layers", description = {
        "Layer by layer: for each layer and site (layer = resid_post, attn = attn_out, mlp = mlp_out) the final",
        "norm of the site's last-position vector, its cumulative Jacobian (w.r.t. the embeddings) and layer-wise",
        "Jacobian (w.r.t. the layer input), reconstruction errors, spectra, stable rank and decoded tokens."})
public final class LayersCommand implements Callable<Integer> {
    @Mixin CommonOptions common;
    @Spec CommandSpec spec;

    @Mixin PromptOption promptOption;

    @Option(names = "--layers", split = ",", paramLabel = "L", description = "Layers (0-based; default: about 8 evenly spaced, including the last).")
    int[] layers;

    @Option(names = "--keys", split = ",", paramLabel = "KEY", description = "Sites: layer, attn, mlp (default: all).",
            converter = Converters.SiteConverter.class)
    List<Site> keys;

    @Option(names = "--components", defaultValue = "4", description = "Singular pairs decoded per Jacobian (default: ${DEFAULT-VALUE}).")
    int components;

    @Option(names = "--top", defaultValue = "6", description = "Tokens per singular vector (default: ${DEFAULT-VALUE}).")
    int top;

    @Mixin LinearOptions linear;

    @Mixin ThreadsOption threads;

    @Option(names = "--json", paramLabel = "FILE", description = "Write the full result as JSON.")
    Path json;

    @Option(names = "--export", paramLabel = "DIR", description = "Write every site's cumulative and layer-wise J as .npy files with a manifest.json.")
    Path export;
    @Option(names = "--report", paramLabel = "FILE.html", description = "Write a self-contained HTML report with interactive figures.")
    Path report;

    @Option(names = "--matrix-free", description = "Never form J: the top-k of each Jacobian from J·V and Jᵀ·U sweeps (long prompts).")
    boolean matrixFree;

    @Option(names = "--k", paramLabel = "K", description = "Singular values of each matrix-free top-k (default: --components).")
    Integer k;

    @Override
    public Integer call() throws Exception {
        Bounds.atLeast("--components", components, 1);
        Bounds.atLeast("--top", top, 1);
        MatrixFreeFlags.check(matrixFree, k, export, report);
        OutputTargets.check(json, report, export);
        threads.apply();
        PrintWriter out = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        Transformer m = common.load(err);
        int[] ids = Prompts.encode(m, promptOption.prompt);
        MatrixFreeFlags.checkK(k, m.config().dim());
        if (!matrixFree) Decomposition.checkMaterializable(ids.length, m.config().dim(), linear.precision);
        Bounds.width("--components", components, m);
        Bounds.vocabCount("--top", top, m);
        if (layers != null) for (int l : layers) Bounds.layer("--layers", l, m);
        int[] ls = layers != null ? layers : LayerAnalysis.defaultLayers(m.config().layers());
        List<Site> sites = keys != null ? keys : List.of(Site.values());
        // per layer and site: cumulative and layer-wise, each at the last position and tokens combined, u and v
        Bounds.decodeMemory(8L * ls.length * sites.size() * components, components, top);
        var tr = new ForwardPass(m).run(ids);
        NpyExport ex = export == null ? null : NpyExport.create(export);
        LayerAnalysis.Result r;
        try {
            var o = new LayerAnalysis.Options(ls, sites, linear.precision, linear.mlpPath, components, top, ex);
            r = LayerAnalysis.run(m, promptOption.prompt, tr, matrixFree ? o.matrixFree(k == null ? 0 : k) : o,
                    line -> common.progress(err, line));
        } catch (Exception | Error e) {
            if (ex != null) ex.abandon();
            throw e;
        }
        if (json != null) JsonOutput.write(json, r);
        if (report != null) JsonOutput.writeText(report, HtmlReport.of(r).html());
        out.printf("Prompt %s (%d tokens) → %s p=%.4f; %s%s%n", Text.quote(promptOption.prompt), ids.length, Text.quote(r.prediction().text()),
                r.prediction().probability(), linear.precision.label(),
                r.matrixFree() == null ? "" : "; matrix-free top-" + r.matrixFree().k() + " (" + r.matrixFree().sweeps() + " sweeps)");
        out.printf("%-6s %-5s %-10s %-10s %-8s %s%n", "layer", "key", "cum err", "lw err", "s.rank", "top u (tokens combined, cumulative)");
        for (var s : r.sites()) {
            var c = s.cumulative().tokensCombined();
            out.printf("%-6d %-5s %-10.2e %-10.2e %-8s %s%n", s.layer(), s.key(), s.cumulative().relativeError(),
                    s.layerwise().relativeError(), c.stableRank() == null ? "-" : String.format("%.2f", c.stableRank()),
                    DecomposeCommand.join(c.components().getFirst().uTokens(), 5));
        }
        if (json != null) out.println("JSON written to " + json);
        if (export != null) out.println("arrays written to " + export);
        if (report != null) out.println("Report written to " + report);
        return 0;
    }
}
