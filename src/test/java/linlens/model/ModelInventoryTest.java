package linlens.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import linlens.testing.HfHubLayout;
import linlens.testing.TinyModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** {@code models list}'s facts: family, size, quantization and support, for both caches and the catalog. */
class ModelInventoryTest {
    @TempDir Path dir;

    private static ModelInventory.Model named(ModelInventory.Listing l, String name) {
        return l.models().stream().filter(m -> m.name().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError(name + " not listed: " + l.models()));
    }

    @Test
    void everyModelWithItsFamilySizeQuantizationAndSupport() throws Exception {
        Path hub = Files.createDirectories(dir.resolve("hub")), ours = Files.createDirectories(dir.resolve("ours"));
        Map<String, String> env = Map.of("HF_HUB_CACHE", hub.toString(), "LINLENS_MODELS", ours.toString());
        String commit = HfHubLayout.commit("c");
        HfHubLayout.add(hub, "t/llama", commit, HfHubLayout.filesOf(TinyModels.named("llama3").hf()), "main");
        HfHubLayout.add(hub, "t/qwen", commit, HfHubLayout.filesOf(TinyModels.named("qwen2").hf()), "main");
        HfHubLayout.add(hub, "t/GGUF", commit, Map.of("gemma-Q8_0.gguf", TinyModels.named("gemma3").gguf(),
                "phi-F16.gguf", TinyModels.named("phi3").gguf()), "main");
        // an architecture the loader does not know: its own message is the reason
        Path bert = Files.createDirectories(dir.resolve("bert"));
        for (var f : HfHubLayout.filesOf(TinyModels.named("llama3").hf()).entrySet()) Files.copy(f.getValue(), bert.resolve(f.getKey()));
        ObjectNode config = (ObjectNode) new ObjectMapper().readTree(bert.resolve("config.json").toFile());
        Files.writeString(bert.resolve("config.json"), config.put("model_type", "bert").toString());
        HfHubLayout.add(hub, "t/bert", commit, HfHubLayout.filesOf(bert), "main");
        Files.writeString(HfHubLayout.add(hub, "t/broken", commit, Map.of(), "main").getParent().getParent().resolve("refs/main"), "junk");
        Files.copy(TinyModels.named("olmo2").gguf(), ours.resolve("tiny-olmo.gguf"));

        long t0 = System.nanoTime();
        ModelInventory.Listing l = ModelInventory.list(env, dir.resolve("home"));
        System.out.printf("listed %d models in %.0f ms%n", l.models().size(), (System.nanoTime() - t0) / 1e6);
        assertEquals(ours.toString(), l.linlensCache());
        assertEquals(hub.toString(), l.huggingFaceCache());
        assertEquals("$HF_HUB_CACHE", l.huggingFaceCacheChosenBy());

        ModelInventory.Model llama = named(l, "t/llama");
        assertEquals(List.of("Hugging Face cache", "safetensors", "Llama", "llama", "F32", true),
                java.util.Arrays.asList(llama.source(), llama.format(), llama.family(), llama.architecture(), llama.quantization(), llama.supported()));
        assertNull(llama.reason());
        long params = 0;
        try (var st = linlens.format.Safetensors.openFolder(TinyModels.named("llama3").hf())) {
            for (var t : st.tensors().values()) params += t.elements();
        }
        assertEquals(params, llama.parameters());
        assertEquals(Files.size(TinyModels.named("llama3").hf().resolve("model.safetensors")), llama.bytes());
        assertEquals("Qwen 2", named(l, "t/qwen").family());

        ModelInventory.Model gemma = named(l, "t/GGUF:gemma-Q8_0.gguf"), phi = named(l, "t/GGUF:phi-F16.gguf");
        assertEquals(List.of("GGUF", "Gemma 3", true), java.util.Arrays.asList(gemma.format(), gemma.family(), gemma.supported()));
        assertEquals("Phi 3", phi.family());
        assertNotNull(gemma.quantization());
        assertEquals(Files.size(TinyModels.named("gemma3").gguf()), gemma.bytes());
        assertTrue(gemma.parameters() > 1000, gemma.toString());

        ModelInventory.Model b = named(l, "t/bert");
        assertEquals(List.of("BERT", false), java.util.Arrays.asList(b.family(), b.supported()));
        assertTrue(b.reason().startsWith("config.json: unsupported model_type 'bert' (supported: gemma3_text, llama"), b.reason());
        ModelInventory.Model broken = named(l, "t/broken");
        assertEquals(false, broken.supported());
        assertTrue(broken.reason().contains("refs/main holds 'junk', not a commit hash"), broken.reason());

        ModelInventory.Model olmo = named(l, "tiny-olmo");
        assertEquals(List.of("linlens cache", "OLMo 2", true), java.util.Arrays.asList(olmo.source(), olmo.family(), olmo.supported()));
        ModelInventory.Model demo = named(l, "gemma-3-270m");
        assertEquals("catalog", demo.source());
        assertNull(demo.supported(), "not fetched: not checked");
        assertEquals(ModelCache.CATALOG.get("gemma-3-270m").size(), demo.bytes());
    }

    @Test
    void familyAndFileTypeNames() {
        assertEquals("Llama 3", ModelInventory.familyName("llama", 128_256));
        assertEquals("Llama", ModelInventory.familyName("llama", 32_000));
        assertEquals("Gemma 3", ModelInventory.familyName("gemma3_text", 0));
        assertEquals("mamba", ModelInventory.familyName("mamba", 0));
        assertEquals("Q4_K_M", ModelInventory.fileTypeName(15));
        assertEquals("BF16", ModelInventory.fileTypeName(32));
        assertNull(ModelInventory.fileTypeName(999));
    }
}
