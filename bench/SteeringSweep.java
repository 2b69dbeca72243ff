// The sweep behind `steer`'s default layer and strengths (README, "steer"): source prompts
// steering neutral targets over layers × strengths, each greedy continuation with three numbers:
// changed (share of its tokens that differ from the unsteered one at the same place), distinct
// (distinct tokens / tokens: low means it loops) and concept (tokens that are words of the Golden
// Gate Bridge). Run: java -cp target/linlens.jar bench/SteeringSweep.java [MODEL.gguf] > sweep.tsv
import linlens.analysis.ArraySink;
import linlens.analysis.PromptContext;
import linlens.analysis.Steering;
import linlens.model.MlpPath;
import linlens.model.ModelLoader;
import linlens.model.Progress;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

public class SteeringSweep {
    static final int TOKENS = 10;

    public static void main(String[] args) {
        Path model = Path.of(args.length > 0 ? args[0] : System.getProperty("user.home") + "/.cache/linlens/models/gemma-3-270m.gguf");
        var m = ModelLoader.load(model);
        // sources that predict the concept: what the steering carries is mostly the source's own prediction
        List<String> sources = List.of("The Golden Gate", "The bridge out of Marin is the Golden");
        List<String> targets = List.of("I went to the store and", "My favourite holiday was");
        int[] layers = {8, 11, 14};
        double[] strengths = {0.15, 0.25, 0.35};
        System.out.println("source\ttarget\tlayer\tstrength\tchanged\tdistinct\tconcept\tcontinuation");
        for (String source : sources) {
            PromptContext ctx = PromptContext.of(m, source, 0);
            Set<String> words = new HashSet<>(Arrays.asList(source.toLowerCase(Locale.ROOT).split(" ")));
            words.addAll(List.of("bridge", "gate", "golden", "san", "francisco"));
            words.removeAll(List.of("the", "is", "of", "out"));
            for (String target : targets)
                for (int layer : layers)
                    for (double s : strengths) {
                        var r = new Steering().run(ctx, new Steering.Options(target, layer, s, new double[0], TOKENS, MlpPath.UP),
                                Progress.NONE, ArraySink.NONE);
                        List<String> plain = r.unsteered().tokens(), steered = r.steered().tokens();
                        int changed = 0, concept = 0;
                        for (int i = 0; i < steered.size(); i++) {
                            if (i >= plain.size() || !plain.get(i).equals(steered.get(i))) changed++;
                            if (words.contains(steered.get(i).strip().toLowerCase(Locale.ROOT))) concept++;
                        }
                        double distinct = steered.isEmpty() ? 0 : (double) new HashSet<>(steered).size() / steered.size();
                        if (layer == layers[0] && s == strengths[0])
                            System.out.printf("%s\t%s\t-\t0\t0\t%.2f\t0\t%s%n", source, target, (double) new HashSet<>(plain).size() / plain.size(),
                                    r.unsteered().text().replace("\n", "\\n"));
                        System.out.printf("%s\t%s\t%d\t%s\t%.2f\t%.2f\t%d\t%s%n", source, target, layer, s, (double) changed / Math.max(1, steered.size()),
                                distinct, concept, r.steered().text().replace("\n", "\\n"));
                        System.out.flush();
                    }
        }
    }
}
