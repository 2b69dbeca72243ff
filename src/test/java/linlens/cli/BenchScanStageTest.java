package linlens.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import linlens.bench.ScanBench;
import linlens.model.ModelLoader;
import linlens.model.Transformer;
import linlens.testing.TinyModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** linlens bench --stages scan on the tiny model: a real scan through DatasetScan, its phases adding up to the wall time. */
class BenchScanStageTest {
    @TempDir Path dir;

    @Test
    void theScanStageReportsPromptsPerHourAndTheTimeOutsideTheAnalyses() throws Exception {
        Path model = TinyModels.named("llama3").gguf(), json = dir.resolve("bench.json");
        var r = CliErrorsTest.run("bench", "--model", model.toString(), "--stages", "scan", "--scan-prompts", "5",
                "--warmup", "0", "--repeats", "2", "--json", json.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("prompts/hour"), r.out());
        JsonNode j = new ObjectMapper().readTree(json.toFile());
        assertEquals(0, j.get("prompts").size(), "no per-prompt stage was asked");
        JsonNode s = j.get("scan");
        assertEquals(5, s.get("prompts").asInt());
        assertEquals(List.of("predict", "attribute"), List.of(s.get("analyses").get(0).asText(), s.get("analyses").get(1).asText()));
        assertEquals(2, s.get("repeats").asInt());
        double wall = s.get("wall_s_min").asDouble();
        assertTrue(wall > 0 && wall <= s.get("wall_s_median").asDouble());
        assertEquals(5 / wall * 3600, s.get("prompts_per_hour").asDouble(), 1e-6 * s.get("prompts_per_hour").asDouble());
        double parts = 0;
        for (String k : List.of("prepare_s", "model_load_s", "setup_s", "prompt_analyses_s", "commit_s", "finish_s")) {
            assertTrue(s.get(k).asDouble() >= 0, k);
            parts += s.get(k).asDouble();
        }
        // the phases do not overlap and leave out only the reading of the rows between the analyses
        assertTrue(parts <= wall * 1.0001, parts + " > " + wall);
        assertTrue(s.get("model_load_s").asDouble() > 0 && s.get("prompt_analyses_s").asDouble() > 0);
        double outside = s.get("outside_analyses_fraction").asDouble();
        assertEquals((wall - s.get("prompt_analyses_s").asDouble()) / wall, outside, 1e-12);
        assertTrue(outside > 0 && outside < 1, "outside " + outside);

        // without the scan stage the report has no "scan" key: the existing JSON stays as it was
        Path plain = dir.resolve("plain.json");
        assertEquals(0, CliErrorsTest.run("bench", "--quiet", "--model", model.toString(), "--stages", "forward", "--warmup", "0",
                "--repeats", "1", "--json", plain.toString()).code());
        assertFalse(new ObjectMapper().readTree(plain.toFile()).has("scan"));
    }

    @Test
    void thePromptsAreLeadingTokenPrefixes() {
        Transformer m = ModelLoader.load(TinyModels.named("llama3").gguf());
        String text = "The bridge out of Marin is the";
        int n = m.tokenizer().encode(text, false, false).length;
        List<String> p = ScanBench.prefixes(m.tokenizer(), text, n);
        assertEquals(n, p.size());
        assertEquals(text, p.getLast());
        // each prompt extends the one before (a prefix that ends in a space is the same text: prompts are stripped)
        for (int i = 1; i < n; i++) assertTrue(p.get(i).startsWith(p.get(i - 1)), p.toString());
        assertEquals(text, ScanBench.prefixes(m.tokenizer(), text, 1).getFirst());
        assertEquals(3 * n, ScanBench.prefixes(m.tokenizer(), text, 3 * n).size(), "more prompts than tokens: lengths repeat");
    }

    @Test
    void badScanPromptsAreRefused() {
        var r = CliErrorsTest.run("bench", "--model", TinyModels.named("llama3").gguf().toString(), "--stages", "scan", "--scan-prompts", "0");
        assertEquals(2, r.code());
        assertEquals("linlens: --scan-prompts 0 out of range 1..100000", r.err().strip());
    }
}
