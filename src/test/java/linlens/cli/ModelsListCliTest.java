package linlens.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import linlens.testing.HfHubLayout;
import linlens.testing.TinyModels;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@code models list} and {@code --model ORG/NAME} in a child process whose environment points
 * HF_HUB_CACHE at a hub cache built from the tiny fixtures (and LINLENS_MODELS at an empty cache).
 */
class ModelsListCliTest {
    @TempDir Path dir;
    Path hub, ours;

    @BeforeEach
    void caches() throws Exception {
        hub = Files.createDirectories(dir.resolve("hub"));
        ours = Files.createDirectories(dir.resolve("ours"));
        String commit = HfHubLayout.commit("c");
        HfHubLayout.add(hub, "t/llama", commit, HfHubLayout.filesOf(TinyModels.named("llama3").hf()), "main");
        HfHubLayout.add(hub, "t/GGUF", commit, Map.of("gemma-Q8_0.gguf", TinyModels.named("gemma3").gguf()), "main");
        Path bert = Files.createDirectories(dir.resolve("bert"));
        for (var f : HfHubLayout.filesOf(TinyModels.named("llama3").hf()).entrySet()) Files.copy(f.getValue(), bert.resolve(f.getKey()));
        ObjectNode config = (ObjectNode) new ObjectMapper().readTree(bert.resolve("config.json").toFile());
        Files.writeString(bert.resolve("config.json"), config.put("model_type", "bert").toString());
        HfHubLayout.add(hub, "t/bert", commit, HfHubLayout.filesOf(bert), "main");
        Files.writeString(HfHubLayout.add(hub, "t/broken", commit, Map.of(), "main").getParent().getParent().resolve("refs/main"), "junk");
    }

    private CliProcessTest.Exit linlens(String... args) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(CliProcessTest.command(List.of("-Xmx1g"), args));
        pb.environment().put("HF_HUB_CACHE", hub.toString());
        pb.environment().put("LINLENS_MODELS", ours.toString());
        return CliProcessTest.runChild(pb);
    }

    @Test
    void listsBothCachesAndTheCatalogWithFamilyQuantizationAndSupport() throws Exception {
        Path json = dir.resolve("models.json");
        CliProcessTest.Exit e = linlens("models", "list", "--json", json.toString());
        assertEquals(0, e.code(), e.err());
        System.out.print(e.out());
        List<String> lines = e.out().lines().toList();
        assertEquals("linlens cache: " + ours, lines.get(0));
        assertEquals("Hugging Face cache: " + hub + " (chosen by $HF_HUB_CACHE)", lines.get(1));
        assertTrue(lines.get(2).matches("NAME +FAMILY +PARAMS +SIZE +QUANT +SUPPORTED"), lines.get(2));
        assertTrue(lines.stream().anyMatch(l -> l.matches("t/llama +Llama +\\d+\\.\\dK +\\d+\\.\\d KB +F32 +yes")), e.out());
        assertTrue(lines.stream().anyMatch(l -> l.matches("t/GGUF +Gemma 3 +\\d+\\.\\dK +\\d+\\.\\d KB +\\S+ +yes")), e.out());
        assertTrue(lines.stream().anyMatch(l -> l.matches("t/bert +BERT .* F32 +no: config\\.json: unsupported model_type 'bert' \\(supported: .*\\)")), e.out());
        assertTrue(lines.stream().anyMatch(l -> l.matches("t/broken +- +- +- +- +no: t/broken in the Hugging Face cache: refs/main holds 'junk', not a commit hash")), e.out());
        assertTrue(lines.stream().anyMatch(l -> l.matches("gemma-3-270m +- +- +253\\.1 MB +- +not fetched \\(fetched on first use\\): .*")), e.out());

        JsonNode doc = new ObjectMapper().readTree(json.toFile());
        assertEquals(hub.toString(), doc.get("huggingface_cache").asText());
        assertEquals("$HF_HUB_CACHE", doc.get("huggingface_cache_chosen_by").asText());
        JsonNode bert = null;
        for (JsonNode m : doc.get("models")) if (m.get("name").asText().equals("t/bert")) bert = m;
        assertNotNull(bert, doc.toString());
        assertFalse(bert.get("supported").asBoolean());
        assertEquals("BERT", bert.get("family").asText());
        assertEquals("bert", bert.get("architecture").asText());
        assertTrue(bert.get("reason").asText().contains("unsupported model_type 'bert'"));
    }

    @Test
    void decomposesAHuggingFaceCacheModelByItsRepoName() throws Exception {
        Path fromCache = dir.resolve("cache.json"), direct = dir.resolve("direct.json");
        List<String> options = List.of("--quiet", "--components", "2", "--top", "3", "--prompt", "The cat");
        CliProcessTest.Exit e = linlens(concat(List.of("decompose", "--model", "t/llama", "--json", fromCache.toString()), options));
        assertEquals(0, e.code(), e.err());
        var r = CliErrorsTest.run(concat(List.of("decompose", "--model", TinyModels.named("llama3").hf().toString(), "--json", direct.toString()), options));
        assertEquals(0, r.code(), r.err());
        ObjectMapper json = new ObjectMapper();
        JsonNode a = json.readTree(fromCache.toFile()), b = json.readTree(direct.toFile());
        for (String field : List.of("reconstruction", "prediction", "tokens"))
            if (b.has(field)) assertEquals(b.get(field), a.get(field), field);
        assertTrue(b.has("reconstruction"), b.fieldNames().toString());
    }

    @Test
    void anAbsentOrBrokenRepoIsOneLineExitTwo() throws Exception {
        CliProcessTest.Exit absent = linlens("decompose", "--model", "nobody/nothing");
        CliProcessTest.assertOneLine(absent, 2, "model 'nobody/nothing' not found");
        assertTrue(absent.err().contains(hub.toString()) && absent.err().contains("HF_HUB_CACHE, HF_HOME or XDG_CACHE_HOME")
                && absent.err().contains(ours.toString()), absent.err());
        CliProcessTest.assertOneLine(linlens("predict", "--model", "t/broken"), 2, "t/broken in the Hugging Face cache: refs/main holds 'junk'");
        CliProcessTest.assertOneLine(linlens("predict", "--model", "t/llama@nope"), 2, "no revision 'nope'");
    }

    private static String[] concat(List<String> a, List<String> b) {
        return java.util.stream.Stream.concat(a.stream(), b.stream()).toArray(String[]::new);
    }
}
