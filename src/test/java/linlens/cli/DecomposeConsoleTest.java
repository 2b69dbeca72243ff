package linlens.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The main job's console summary (on the tiny model): one screen led by the prediction and the
 * reconstruction against its precision's bound, exactly --components rows of --top tokens, the
 * same tokens as the JSON, a legend; the other positions only with --full.
 */
class DecomposeConsoleTest {
    @TempDir Path dir;

    private static final String PROMPT = "The bridge out of Marin is the";

    private linlens.testing.InProcessCli.Run decompose(String... extra) {
        List<String> args = new java.util.ArrayList<>(List.of("decompose", "--quiet", "--model", CliHardeningTest.TINY, "--prompt", PROMPT));
        args.addAll(List.of(extra));
        var r = CliErrorsTest.run(args.toArray(String[]::new));
        assertEquals(0, r.code(), r.err());
        return r;
    }

    /** The quoted tokens on a line. */
    private static List<String> quoted(String line) {
        Matcher m = Pattern.compile("\"((?:[^\"\\\\]|\\\\.)*)\"").matcher(line);
        List<String> out = new java.util.ArrayList<>();
        while (m.find()) out.add(m.group(1));
        return out;
    }

    @Test
    void oneScreenLedByThePredictionAndTheReconstruction() throws Exception {
        Path json = dir.resolve("d.json");
        List<String> lines = decompose("--json", json.toString()).out().lines().toList();
        JsonNode j = new ObjectMapper().readTree(json.toFile());
        int n = j.get("tokens").size();
        assertTrue(n > 6, "a prompt with more positions than the summary shows");
        assertTrue(lines.size() <= 34, "one screen, got " + lines.size() + " lines:\n" + String.join("\n", lines));
        assertTrue(lines.get(3).startsWith("Prediction   \"" + j.get("prediction").get("text").asText() + "\""), lines.get(3));
        assertTrue(lines.get(4).startsWith("Exactness") && lines.get(4).contains("exact up to fp32 rounding (bound 1e-05)"), lines.get(4));
        // the defaults: 5 components of 6 tokens, for all tokens combined and the last position only
        assertEquals(5, j.get("svd").get(0).get("components").size());
        long lastHeaders = lines.stream().filter(l -> l.startsWith("Last position " + (n - 1) + " ")).count();
        assertEquals(1, lastHeaders, String.join("\n", lines));
        assertTrue(lines.stream().noneMatch(l -> l.startsWith("Position ")), "other positions only with --full");
        assertTrue(lines.stream().anyMatch(l -> l.contains("stable rank Σσ²/σ₁²")), "the legend");
        assertTrue(lines.stream().anyMatch(l -> l.contains("--full")), "says how to see the rest");
    }

    @Test
    void componentsAndTopSetWhatIsShownAndItIsTheJsonsTokens() throws Exception {
        Path json = dir.resolve("d.json");
        List<String> lines = decompose("--components", "3", "--top", "2", "--json", json.toString()).out().lines().toList();
        JsonNode j = new ObjectMapper().readTree(json.toFile());
        int combined = lines.indexOf(lines.stream().filter(l -> l.startsWith("All tokens [J_0")).findFirst().orElseThrow());
        // header row, then exactly 3 components of 2 tokens
        for (int k = 0; k < 3; k++) {
            String row = lines.get(combined + 2 + k);
            assertTrue(row.startsWith("  " + (k + 1) + " "), row);
            JsonNode c = j.get("svd_combined").get("components").get(k);
            assertEquals(List.of(c.get("u_tokens").get(0).asText(), c.get("u_tokens").get(1).asText()), quoted(row), row);
        }
        assertTrue(lines.get(combined + 5).isBlank(), "no fourth component: " + lines.get(combined + 5));
        int last = lines.indexOf(lines.stream().filter(l -> l.startsWith("Last position")).findFirst().orElseThrow());
        JsonNode lastSvd = j.get("svd").get(j.get("svd").size() - 1);
        for (int k = 0; k < 3; k++) {
            JsonNode c = lastSvd.get("components").get(k);
            assertEquals(List.of(c.get("u_tokens").get(0).asText(), c.get("u_tokens").get(1).asText()), quoted(lines.get(last + 2 + 2 * k)));
            assertEquals(List.of(c.get("v_tokens").get(0).asText(), c.get("v_tokens").get(1).asText()), quoted(lines.get(last + 3 + 2 * k)));
        }
    }

    @Test
    void fullAddsEveryPosition() throws Exception {
        Path json = dir.resolve("d.json");
        List<String> lines = decompose("--full", "--components", "2", "--json", json.toString()).out().lines().toList();
        long positions = lines.stream().filter(l -> l.matches("(Position|Last position) \\d+ .*")).count();
        assertEquals(new ObjectMapper().readTree(json.toFile()).get("tokens").size(), positions, String.join("\n", lines));
        assertTrue(lines.stream().noneMatch(l -> l.contains("--full")));
    }

    @Test
    void onlyTheDecompositionHasAFullFlag() {
        var r = CliErrorsTest.run("predict", "--full", "--model", CliHardeningTest.TINY);
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("--full"), r.err());
    }

    @Test
    void matrixFreeSaysWhatItHasAndALongPromptStaysOnItsLines() {
        String prompt = "The bridge out of Marin is the ".repeat(8);
        var r = CliErrorsTest.run("decompose", "--quiet", "--model", CliHardeningTest.TINY, "--prompt", prompt, "--matrix-free");
        assertEquals(0, r.code(), r.err());
        List<String> lines = r.out().lines().toList();
        assertTrue(lines.stream().allMatch(l -> l.length() <= 200), "no line runs on:\n" + r.out());
        assertTrue(lines.get(1).contains(" … "), lines.get(1));
        assertTrue(lines.get(2).matches("Tokens +\\d+: .* \\| … \\d+ more … \\| .*"), lines.get(2));
        assertTrue(lines.stream().anyMatch(l -> l.contains("matrix-free top-5")), r.out());
        assertTrue(lines.stream().noneMatch(l -> l.contains("--full")), "matrix-free has no other positions to show");
        assertTrue(lines.stream().anyMatch(l -> l.contains("Matrix-free: the last position and all tokens only")), r.out());
    }

    @Test
    void elidingKeepsBothEndsAndWholeCharacters() {
        assertEquals("short", linlens.analysis.Text.elide("short", 10));
        String e = linlens.analysis.Text.elide("😀".repeat(30), 12);
        assertEquals(12, e.codePointCount(0, e.length()));
        assertTrue(e.startsWith("😀😀😀😀😀😀😀😀 … 😀"), e);
    }
}
