package linlens.model;

import linlens.blas.Arith;
import linlens.linear.DetachedSystem;
import linlens.linear.OrdinaryJacobian;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Streaming a model's weights from its mapped file (paging layers in ahead of a sweep and out
 * behind it) changes what is resident, never a bit of the results: the same file loaded twice,
 * streamed and not, gives identical forward passes, Jacobians and products.
 */
class WeightStreamTest {
    static final Path TINY = Path.of("src/test/resources/reference/tiny");

    /** Loads the model with {@value WeightStream#PROPERTY} set to {@code mode} when its stream is decided. */
    static Transformer load(Path path, String mode) {
        String before = System.getProperty(WeightStream.PROPERTY);
        System.setProperty(WeightStream.PROPERTY, mode);
        try {
            Transformer m = ModelLoader.load(path);
            WeightStream.of(m);
            return m;
        } finally {
            if (before == null) System.clearProperty(WeightStream.PROPERTY);
            else System.setProperty(WeightStream.PROPERTY, before);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama3/model.gguf", "qwen2/model.gguf", "gemma3/model.gguf", "qwen2/hf"})
    void streamingChangesNoBit(String file) {
        Path path = TINY.resolve(file);
        Transformer streamed = load(path, "on"), resident = load(path, "off");
        assertTrue(WeightStream.of(streamed).streaming());
        assertFalse(WeightStream.of(resident).streaming());
        assertTrue(WeightStream.of(streamed).layerBytes() > 0);
        int[] ids = {1, 5, 9, 2};
        long paged0 = WeightStream.loadedBytes();
        ForwardTrace a = new ForwardPass(streamed).run(ids);
        assertTrue(WeightStream.loadedBytes() - paged0 >= WeightStream.of(streamed).layerBytes(),
                "the forward pass pages in every layer's weights");
        ForwardTrace b = new ForwardPass(resident).run(ids);
        assertArrayEquals(b.y(), a.y());
        assertArrayEquals(b.logits(), a.logits());

        var sa = new DetachedSystem<>(streamed, a, MlpPath.UP, Arith.F64);
        var sb = new DetachedSystem<>(resident, b, MlpPath.UP, Arith.F64);
        same(() -> sb.jacobian(1L << 20), () -> sa.jacobian(1L << 20));
        int n = ids.length, d = streamed.config().dim();
        double[] v = new double[n * 3 * d];
        for (int i = 0; i < v.length; i++) v[i] = Math.sin(i);
        same(() -> sb.jvp(v, 3), () -> sa.jvp(v, 3));
        same(() -> sb.constant(), () -> sa.constant());
        same(() -> sb.vjp(java.util.Arrays.copyOf(v, 3 * d), 3), () -> sa.vjp(java.util.Arrays.copyOf(v, 3 * d), 3));
        same(() -> sb.siteConstant(0, 1, linlens.linear.Site.MLP, b.frozen().finalNorm()),
                () -> sa.siteConstant(0, 1, linlens.linear.Site.MLP, a.frozen().finalNorm()));

        ForwardTrace ka = new ForwardPass(streamed).keepActivations(true).run(ids);
        ForwardTrace kb = new ForwardPass(resident).keepActivations(true).run(ids);
        same(() -> new OrdinaryJacobian(resident, kb).jacobian(1L << 20), () -> new OrdinaryJacobian(streamed, ka).jacobian(1L << 20));
    }

    private static void same(Supplier<double[]> expected, Supplier<double[]> actual) {
        assertArrayEquals(expected.get(), actual.get());
    }

    @Test
    void smallModelsDoNotStreamByDefaultAndBadModesAreRefused() {
        Path path = TINY.resolve("llama3/model.gguf");
        assertFalse(WeightStream.of(load(path, "auto")).streaming(), "a tiny model fits in memory");
        var e = assertThrows(IllegalArgumentException.class, () -> load(path, "sometimes"));
        assertTrue(e.getMessage().contains("on, off or auto"), e.getMessage());
    }

    @Test
    void aSweepVisitsItsLayersInOrderOnly() {
        Transformer m = load(TINY.resolve("llama3/model.gguf"), "on");
        int last = m.config().layers() - 1;
        try (WeightStream.Sweep s = WeightStream.of(m).sweep(last, 0, WeightStream::matrices)) {
            assertThrows(IllegalArgumentException.class, () -> s.enter(last + 1));
            for (int l = last; l >= 0; l--) s.enter(l);
        }
    }
}
