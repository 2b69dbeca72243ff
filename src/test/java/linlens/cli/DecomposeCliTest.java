package linlens.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import linlens.testing.RealModel;
import linlens.testing.TestModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** The main job end to end through the CLI, checking the documented JSON schema. */
@RealModel
class DecomposeCliTest {
    @TempDir Path dir;

    static JsonNode decompose(Path json, String... extra) throws Exception {
        String[] base = {"decompose", "--quiet", "--model", TestModels.gemmaPath().toString(), "--json", json.toString()};
        String[] args = new String[base.length + extra.length];
        System.arraycopy(base, 0, args, 0, base.length);
        System.arraycopy(extra, 0, args, base.length, extra.length);
        var r = CliErrorsTest.run(args);
        assertEquals(0, r.code(), r.err());
        assertEquals("", r.err(), "--quiet prints no progress");
        assertTrue(r.out().contains("Exactness") && r.out().matches("(?s).*exact up to fp(32|64) rounding.*"), r.out());
        return new ObjectMapper().readTree(json.toFile());
    }

    @Test
    void jsonHasTheDocumentedFields() throws Exception {
        JsonNode j = decompose(dir.resolve("out.json"), "--prompt", "The Golden", "--components", "3", "--top", "4");
        JsonNode m = j.get("model");
        assertEquals("gemma3", m.get("architecture").asText());
        assertEquals(640, m.get("hidden_size").asInt());
        assertEquals(18, m.get("layers").asInt());
        assertEquals(262144, m.get("vocab_size").asInt());
        JsonNode toks = j.get("tokens");
        assertEquals(3, toks.size());
        assertEquals(2, toks.get(0).get("id").asInt());
        assertEquals("The", toks.get(1).get("text").asText());
        JsonNode p = j.get("prediction");
        assertTrue(p.get("probability").asDouble() > 0 && p.get("probability").asDouble() <= 1);
        assertFalse(p.get("text").asText().isEmpty());
        assertTrue(p.has("token_id"));
        assertEquals("fp32", j.get("reconstruction").get("precision").asText());
        assertTrue(j.get("reconstruction").get("relative_error").asDouble() <= 1e-5);
        JsonNode svd = j.get("svd");
        assertEquals(3, svd.size());
        for (int t = 0; t < 3; t++) {
            JsonNode s = svd.get(t);
            assertEquals(t, s.get("position").asInt());
            JsonNode sv = s.get("singular_values");
            assertEquals(640, sv.size());
            for (int i = 1; i < sv.size(); i++) assertTrue(sv.get(i).asDouble() <= sv.get(i - 1).asDouble());
            assertEquals(3, s.get("components").size());
            JsonNode c = s.get("components").get(0);
            assertEquals(4, c.get("u_tokens").size());
            assertEquals(4, c.get("v_tokens").size());
        }
        for (String k : new String[]{"load", "forward", "jacobian", "svd"}) assertTrue(j.get("timings_ms").has(k), k);
    }

    @Test
    void reportAndProgressLines() throws Exception {
        Path report = dir.resolve("report.html");
        var r = CliErrorsTest.run("decompose", "--model", TestModels.gemmaPath().toString(), "--prompt", "The Golden",
                "--components", "2", "--top", "2", "--report", report.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("jacobian: 640/640 (100%)"), r.err());
        assertTrue(r.err().contains("svd: 3/3 (100%)"), r.err());
        String html = java.nio.file.Files.readString(report);
        assertTrue(html.startsWith("<!DOCTYPE html>") && html.contains("\"prompt\":\"The Golden\""));
        assertTrue(r.out().contains("Report written to " + report), r.out());
    }

    @Test
    void unwritableReportFailsBeforeAnyWork() {
        var r = CliErrorsTest.run("decompose", "--model", TestModels.gemmaPath().toString(), "--report", dir.resolve("no/such/dir/r.html").toString());
        assertEquals(Main.EXIT_BAD_INPUT, r.code());
        assertTrue(r.err().startsWith("linlens: cannot write") && r.err().strip().lines().count() == 1, r.err());
        assertFalse(java.nio.file.Files.exists(dir.resolve("no")));
    }

    @Test
    void fp64ReachesTheTightBound() throws Exception {
        JsonNode j = decompose(dir.resolve("out64.json"), "--prompt", "The Golden", "--components", "1", "--top", "1",
                "--precision", "fp64");
        assertEquals("fp64", j.get("reconstruction").get("precision").asText());
        double err = j.get("reconstruction").get("relative_error").asDouble();
        assertTrue(err <= 1e-12, "fp64 relative error " + err);
    }
}
