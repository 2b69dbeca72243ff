package linlens.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import linlens.format.Npy;
import linlens.testing.RealModel;
import linlens.testing.TestModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static linlens.cli.CliErrorsTest.assertBadInput;
import static linlens.cli.CliErrorsTest.run;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** The analysis commands end to end: their JSON (schema in the README) and their bad input. */
@RealModel
class AnalysesCliTest {
    @TempDir Path dir;

    static String model() { return TestModels.gemmaPath().toString(); }

    static JsonNode json(Path p) throws Exception { return new ObjectMapper().readTree(p.toFile()); }

    @Test
    void attributeWritesContributionsThatSumToTheLogit() throws Exception {
        Path out = dir.resolve("a.json");
        var r = run("attribute", "--quiet", "--model", model(), "--prompt", "The Golden", "--json", out.toString());
        assertEquals(0, r.code(), r.err());
        JsonNode a = json(out).get("attribution");
        assertEquals(json(out).get("prediction").get("token_id").asInt(), a.get("token_id").asInt());
        assertEquals(3, a.get("contributions").size());
        double s = 0;
        for (JsonNode c : a.get("contributions")) s += c.get("value").asDouble();
        assertEquals(a.get("logit").asDouble(), s, 1e-5 * Math.abs(a.get("logit").asDouble()));
    }

    /**
     * A word given without its leading space is its line-initial token ("Paris", id 50429 in
     * Gemma 3), not the one running text uses (" Paris", 9079): the result says which token was
     * used and which to give; the spaced word, an id, or a text with no spaced form, says nothing.
     */
    @Test
    void attributeSaysWhenABareWordIsNotTheTokenOfRunningText() throws Exception {
        Path out = dir.resolve("a.json");
        var r = run("attribute", "--quiet", "--model", model(), "--prompt", "The capital of France is", "--token", "Paris",
                "--json", out.toString());
        assertEquals(0, r.code(), r.err());
        JsonNode j = json(out);
        assertEquals(50429, j.get("attribution").get("token_id").asInt());
        assertEquals(1, j.get("notes").size());
        String note = j.get("notes").get(0).asText();
        assertTrue(note.contains("token \"Paris\" is token 50429") && note.contains("token 9079 \" Paris\": give \" Paris\""), note);
        assertTrue(r.out().startsWith("note: " + note + "\n") || r.out().startsWith("note: " + note + "\r\n"), r.out());
        for (String[] quiet : new String[][]{{"--token", " Paris"}, {"--token-id", "50429"}, {"--token", "."}}) {
            var q = run("attribute", "--quiet", "--model", model(), "--prompt", "The capital of France is", quiet[0], quiet[1],
                    "--json", out.toString());
            assertEquals(0, q.code(), q.err());
            assertFalse(json(out).has("notes"), String.join(" ", quiet));
            assertFalse(q.out().contains("note:"), q.out());
        }
    }

    @Test
    void layersWritesSitesWithReconstructionAndSpectra() throws Exception {
        Path out = dir.resolve("l.json"), ex = dir.resolve("layer-arrays");
        var r = run("layers", "--quiet", "--model", model(), "--prompt", "The Golden", "--layers", "5,17", "--keys", "layer,mlp",
                "--components", "2", "--top", "3", "--json", out.toString(), "--export", ex.toString());
        assertEquals(0, r.code(), r.err());
        JsonNode j = json(out);
        JsonNode manifest = json(ex.resolve("manifest.json"));
        assertEquals(4 * 5, manifest.get("arrays").size());
        assertArrayEquals(new int[]{3, 640, 640}, Npy.read(ex.resolve("L17_mlp_cumulative.npy")).shape());
        // the exported spectrum is the one the JSON reports
        assertEquals(j.get("sites").get(3).get("cumulative").get("tokens_combined").get("singular_values").get(0).asDouble(),
                Npy.read(ex.resolve("L17_mlp_cumulative_combined_singular_values.npy")).values()[0], 1e-6);
        assertEquals(4, j.get("sites").size());
        for (JsonNode s : j.get("sites")) {
            assertTrue(s.get("cumulative").get("relative_error").asDouble() <= 1e-5);
            assertTrue(s.get("layerwise").get("relative_error").asDouble() <= 1e-5);
            assertEquals(2, s.get("cumulative").get("tokens_combined").get("components").size());
            assertEquals(3, s.get("cumulative").get("tokens_combined").get("components").get(0).get("v_position_weights").size());
        }
        assertEquals(2, j.get("stable_rank").get("mlp").size());
    }

    @Test
    void steerWritesBothContinuations() throws Exception {
        Path out = dir.resolve("s.json");
        var r = run("steer", "--quiet", "--model", model(), "--prompt", "The Golden Gate Bridge", "--target", "I went to",
                "--tokens", "4", "--json", out.toString());
        assertEquals(0, r.code(), r.err());
        JsonNode j = json(out);
        assertEquals(11, j.get("layer").asInt());
        assertEquals(4, j.get("unsteered").get("token_ids").size());
        assertTrue(j.get("steered").has("text"));
        // the console: the plain continuation, then one line per strength in order, the JSON's texts
        List<String> lines = r.out().lines().toList();
        assertTrue(lines.get(0).startsWith("Source \"The Golden Gate Bridge\""), lines.get(0));
        assertTrue(lines.get(0).contains("λ = 0.25 (compared with 0.125, 0.5)"), lines.get(0));
        assertEquals("  unsteered   I went to" + j.get("unsteered").get("text").asText(), lines.get(1));
        assertEquals("  λ = 0.125   I went to" + j.get("comparison").get(0).get("text").asText(), lines.get(2));
        assertEquals("  λ = 0.25    I went to" + j.get("steered").get("text").asText(), lines.get(3));
        assertEquals("  λ = 0.5     I went to" + j.get("comparison").get(1).get("text").asText(), lines.get(4));
    }

    @Test
    void decomposeNonlinearAndExport() throws Exception {
        Path out = dir.resolve("d.json"), ex = dir.resolve("arrays");
        var r = run("decompose", "--quiet", "--model", model(), "--prompt", "The Golden", "--components", "2", "--top", "2",
                "--nonlinear", "--precision", "fp64", "--json", out.toString(), "--export", ex.toString());
        assertEquals(0, r.code(), r.err());
        JsonNode j = json(out);
        assertTrue(j.get("reconstruction").get("relative_error").asDouble() <= 1e-12);
        assertTrue(j.get("nonlinear_reconstruction").get("relative_error").asDouble() > 0.1, "the ordinary J does not reconstruct");
        assertEquals(640, j.get("reconstruction_vectors").get("nonlinear").size());
        assertEquals(2, j.get("svd").get(0).get("top_columns").size());
        JsonNode manifest = json(ex.resolve("manifest.json"));
        assertTrue(manifest.get("arrays").size() >= 8);
        Npy.Array jac = Npy.read(ex.resolve("jacobian.npy")), sv = Npy.read(ex.resolve("singular_values.npy"));
        assertArrayEquals(new int[]{3, 640, 640}, jac.shape());
        // the exported spectrum is the one in the JSON
        assertEquals(j.get("svd").get(2).get("singular_values").get(0).asDouble(), sv.values()[2 * 640], 1e-12);
        assertTrue(Files.exists(ex.resolve("ordinary_jacobian.npy")));
        try (var s = Files.list(dir)) {
            assertEquals(0, s.filter(p -> p.getFileName().toString().startsWith(".")).count(), "no temporary folder left");
        }
    }

    @Test
    void badInput() throws Exception {
        assertBadInput(run("attribute", "--model", model(), "--token", "Golden Gate"), "not one");
        assertBadInput(run("layers", "--model", model(), "--layers", "99"), "layer 99 out of range 0..17");
        assertBadInput(run("layers", "--keys", "resid_mid"), "unknown site 'resid_mid'");
        assertBadInput(run("steer", "--model", model()), "Missing required option: '--target=<target>'");
        Path full = Files.createDirectories(dir.resolve("full"));
        Files.writeString(full.resolve("x"), "x");
        assertBadInput(run("decompose", "--model", model(), "--export", full.toString()), "folder is not empty");
    }

    @Test
    void layersMatrixFreeWritesTopKSpectraWithoutStableRanks() throws Exception {
        Path out = dir.resolve("lmf.json");
        var r = run("layers", "--quiet", "--model", model(), "--prompt", "The Golden", "--layers", "5,17", "--keys", "layer,mlp",
                "--components", "2", "--top", "3", "--matrix-free", "--k", "6", "--json", out.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("matrix-free top-6"), r.out());
        JsonNode j = json(out);
        assertEquals(6, j.get("matrix_free").get("k").asInt());
        assertTrue(j.get("matrix_free").get("sweeps").asInt() > 0);
        assertTrue(j.has("stable_rank") && j.get("stable_rank").isNull(), "no stable ranks without the whole spectrum");
        assertEquals(4, j.get("sites").size());
        for (JsonNode s : j.get("sites")) {
            assertEquals(2, s.get("projection_on_final").size());
            for (String kind : new String[]{"cumulative", "layerwise"}) {
                JsonNode reading = s.get(kind);
                assertTrue(reading.get("relative_error").asDouble() <= 1e-5, kind + " " + reading.get("relative_error"));
                for (String spectrum : new String[]{"last_position", "tokens_combined"}) {
                    JsonNode sp = reading.get(spectrum);
                    assertEquals(6, sp.get("singular_values").size());
                    assertTrue(sp.has("stable_rank") && sp.get("stable_rank").isNull());
                    assertEquals(2, sp.get("components").size());
                    assertEquals(3, sp.get("components").get(0).get("u_tokens").size());
                }
                assertEquals(3, reading.get("tokens_combined").get("components").get(0).get("v_position_weights").size());
            }
        }
    }

    @Test
    void decomposeMatrixFreeWritesTheTopKOfTheCombinedAndLastJacobians() throws Exception {
        Path out = dir.resolve("dmf.json");
        var r = run("decompose", "--quiet", "--model", model(), "--prompt", "The Golden", "--matrix-free", "--components", "2",
                "--top", "3", "--json", out.toString());
        assertEquals(0, r.code(), r.err());
        JsonNode j = json(out);
        assertEquals(2, j.get("matrix_free").get("k").asInt(), "k defaults to --components");
        assertTrue(j.get("prediction").has("token_id"));
        assertTrue(j.get("reconstruction").get("relative_error").asDouble() <= 1e-5);
        assertEquals(640, j.get("reconstruction_vectors").get("detached").size());
        JsonNode svd = j.get("svd");
        assertEquals(1, svd.size(), "the last position only");
        assertEquals(2, svd.get(0).get("position").asInt());
        assertEquals(2, svd.get(0).get("singular_values").size());
        assertTrue(svd.get(0).get("stable_rank").isNull());
        assertEquals(3, svd.get(0).get("components").get(0).get("v_tokens").size());
        JsonNode comb = j.get("svd_combined");
        assertEquals(2, comb.get("singular_values").size());
        assertTrue(comb.get("stable_rank").isNull());
        assertEquals(3, comb.get("components").get(1).get("v_position_weights").size());
        for (String k : new String[]{"load", "forward", "reconstruction", "top_k", "decode"}) assertTrue(j.get("timings_ms").has(k), k);
        assertFalse(j.get("timings_ms").has("jacobian"), "J is not formed");
    }

    @Test
    void matrixFreeRefusesWhatNeedsTheFullJacobian() {
        String html = dir.resolve("r.html").toString(), arrays = dir.resolve("arrays").toString();
        assertBadInput(run("layers", "--model", model(), "--matrix-free", "--export", arrays), "--export writes the full Jacobians");
        assertBadInput(run("layers", "--model", model(), "--matrix-free", "--report", html), "--report draws the full Jacobians");
        assertBadInput(run("decompose", "--model", model(), "--matrix-free", "--export", arrays), "--export writes the full Jacobians");
        assertBadInput(run("decompose", "--model", model(), "--matrix-free", "--report", html), "--report draws the full Jacobians");
        assertBadInput(run("decompose", "--model", model(), "--matrix-free", "--nonlinear"), "--nonlinear");
        assertBadInput(run("decompose", "--model", model(), "--k", "4"), "use it with --matrix-free");
        assertBadInput(run("layers", "--model", model(), "--matrix-free", "--k", "0"), "--k must be at least 1");
        assertBadInput(run("decompose", "--model", model(), "--prompt", "The Golden", "--matrix-free", "--k", "641"),
                "--k 641 out of range 1..640");
        assertFalse(Files.exists(dir.resolve("arrays")) || Files.exists(dir.resolve("r.html")), "refused before writing anything");
    }

    @Test
    void decomposeOfAPromptWhoseJacobianCannotBeFormedPointsToMatrixFree() {
        // thousands of tokens: J has more entries than one Java array holds (or more bytes than the
        // test heap); refused after tokenizing, before the forward pass
        assertBadInput(run("decompose", "--model", model(), "--prompt", "a ".repeat(6000)), "use --matrix-free");
    }
}
