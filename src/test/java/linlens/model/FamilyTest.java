package linlens.model;

import org.junit.jupiter.api.Test;

import java.lang.reflect.RecordComponent;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.*;

/** The family registry and its descriptions: unambiguous names, the documented defaults, the with-methods. */
class FamilyTest {
    @Test
    void everyNameMapsToExactlyOneFamily() {
        Set<String> names = new HashSet<>(), gguf = new HashSet<>(), hf = new HashSet<>();
        for (Family f : Family.all()) {
            assertTrue(names.add(f.name()), "family name " + f.name() + " twice");
            assertFalse(f.hfModelTypes().isEmpty(), f.name() + " has no Hugging Face model type");
            for (String a : f.ggufArchitectures()) {
                assertTrue(gguf.add(a), "GGUF architecture " + a + " in two families");
                assertSame(f, Family.forGguf(a));
            }
            for (String t : f.hfModelTypes()) {
                assertTrue(hf.add(t), "model_type " + t + " in two families");
                assertSame(f, Family.forHf(t));
            }
        }
        assertNull(Family.forGguf("gpt2"));
        assertNull(Family.forHf("gpt2"));
    }

    @Test
    void plainIsThePreNormDecoderTheClassCommentDocuments() {
        Family p = Family.plain("x");
        assertEquals("x", p.name());
        assertEquals(List.of(), p.ggufArchitectures());
        assertEquals(List.of(), p.hfModelTypes());
        assertEquals(new Family.Norms("input_layernorm", null, "post_attention_layernorm", null), p.norms());
        assertEquals(0.0, p.hfNormOffset());
        assertEquals(Family.QkNorm.NONE, p.qkNorm());
        assertEquals(Family.Activation.SILU, p.activation());
        assertFalse(p.embeddingScale());
        assertEquals(Family.RopeStyle.NEOX, p.ggufRope());
        assertEquals(Family.SlidingWindows.EVERY_LAYER, p.slidingWindows());
        assertNull(p.localRopeBase());
        assertFalse(p.ggufLinearRopeScaling());
        assertSame(Family.QueryScalar.HEAD_DIM, p.ggufQueryScalar());
    }

    /** Each with-method changes its own component and leaves every other one as it was. */
    @Test
    void eachWithMethodChangesOnlyItsComponent() throws Exception {
        Family p = Family.plain("x");
        Family.QueryScalar scalar = (layers, dim, heads, headDim) -> 1;
        Map<String, UnaryOperator<Family>> changes = Map.ofEntries(
                Map.entry("ggufArchitectures", f -> f.gguf("a", "b")),
                Map.entry("hfModelTypes", f -> f.hf("c")),
                Map.entry("norms", f -> f.withNorms(Family.Norms.NONE.withPostFfn("n"))),
                Map.entry("hfNormOffset", f -> f.withHfNormOffset(1.0)),
                Map.entry("qkNorm", f -> f.withQkNorm(Family.QkNorm.FULL)),
                Map.entry("activation", f -> f.withActivation(Family.Activation.GELU_TANH)),
                Map.entry("embeddingScale", Family::withEmbeddingScale),
                Map.entry("ggufRope", f -> f.withGgufRope(Family.RopeStyle.INTERLEAVED)),
                Map.entry("slidingWindows", f -> f.withSlidingWindows(Family.SlidingWindows.globalEvery(3))),
                Map.entry("localRopeBase", f -> f.withLocalRopeBase(new Family.LocalRopeBase("k", "l", 5))),
                Map.entry("ggufLinearRopeScaling", Family::withGgufLinearRopeScaling),
                Map.entry("ggufQueryScalar", f -> f.withGgufQueryScalar(scalar)));
        RecordComponent[] components = Family.class.getRecordComponents();
        assertEquals(components.length - 1, changes.size(), "a with-method for every component but the name");
        for (var change : changes.entrySet()) {
            Family q = change.getValue().apply(p);
            List<String> changed = new ArrayList<>();
            for (RecordComponent c : components)
                if (!Objects.equals(c.getAccessor().invoke(p), c.getAccessor().invoke(q))) changed.add(c.getName());
            assertEquals(List.of(change.getKey()), changed);
        }
    }

    /** Gemma 3 27B's 62 layers scale queries by d / heads (GGUF has no key for it); other sizes and families by the head size. */
    @Test
    void gemma3QueryScalarFollowsTheLayerCount() {
        assertEquals(168.0, Family.GEMMA3.ggufQueryScalar().of(62, 5376, 32, 128));
        assertEquals(256.0, Family.GEMMA3.ggufQueryScalar().of(18, 640, 4, 256));
        for (Family f : Family.all())
            if (f != Family.GEMMA3) assertEquals(128.0, f.ggufQueryScalar().of(62, 5376, 32, 128), f.name());
    }

    @Test
    void globalEveryWindowsAllButEachNthLayer() {
        Family.SlidingWindows six = Family.SlidingWindows.globalEvery(6);
        for (int l = 0; l < 12; l++) assertEquals(l != 5 && l != 11, six.windowed(l), "layer " + l);
        assertThrows(IllegalArgumentException.class, () -> Family.SlidingWindows.globalEvery(0));
    }
}
