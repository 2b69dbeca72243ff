package linlens.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static linlens.cli.CliErrorsTest.assertBadInput;
import static linlens.cli.CliErrorsTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The logit lens, an analysis added as its class and its figure entry only, from the command
 * line on the tiny fixture: --json, --report and --export, and its options checked like any other.
 */
class LogitLensCliTest {
    static final String TINY = "src/test/resources/reference/tiny/llama3/model.gguf";

    @Test
    void writesItsJsonReportAndArrays(@TempDir Path tmp) throws Exception {
        Path json = tmp.resolve("lens.json"), report = tmp.resolve("lens.html"), export = tmp.resolve("arrays");
        var r = run("logit-lens", "--quiet", "--model", TINY, "--prompt", "Hello there", "--top", "3",
                "--json", json.toString(), "--report", report.toString(), "--export", export.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("Last layer against the model's logits"), r.out());
        JsonNode doc = new ObjectMapper().readTree(json.toFile());
        int layers = doc.get("model").get("layers").asInt();
        assertEquals(layers, doc.get("layers").size());
        assertEquals(3, doc.get("layers").get(0).get("top").size());
        assertEquals("blocks.0.hook_resid_post", doc.get("layers").get(0).get("hook").asText());
        assertTrue(doc.get("last_layer_error").asDouble() < 1e-12, doc.get("last_layer_error").toString());
        assertEquals(1, doc.get("layers").get(layers - 1).get("predicted_rank").asInt());
        String html = Files.readString(report);
        assertTrue(html.contains("\"logit_lens\""), "the report carries the lens's section");
        JsonNode manifest = new ObjectMapper().readTree(export.resolve("manifest.json").toFile());
        assertEquals("logit-lens", manifest.get("kind").asText());
        for (String name : new String[]{"hidden.npy", "normed.npy", "logits.npy"}) assertTrue(Files.isRegularFile(export.resolve(name)), name);
    }

    @Test
    void itReportsProgressThroughTheUnembeddingAndStopsWhenCancelled() {
        var m = linlens.model.ModelLoader.load(Path.of(TINY));
        var ctx = linlens.analysis.PromptContext.of(m, "Hello there", -1);
        var options = new linlens.analysis.LogitLens.Options(2, null);
        java.util.List<String> seen = new java.util.ArrayList<>();
        new linlens.analysis.LogitLens().run(ctx, options, (stage, done, total) -> seen.add(stage + " " + done + "/" + total),
                linlens.analysis.ArraySink.NONE);
        int layers = m.config().layers(), chunks = Math.min(16, m.config().vocab());
        assertTrue(seen.contains("unembedding " + chunks + "/" + chunks), seen.toString());
        assertEquals("layers " + layers + "/" + layers, seen.getLast());
        assertThrows(java.util.concurrent.CancellationException.class, () -> new linlens.analysis.LogitLens().run(ctx, options,
                (stage, done, total) -> { if (stage.equals("unembedding") && done == 3) throw new java.util.concurrent.CancellationException(); },
                linlens.analysis.ArraySink.NONE));
    }

    @Test
    void itsOptionsAreCheckedLikeEveryOthers() {
        assertBadInput(run("logit-lens", "--model", TINY, "--top", "0"), "--top must be at least 1 (got 0)");
        assertBadInput(run("logit-lens", "--model", TINY, "--layers", "0,99"), "--layers: layer 99 out of range");
        assertBadInput(run("logit-lens", "--model", TINY, "--layers", "x"), "Invalid value for option '--layers'");
        assertTrue(run("logit-lens", "--help").out().contains("--layers"));
    }
}
