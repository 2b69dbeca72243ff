package linlens.analysis;

import linlens.model.MlpPath;
import linlens.model.Progress;
import linlens.model.Transformer;
import linlens.testing.RealModel;
import linlens.testing.TestModels;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

@RealModel
class SteeringTest {
    @Test
    void zeroStrengthLeavesGenerationUnchangedAndStrengthChangesIt() {
        Transformer m = TestModels.gemma();
        var source = PromptContext.of(m, "The Golden Gate Bridge", -1);
        String target = "My favorite place is";
        var none = new Steering().run(source, new Steering.Options(target, 11, 0.0, 6, MlpPath.UP), Progress.NONE, ArraySink.NONE);
        assertEquals(List.of(), none.comparison(), "λ = 0: nothing to compare (λ/2 = 2λ = 0)");
        assertEquals(none.unsteered().tokenIds(), none.steered().tokenIds(), "λ = 0 must not change the continuation");
        assertEquals(6, none.unsteered().tokenIds().size());
        var strong = new Steering().run(source, new Steering.Options(target, 11, 1.0, new double[]{0.0, 1.0}, 6, MlpPath.UP),
                Progress.NONE, ArraySink.NONE);
        assertEquals(none.unsteered().tokenIds(), strong.unsteered().tokenIds());
        assertNotEquals(strong.unsteered().tokenIds(), strong.steered().tokenIds(), "λ = 1 should change the continuation");
        // the comparison steers exactly as the headline λ does: λ = 0 is the plain continuation, λ = 1 the steered one
        assertEquals(List.of(0.0, 1.0), strong.comparison().stream().map(Steering.Compared::strength).toList());
        assertEquals(strong.unsteered().tokenIds(), strong.comparison().get(0).tokenIds());
        assertEquals(strong.steered().tokenIds(), strong.comparison().get(1).tokenIds());
        assertArrayEquals(new double[]{0.25, 1.0}, new Steering.Options(target, 11, 0.5, 6, MlpPath.UP).comparedStrengths(), "default: λ/2 and 2λ");
        assertEquals(11, Steering.defaultLayer(18));
    }
}
