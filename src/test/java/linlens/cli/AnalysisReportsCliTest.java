package linlens.cli;

import com.fasterxml.jackson.databind.JsonNode;
import linlens.testing.ReportData;
import linlens.testing.RealModel;
import linlens.testing.TestModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static linlens.cli.AnalysesCliTest.json;
import static linlens.cli.AnalysesCliTest.model;
import static linlens.cli.CliErrorsTest.run;
import static org.junit.jupiter.api.Assertions.*;

/**
 * The HTML reports of layers, attribute and steer end to end on the real model: one offline file
 * whose section carries the command's result (the JSON written beside it), and a --report target
 * that is checked before the long work. (webtest/ checks that chromium draws the figures.)
 */
@RealModel
class AnalysisReportsCliTest {
    @TempDir Path dir;

    /** Runs the command with --json and --report; returns the report's data after checking its section is the JSON. */
    private JsonNode reportOf(String section, String... args) throws Exception {
        Path out = dir.resolve(section + ".json"), report = dir.resolve(section + ".html");
        String[] all = java.util.stream.Stream.concat(java.util.Arrays.stream(args),
                java.util.stream.Stream.of("--quiet", "--model", model(), "--json", out.toString(), "--report", report.toString())).toArray(String[]::new);
        var r = run(all);
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("Report written to " + report), r.out());
        JsonNode data = ReportData.of(Files.readString(report));
        JsonNode result = json(out);
        result.fieldNames().forEachRemaining(k -> {
            if (!k.equals("timings_ms")) assertEquals(result.get(k), data.get(section).get(k), section + "." + k);
        });
        try (var s = Files.list(dir)) {
            assertEquals(0, s.filter(p -> p.getFileName().toString().startsWith(".")).count(), "no temporary file left");
        }
        return data;
    }

    @Test
    void layersReportHasSpectraStableRanksPathsAndErrors() throws Exception {
        JsonNode d = reportOf("layers", "layers", "--prompt", "The Golden", "--layers", "5,17", "--keys", "layer,attn",
                "--components", "2", "--top", "3");
        assertTrue(d.get("title").asText().contains("The Golden"));
        JsonNode l = d.get("layers");
        assertEquals(4, l.get("sites").size());
        for (JsonNode s : l.get("sites")) {
            assertEquals(640, s.get("cumulative").get("tokens_combined").get("singular_values").size());
            assertTrue(s.get("cumulative").get("relative_error").asDouble() <= 1e-5);
            assertEquals(3, s.get("cumulative").get("tokens_combined").get("components").get(0).get("u_tokens").size());
            // the last layer is included, so every site has its path towards it
            assertEquals(2, s.get("projection_on_final").size());
        }
        JsonNode last = l.get("sites").get(2);
        assertEquals(17, last.get("layer").asInt());
        assertEquals("layer", last.get("key").asText());
        assertEquals(1.0, last.get("projection_on_final").get(0).asDouble(), 1e-6, "the final layer projects fully onto itself");
        assertEquals(2, l.get("stable_rank").get("attn").size());
    }

    @Test
    void attributionReportHasPositionsAndComponents() throws Exception {
        JsonNode a = reportOf("attribution", "attribute", "--prompt", "The Golden", "--by-component").get("attribution").get("attribution");
        assertEquals(3, a.get("contributions").size());
        assertEquals(18 * 2, a.get("components").size());
        double s = a.get("constant").asDouble();
        for (JsonNode c : a.get("contributions")) s += c.get("value").asDouble();
        assertEquals(a.get("logit").asDouble(), s, 1e-5 * Math.abs(a.get("logit").asDouble()));
        double byComponent = a.get("embedding_direct").asDouble();
        for (JsonNode c : a.get("components")) byComponent += c.get("total").asDouble();
        assertEquals(a.get("logit").asDouble(), byComponent, 1e-4 * Math.abs(a.get("logit").asDouble()));
    }

    @Test
    void steeringReportHasBothContinuations() throws Exception {
        JsonNode d = reportOf("steering", "steer", "--prompt", "The Golden Gate Bridge", "--target", "I went to", "--tokens", "3",
                "--layer", "8", "--strength", "0.7");
        JsonNode st = d.get("steering");
        assertEquals(8, st.get("layer").asInt());
        assertEquals(0.7, st.get("strength").asDouble());
        assertEquals("The Golden Gate Bridge", st.get("source_prompt").asText());
        assertEquals(3, st.get("unsteered").get("tokens").size());
        assertTrue(d.get("title").asText().contains("I went to"));
    }

    @Test
    void unwritableReportFailsBeforeAnyWork() {
        String bad = dir.resolve("no/such/dir/r.html").toString();
        for (String[] args : new String[][]{{"layers", "--report", bad}, {"attribute", "--report", bad}, {"steer", "--target", "x", "--report", bad}}) {
            String cmd = args[0];
            var r = run(java.util.stream.Stream.concat(java.util.Arrays.stream(args), java.util.stream.Stream.of("--model", model())).toArray(String[]::new));
            assertEquals(Main.EXIT_BAD_INPUT, r.code(), cmd);
            assertTrue(r.err().startsWith("linlens: cannot write") && r.err().strip().lines().count() == 1, cmd + ": " + r.err());
        }
    }
}
