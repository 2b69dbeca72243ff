package linlens.analysis;

import linlens.model.MlpPath;
import linlens.model.Transformer;
import linlens.testing.RealModel;
import linlens.testing.TestModels;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

@RealModel
class SteeringTest {
    @Test
    void zeroStrengthLeavesGenerationUnchangedAndStrengthChangesIt() {
        Transformer m = TestModels.gemma();
        int[] src = m.tokenizer().encode("The Golden Gate Bridge"), tgt = m.tokenizer().encode("My favorite place is");
        var none = Steering.run(m, "s", src, "t", tgt, new Steering.Options(11, 0.0, 6, MlpPath.UP));
        assertEquals(none.unsteered().tokenIds(), none.steered().tokenIds(), "λ = 0 must not change the continuation");
        assertEquals(6, none.unsteered().tokenIds().size());
        var strong = Steering.run(m, "s", src, "t", tgt, new Steering.Options(11, 1.0, 6, MlpPath.UP));
        assertEquals(none.unsteered().tokenIds(), strong.unsteered().tokenIds());
        assertNotEquals(strong.unsteered().tokenIds(), strong.steered().tokenIds(), "λ = 1 should change the continuation");
        assertEquals(11, Steering.defaultLayer(18));
    }
}
