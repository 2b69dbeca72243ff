// The sweep behind `steer`'s default layer and strengths (README, "steer"): the README's source
// prompt steering a few neutral targets, over layers × strengths, greedy continuations printed
// as TSV. Run: java -cp target/linlens.jar bench/SteeringSweep.java [MODEL.gguf] > sweep.tsv
import linlens.analysis.ArraySink;
import linlens.analysis.PromptContext;
import linlens.analysis.Steering;
import linlens.model.MlpPath;
import linlens.model.ModelLoader;
import linlens.model.Progress;

import java.nio.file.Path;
import java.util.List;

public class SteeringSweep {
    public static void main(String[] args) {
        Path model = Path.of(args.length > 0 ? args[0] : System.getProperty("user.home") + "/.cache/linlens/models/gemma-3-270m.gguf");
        var m = ModelLoader.load(model);
        String source = "The Golden Gate Bridge";
        List<String> targets = List.of("I went to the store and", "My favourite holiday was", "The meeting this morning was about");
        int[] layers = {5, 8, 11, 14};
        double[] strengths = {0.1, 0.2, 0.3, 0.5};
        PromptContext ctx = PromptContext.of(m, source, 0);
        System.out.println("target\tlayer\tstrength\tcontinuation");
        for (String target : targets)
            for (int layer : layers)
                for (double s : strengths) {
                    var r = new Steering().run(ctx, new Steering.Options(target, layer, s, 12, MlpPath.UP), Progress.NONE, ArraySink.NONE);
                    if (layer == layers[0] && s == strengths[0])
                        System.out.println(target + "\t-\t0\t" + r.unsteered().text().replace("\n", "\\n"));
                    System.out.println(target + "\t" + layer + "\t" + s + "\t" + r.steered().text().replace("\n", "\\n"));
                    System.out.flush();
                }
    }
}
