package linlens.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.*;

/**
 * config.json variants of the tiny models: the older transformers keys (rope_theta, rope_scaling,
 * rope_local_base_freq, use_sliding_window + max_window_layers) read to the same configuration as
 * transformers 5's rope_parameters and layer_types.
 */
class HfConfigTest {
    static final Path TINY = Path.of("src/test/resources/reference/tiny");
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
}
