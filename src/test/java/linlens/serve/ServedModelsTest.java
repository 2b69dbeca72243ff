package linlens.serve;

import linlens.format.ModelFormatException;
import linlens.testing.HfHubLayout;
import linlens.testing.TinyModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** The app's models: the command line's, our cache's and the Hugging Face cache's, by the names --model takes. */
class ServedModelsTest {
    @TempDir Path dir;

    @Test
    void theHuggingFaceCachesModelsAreOfferedByTheirRepoNames() throws Exception {
        Path hub = Files.createDirectories(dir.resolve("hub")), ours = Files.createDirectories(dir.resolve("ours"));
        Map<String, String> env = Map.of("HF_HUB_CACHE", hub.toString(), "LINLENS_MODELS", ours.toString());
        String commit = HfHubLayout.commit("c");
        Path snapshot = HfHubLayout.add(hub, "t/llama", commit, HfHubLayout.filesOf(TinyModels.named("llama3").hf()), "main");
        Path ggufs = HfHubLayout.add(hub, "t/GGUF", commit, Map.of("a-Q8_0.gguf", TinyModels.named("gemma3").gguf(),
                "b-F16.gguf", TinyModels.named("qwen2").gguf()), "main");
        HfHubLayout.add(hub, "t/broken", commit, Map.of(), "main");
        Files.copy(TinyModels.named("olmo2").gguf(), ours.resolve("tiny-olmo.gguf"));

        ServedModels served = new ServedModels(List.of(), env, dir);
        Map<String, Path> available = served.available();
        assertEquals(List.of("tiny-olmo", "t/GGUF:a-Q8_0.gguf", "t/GGUF:b-F16.gguf", "t/llama"), List.copyOf(available.keySet()),
                "a repo that cannot be used is left out");
        assertEquals(snapshot.toAbsolutePath(), available.get("t/llama"));
        assertEquals(ggufs.resolve("b-F16.gguf").toAbsolutePath(), available.get("t/GGUF:b-F16.gguf"));
        assertEquals("llama", served.load("t/llama").config().architecture());

        // named on the command line: kept by the name it was given
        ServedModels given = new ServedModels(List.of("t/llama", "t/GGUF:a-Q8_0.gguf"), env, dir);
        assertEquals(List.of("t/llama", "t/GGUF:a-Q8_0.gguf", "tiny-olmo", "t/GGUF:b-F16.gguf"), List.copyOf(given.available().keySet()));
        String m = assertThrows(ModelFormatException.class, () -> new ServedModels(List.of("t/broken"), env, dir)).getMessage();
        assertTrue(m.startsWith("t/broken in the Hugging Face cache: "), m);
    }
}
