package linlens.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import linlens.testing.TinyModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.*;

/**
 * config.json variants of the tiny models: the older transformers keys (rope_theta, rope_scaling,
 * rope_local_base_freq, use_sliding_window + max_window_layers) read to the same configuration as
 * transformers 5's rope_parameters and layer_types. The last tests run on every registered family's
 * fixture ({@link TinyModels}) and check the family's own rules (local RoPE base, sliding windows).
 */
class HfConfigTest {
    static final Path TINY = TinyModels.DIR;
    static final ObjectMapper JSON = new ObjectMapper();
    @TempDir Path dir;

    /** A copy of a tiny model's folder with its config.json edited. */
    Path variant(String family, Consumer<ObjectNode> edit) throws IOException {
        Path to = Files.createTempDirectory(dir, family);
        try (var files = Files.list(TINY.resolve(family).resolve("hf"))) {
            for (Path f : files.toList()) Files.copy(f, to.resolve(f.getFileName()));
        }
        ObjectNode c = (ObjectNode) JSON.readTree(to.resolve("config.json").toFile());
        edit.accept(c);
        JSON.writeValue(to.resolve("config.json").toFile(), c);
        return to;
    }

    static ModelConfig config(Path folder) { return ModelLoader.load(folder).config(); }

    @Test
    void llama3LegacyRopeKeys() throws IOException {
        ModelConfig v5 = config(TINY.resolve("llama3/hf"));
        ModelConfig legacy = config(variant("llama3", c -> {
            ObjectNode rope = (ObjectNode) c.remove("rope_parameters");
            c.set("rope_theta", rope.remove("rope_theta"));
            c.set("rope_scaling", rope);
        }));
        assertArrayEquals(v5.invFreq(), legacy.invFreq());
        assertFalse(java.util.Arrays.equals(v5.invFreq()[0], ModelConfig.ropeInvFreq(10000.0, 8)), "llama3 scaling applied");
    }

    @Test
    void gemma3LegacyRopeKeysAndPattern() throws IOException {
        ModelConfig v5 = config(TINY.resolve("gemma3/hf"));
        ModelConfig legacy = config(variant("gemma3", c -> {
            var rope = c.remove("rope_parameters");
            c.remove("layer_types");
            c.put("rope_theta", rope.path("full_attention").path("rope_theta").asDouble());
            c.put("rope_local_base_freq", rope.path("sliding_attention").path("rope_theta").asDouble());
            c.set("rope_scaling", rope.path("full_attention"));
        }));
        assertArrayEquals(v5.invFreq(), legacy.invFreq());
        assertArrayEquals(v5.windows(), legacy.windows());
        assertArrayEquals(new int[] {4, 4, 4, 4, 4, 0}, legacy.windows());
    }

    @Test
    void qwen2WindowFromMaxWindowLayers() throws IOException {
        ModelConfig c = config(variant("qwen2", n -> {
            n.remove("layer_types");
            n.put("use_sliding_window", true);
            n.put("sliding_window", 3);
            n.put("max_window_layers", 1);
        }));
        assertArrayEquals(new int[] {0, 3, 3}, c.windows());
        ModelConfig off = config(variant("qwen2", n -> n.remove("layer_types")));
        assertArrayEquals(new int[] {0, 0, 0}, off.windows());
    }

    static List<TinyModels.Tiny> tinies() { return TinyModels.all(); }

    /**
     * rope_parameters written the old way (rope_theta and rope_scaling, and per layer type only
     * where the family names a key for the local layers' own base) read to the same RoPE.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("tinies")
    void everyFamilyReadsLegacyRopeKeysLikeRopeParameters(TinyModels.Tiny t) throws IOException {
        ModelConfig v5 = config(t.hf());
        ModelConfig legacy = config(variant(t.name(), c -> {
            ObjectNode rope = (ObjectNode) c.remove("rope_parameters");
            if (rope.has("full_attention")) {
                Family.LocalRopeBase local = t.family().localRopeBase();
                assertNotNull(local, t.name() + ": RoPE per layer type, but family " + t.family().name() + " has no local RoPE base");
                c.set(local.hfLegacyKey(), rope.path("sliding_attention").path("rope_theta"));
                rope = (ObjectNode) rope.get("full_attention");
            }
            c.set("rope_theta", rope.remove("rope_theta"));
            c.set("rope_scaling", rope);
        }));
        assertArrayEquals(v5.invFreq(), legacy.invFreq());
        assertArrayEquals(v5.windows(), legacy.windows());
        assertEquals(v5.rotaryDim(), legacy.rotaryDim());
        assertEquals(v5.ropeAttnFactor(), legacy.ropeAttnFactor());
        assertEquals(v5.longRope() == null, legacy.longRope() == null);
        if (v5.longRope() != null) {
            assertEquals(v5.longRope().originalContext(), legacy.longRope().originalContext());
            assertArrayEquals(v5.longRope().invFreq(), legacy.longRope().invFreq());
        }
    }

    /** Without layer_types, the family's sliding-window scheme places the window (Family.slidingWindows). */
    @ParameterizedTest(name = "{0}")
    @MethodSource("tinies")
    void everyFamilyPlacesTheWindowByItsScheme(TinyModels.Tiny t) throws IOException {
        for (boolean qwenKeys : new boolean[] {false, true}) {
            ModelConfig c = config(variant(t.name(), n -> {
                n.remove("layer_types");
                n.put("sliding_window", 3);
                n.remove(List.of("use_sliding_window", "max_window_layers"));
                if (qwenKeys) n.put("use_sliding_window", true).put("max_window_layers", 1);
            }));
            int[] expected = new int[c.layers()];
            for (int l = 0; l < expected.length; l++) {
                boolean windowed = switch (t.family().slidingWindows()) {
                    case Family.SlidingWindows.EveryLayer e -> true;
                    case Family.SlidingWindows.GlobalEvery g -> (l + 1) % g.n() != 0;
                    case Family.SlidingWindows.FromMaxWindowLayers m -> !qwenKeys || l >= 1;
                };
                expected[l] = windowed ? 3 : 0;
            }
            assertArrayEquals(expected, c.windows(), t.name() + (qwenKeys ? " with use_sliding_window, max_window_layers" : ""));
        }
    }
}
