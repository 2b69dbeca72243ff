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
        List<String> sources = List.of("The Golden Gate Bridge", "The bridge out of Marin is the Golden");
        List<String> targets = List.of("I went to the store and", "My favourite holiday was");
        int[] layers = {11, 14, 16};
        double[] strengths = {0.4, 0.7, 1.0};
        System.out.println("source\ttarget\tlayer\tstrength\tcontinuation");
        for (String source : sources) {
            PromptContext ctx = PromptContext.of(m, source, 0);
            for (String target : targets)
                for (int layer : layers)
                    for (double s : strengths) {
                        var r = new Steering().run(ctx, new Steering.Options(target, layer, s, new double[0], 12, MlpPath.UP), Progress.NONE, ArraySink.NONE);
                        if (source.equals(sources.getFirst()) && layer == layers[0] && s == strengths[0])
                            System.out.println("-\t" + target + "\t-\t0\t" + r.unsteered().text().replace("\n", "\\n"));
                        System.out.println(source + "\t" + target + "\t" + layer + "\t" + s + "\t" + r.steered().text().replace("\n", "\\n"));
                        System.out.flush();
                    }
        }
    }
}
