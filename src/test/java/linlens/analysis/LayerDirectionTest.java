package linlens.analysis;

import linlens.linear.Precision;
import linlens.linear.Site;
import linlens.model.ForwardPass;
import linlens.model.ForwardTrace;
import linlens.model.MlpPath;
import linlens.model.Progress;
import linlens.model.Transformer;
import linlens.testing.RealModel;
import linlens.testing.TestModels;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The layer analysis picks forward or reverse sweeps by cost; both must give the same
 * Jacobians. One deep layer alone is cheaper in reverse (1 sweep of 18 layers vs n·18 rows);
 * many layers of a short prompt are cheaper forward. Compared through the spectra they report.
 */
@RealModel
class LayerDirectionTest {
    @Test
    void forwardAndReverseSweepsAgree() {
        Transformer m = TestModels.gemma();
        ForwardTrace tr = new ForwardPass(m).run(m.tokenizer().encode("The Golden"));
        // the stages reported: the forward direction has its own ("forward sweep"); reverse sweeps go by site
        List<String> lines = new java.util.ArrayList<>();
        Progress stages = (stage, done, total) -> { if (!lines.contains(stage)) lines.add(stage); };
        // n = 3: forward costs 3·18 = 54; reverse for 17 and 16 with 3 keys costs 3·(18+17) = 105 → forward
        var fwd = new LayerAnalysis().run(PromptContext.of(m, "", tr), new LayerAnalysis.Options(new int[]{16, 17},
                List.of(Site.values()), Precision.FP64, MlpPath.UP, 3, 2), stages, ArraySink.NONE);
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("forward")), lines.toString());
        lines.clear();
        // one key at one layer: reverse 18 < forward 54
        for (Site s : Site.values()) {
            var rev = new LayerAnalysis().run(PromptContext.of(m, "", tr), new LayerAnalysis.Options(new int[]{17}, List.of(s),
                    Precision.FP64, MlpPath.UP, 3, 2), stages, ArraySink.NONE);
            assertTrue(lines.contains("sites") && lines.stream().noneMatch(l -> l.startsWith("forward")), lines.toString());
            var f = fwd.sites().stream().filter(x -> x.layer() == 17 && x.key().equals(s.key)).findFirst().orElseThrow();
            var r = rev.sites().getFirst();
            assertTrue(f.cumulative().relativeError() <= 1e-12 && r.cumulative().relativeError() <= 1e-12);
            double[] a = f.cumulative().tokensCombined().singularValues(), b = r.cumulative().tokensCombined().singularValues();
            for (int i = 0; i < 8; i++) assertEquals(b[i], a[i], 1e-10 * b[0], s + " σ" + i);
            double[] la = f.cumulative().lastPosition().singularValues(), lb = r.cumulative().lastPosition().singularValues();
            for (int i = 0; i < 8; i++) assertEquals(lb[i], la[i], 1e-10 * lb[0], s + " last σ" + i);
        }
    }
}
