package linlens.scan;

import linlens.testing.InProcessCli;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static linlens.scan.ScanTesting.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * linlens scan-report on a scan of the tiny model: the sections' numbers against the rows
 * themselves, hostile prompts that stay data, the decompose command lines, and the refusals.
 */
class ScanReportTest {
    @TempDir static Path dir;
    static Path out, html;
    static Map<Long, Map<String, Object>> rows;
    static JsonNode data;
    static String page;

    static final String SCRIPT = "</script><script>alert(1)</script>", COMMENT = "<!-- x --> & <img src=x onerror=alert(2)>",
            SEPARATORS = "line\u2028para\u2029end", QUOTES = "it's \"quoted\" $(rm -rf ~) `x`", CONTROL = "bell\u0007 esc\u001b[31m red\nnew line \u202eevil",
            DASH = "--help", EMOJI = "rocket \uD83D\uDE80 launch";
    static final String HUGE = "word ".repeat(12_000);

    @BeforeAll
    static void scanAndReport() throws Exception {
        ObjectMapper json = new ObjectMapper();
        StringBuilder b = new StringBuilder();
        for (String p : List.of("The bridge out of Marin is the", SCRIPT, COMMENT, SEPARATORS, QUOTES, CONTROL, DASH, EMOJI, HUGE, "Paris is in"))
            b.append(json.writeValueAsString(Map.of("prompt", p))).append('\n');
        b.append("{\"prompt\": \"lone \\ud800 surrogate\"}\n");
        b.append("{\"prompt\": \"\"}\n");
        Path dataset = Files.writeString(dir.resolve("hostile.jsonl"), b.toString());
        out = dir.resolve("out");
        InProcessCli.Run scan = run("scan", "--model", tinyModel().toString(), "--dataset", dataset.toString(), "--out", out.toString(),
                "--analyses", "decompose,attribute,layers", "--k", "3", "--max-tokens", "64", "--quiet");
        assertEquals(0, scan.code(), scan.err());
        rows = rows(out);
        html = dir.resolve("report.html");
        InProcessCli.Run r = run("scan-report", out.toString(), "--html", html.toString());
        assertEquals(0, r.code(), r.err());
        assertEquals("", r.err());
        assertTrue(r.out().contains("report of 12 prompts"), r.out());
        page = Files.readString(html, StandardCharsets.UTF_8);
        Matcher m = Pattern.compile("<script type=\"application/json\" id=\"linlens-data\">(.*?)</script>", Pattern.DOTALL).matcher(page);
        assertTrue(m.find());
        data = json.readTree(m.group(1)).get("scan");
    }

    @Test
    void hostileTextStaysInsideTheDataBlock() throws Exception {
        // the page's own four scripts and nothing else: no text of the dataset can open or close one
        assertEquals(4, count(page, "<script"), "script elements");
        assertEquals(4, count(page, "</script"), "script ends");
        assertFalse(page.contains("<img src=x"), "markup of a prompt as markup");
        assertFalse(page.contains("<!-- x"), "a comment opener from a prompt");
        Matcher m = Pattern.compile("id=\"linlens-data\">(.*?)</script>", Pattern.DOTALL).matcher(page);
        assertTrue(m.find());
        String block = m.group(1);
        for (char c : new char[]{'<', '>', '&', '\u2028', '\u2029'}) assertEquals(-1, block.indexOf(c), "raw " + (int) c + " in the data block");
        // the bytes are valid UTF-8 (a lone surrogate would be written as '?')
        byte[] bytes = Files.readAllBytes(html);
        assertEquals(page, new String(bytes, StandardCharsets.UTF_8));
        assertTrue(StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(bytes)).length() > 0);
        // and every prompt comes back exactly from the data
        Map<Long, JsonNode> byIndex = shown();
        for (long i = 0; i < 8; i++) assertEquals(rows.get(i).get("prompt"), byIndex.get(i).get("prompt").asText(), "row " + i);
        assertEquals("lone \uFFFD surrogate", byIndex.get(10L).get("prompt").asText());
        assertFalse(Files.list(dir).anyMatch(p -> p.getFileName().toString().startsWith(".")), "no temporary file left");
    }

    @Test
    void aHugeRowIsCutAndHasNoCommand() {
        JsonNode huge = shown().get(8L);
        assertTrue(huge.get("cut").asBoolean());
        assertEquals(HUGE.length(), huge.get("promptChars").asLong());
        assertEquals(ScanReport.PROMPT_CHARS, huge.get("prompt").asText().length());
        assertTrue(huge.get("command").isNull());
        assertTrue(huge.get("error").asText().contains("too long"), huge.toString());
        assertTrue(page.length() < 3_000_000 + HUGE.length(), "the page does not carry the whole row");
        assertFalse(page.contains(HUGE.substring(0, ScanReport.PROMPT_CHARS + 10)));
    }

    @Test
    void eachRowHasTheCommandThatDecomposesItsPrompt() throws Exception {
        Map<Long, JsonNode> byIndex = shown();
        String model = tinyModel().toAbsolutePath().normalize().toString();
        for (long i : List.of(0L, 1L, 4L, 5L, 6L, 7L)) {
            String prompt = (String) rows.get(i).get("prompt");
            assertEquals(ScanReport.decomposeCommand(model, prompt, i), byIndex.get(i).get("command").asText());
        }
        assertTrue(byIndex.get(6L).get("command").asText().contains("--prompt='--help'"), "a prompt that looks like an option stays the option's value");
        assertTrue(byIndex.get(11L).get("command").isNull() || byIndex.get(11L).get("prompt").asText().isEmpty());
        // each quoted word reads back, in bash, as exactly the text
        for (String s : List.of(SCRIPT, QUOTES, CONTROL, SEPARATORS, DASH, EMOJI, "", "'", "\\", "a'b\\'c"))
            assertEquals(s, bashEcho(ScanReport.shellQuote(s)), "quoted: " + ScanReport.shellQuote(s));
        String control = ScanReport.shellQuote(CONTROL);
        assertTrue(control.startsWith("$'") && !control.contains("\u001b") && !control.contains("\u202e") && !control.contains("\n"), control);
        assertEquals("'it'\\''s \"quoted\" $(rm -rf ~) `x`'", ScanReport.shellQuote(QUOTES));
    }

    private static String bashEcho(String word) throws Exception {
        ProcessBuilder pb = new ProcessBuilder("bash", "-c", "printf '%s' " + word);
        pb.environment().put("LC_ALL", "C.UTF-8");
        Process p = pb.start();
        String got = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor());
        return got;
    }

    @Test
    void countsAndDistributionsAreThoseOfTheRows() {
        JsonNode s = data.get("summary");
        long errors = rows.values().stream().filter(r -> r.get("error") != null).count();
        assertEquals(12, s.get("prompts").asLong());
        assertEquals(errors, s.get("errors").asLong());
        assertTrue(errors >= 3, "the huge, the surrogate and the empty row: " + errors);
        assertEquals(12 - errors, s.get("analysed").asLong());
        assertEquals("hostile.jsonl", s.get("dataset").asText());
        assertEquals("model.gguf", s.get("model").asText());
        assertEquals(List.of("predict", "decompose", "attribute", "layers"), strings(s.get("analyses")));
        assertEquals(3, s.get("k").asInt());
        long kinds = 0;
        for (JsonNode k : s.get("errorKinds")) kinds += k.get("n").asLong();
        assertEquals(errors, kinds);

        List<Map<String, Object>> ok = rows.values().stream().filter(r -> r.get("error") == null).toList();
        Map<String, JsonNode> hist = new HashMap<>();
        for (JsonNode h : data.get("histograms")) hist.put(h.get("column").asText(), h);
        assertEquals(List.of("reconstruction_error", "attribution_error", "first_prediction_layer", "n_tokens"), new ArrayList<>(names(data.get("histograms"))));
        for (String c : List.of("reconstruction_error", "attribution_error")) {
            JsonNode h = hist.get(c);
            assertTrue(h.get("log").asBoolean());
            List<Double> v = ok.stream().map(r -> ((Number) r.get(c)).doubleValue()).filter(x -> x > 0 && Double.isFinite(x)).sorted().toList();
            assertEquals(v.size(), h.get("values").asLong());
            assertEquals(v.size(), sum(h.get("bins")), c + ": every positive value in one bin");
            assertEquals(ok.size(), h.get("values").asLong() + h.get("zeros").asLong() + h.get("nonFinite").asLong(), c);
            if (!v.isEmpty()) {
                assertEquals(v.getFirst(), h.get("min").asDouble());
                assertEquals(v.getLast(), h.get("max").asDouble());
                // bins of equal width in log10, from a whole decade: each value in the bin its logarithm falls in
                JsonNode bins = h.get("bins");
                int n = bins.size();
                double lo = Math.log10(bins.get(0).get("lo").asDouble()), width = Math.log10(bins.get(0).get("hi").asDouble()) - lo;
                assertEquals(Math.rint(lo), lo, 1e-9);
                long[] expected = new long[n];
                for (double x : v) expected[(int) Math.min(n - 1, Math.max(0, Math.floor((Math.log10(x) - Math.rint(lo)) / width + 1e-9)))]++;
                for (int b = 0; b < n; b++) assertEquals(expected[b], bins.get(b).get("n").asLong(), c + " bin " + bins.get(b));
            }
        }
        JsonNode len = hist.get("n_tokens");
        long withTokens = rows.values().stream().filter(r -> r.get("n_tokens") != null).count();
        assertEquals(withTokens, len.get("values").asLong());
        assertEquals(withTokens, sum(len.get("bins")));
        for (JsonNode bin : len.get("bins")) {
            long lo = bin.get("lo").asLong(), hi = bin.get("hi").asLong();
            assertEquals(rows.values().stream().filter(r -> r.get("n_tokens") != null && (int) r.get("n_tokens") >= lo && (int) r.get("n_tokens") <= hi).count(),
                    bin.get("n").asLong(), "n_tokens " + lo + ".." + hi);
        }
        JsonNode layer = hist.get("first_prediction_layer");
        assertEquals(ok.stream().filter(r -> r.get("first_prediction_layer") != null).count(), layer.get("values").asLong());
        assertEquals(ok.stream().filter(r -> r.get("first_prediction_layer") == null).count(), layer.get("missing").asLong());
    }

    @Test
    void singularValueDecayIsTheQuartilesOfTheRatios() {
        List<Map<String, Object>> ok = rows.values().stream().filter(r -> r.get("error") == null).toList();
        assertEquals(List.of("combined_sigma", "last_sigma"), new ArrayList<>(names(data.get("spectra"))));
        for (JsonNode d : data.get("spectra")) {
            String c = d.get("column").asText();
            assertEquals(ok.size(), d.get("prompts").asLong());
            assertEquals(3, d.get("ratios").size());
            for (JsonNode q : d.get("ratios")) {
                int k = q.get("k").asInt();
                List<Double> ratios = ok.stream().map(r -> {
                    @SuppressWarnings("unchecked") List<Double> s = (List<Double>) r.get(c);
                    return s.get(k - 1) / s.get(0);
                }).sorted().toList();
                assertEquals(quantile(ratios, 0.5), q.get("median").asDouble(), 1e-12, c + " k=" + k);
                assertEquals(quantile(ratios, 0.25), q.get("q1").asDouble(), 1e-12);
                assertEquals(quantile(ratios, 0.75), q.get("q3").asDouble(), 1e-12);
                if (k == 1) assertEquals(1.0, q.get("median").asDouble());
            }
        }
    }

    @Test
    void conceptsCountEachTokenOncePerPrompt() {
        List<Map<String, Object>> ok = rows.values().stream().filter(r -> r.get("error") == null).toList();
        Map<String, JsonNode> byTitle = new HashMap<>();
        for (JsonNode c : data.get("concepts")) byTitle.put(c.get("title").asText(), c);
        JsonNode predicted = byTitle.get("Predicted tokens");
        Map<String, Long> expected = new HashMap<>();
        for (Map<String, Object> r : ok) expected.merge((String) r.get("predicted_token"), 1L, Long::sum);
        for (JsonNode t : predicted.get("top")) assertEquals(expected.get(t.get("text").asText()), t.get("n").asLong(), t.toString());
        assertEquals(Math.min(expected.size(), 20), predicted.get("top").size());
        JsonNode anyU = byTitle.get("Output directions (any u_k)");
        Map<String, Long> u = new HashMap<>();
        for (Map<String, Object> r : ok) for (Object t : new java.util.HashSet<>((List<?>) r.get("combined_u_tokens"))) u.merge((String) t, 1L, Long::sum);
        for (JsonNode t : anyU.get("top")) assertEquals(u.get(t.get("text").asText()), t.get("n").asLong(), t.toString());
        assertNotNull(byTitle.get("Leading output direction (u_1)"));
        assertNotNull(byTitle.get("Input directions (any v_k)"));
        assertNotNull(byTitle.get("Tokens along the layers"));
    }

    @Test
    void theFiguresCodeHasARendererForEachScanSection() {
        for (String f : List.of("scanSummary", "scanHistograms", "scanSpectra", "scanConcepts", "scanPrompts"))
            assertTrue(page.contains("draw: " + f), f);
    }

    @Test
    void theTableListsTheFirstRowsAsked() throws Exception {
        Path small = dir.resolve("small.html");
        assertEquals(0, run("scan-report", out.toString(), "--html", small.toString(), "--rows", "3").code());
        String p = Files.readString(small);
        Matcher m = Pattern.compile("id=\"linlens-data\">(.*?)</script>", Pattern.DOTALL).matcher(p);
        assertTrue(m.find());
        JsonNode prompts = new ObjectMapper().readTree(m.group(1)).get("scan").get("prompts");
        assertEquals(12, prompts.get("total").asLong());
        assertEquals(3, prompts.get("shown").asInt());
        assertEquals(List.of(0L, 1L, 2L), names(prompts.get("rows"), "index").stream().map(Long::parseLong).toList());
    }

    @Test
    void aFolderThatIsNoScanIsRefusedInOneLine() throws Exception {
        Path target = dir.resolve("r.html");
        assertBadInput(run("scan-report", dir.resolve("missing").toString(), "--html", target.toString()), "no such folder");
        Path empty = Files.createDirectories(dir.resolve("empty"));
        assertBadInput(run("scan-report", empty.toString(), "--html", target.toString()), "not a scan's folder (no scan.json)");
        Path noParts = Files.createDirectories(dir.resolve("noparts"));
        Files.copy(out.resolve("scan.json"), noParts.resolve("scan.json"));
        assertBadInput(run("scan-report", noParts.toString(), "--html", target.toString()), "no results");
        Path broken = Files.createDirectories(dir.resolve("broken"));
        Files.writeString(broken.resolve("scan.json"), "{not json");
        assertBadInput(run("scan-report", broken.toString(), "--html", target.toString()), "not readable JSON");
        assertBadInput(run("scan-report", out.toString(), "--html", target.toString(), "--rows", "0"), "--rows 0 out of range");
        assertBadInput(run("scan-report", out.toString(), "--html", dir.toString()), dir.toString());
        assertBadInput(run("scan-report", out.toString()), "--html");
        assertFalse(Files.exists(target), "nothing written when refused");
    }

    // ------------------------------------------------------------------ helpers

    private static Map<Long, JsonNode> shown() {
        Map<Long, JsonNode> m = new HashMap<>();
        for (JsonNode r : data.get("prompts").get("rows")) m.put(r.get("index").asLong(), r);
        return m;
    }

    private static int count(String s, String what) {
        int n = 0;
        for (int i = s.toLowerCase().indexOf(what); i >= 0; i = s.toLowerCase().indexOf(what, i + 1)) n++;
        return n;
    }

    private static long sum(JsonNode bins) {
        long n = 0;
        for (JsonNode b : bins) n += b.get("n").asLong();
        return n;
    }

    private static List<String> strings(JsonNode a) {
        List<String> l = new ArrayList<>();
        a.forEach(x -> l.add(x.asText()));
        return l;
    }

    private static List<String> names(JsonNode a) { return names(a, "column"); }

    private static List<String> names(JsonNode a, String key) {
        List<String> l = new ArrayList<>();
        a.forEach(x -> l.add(x.get(key).asText()));
        return l;
    }

    /** DuckDB's quantile_cont: linear interpolation between the order statistics. */
    private static double quantile(List<Double> sorted, double q) {
        double pos = q * (sorted.size() - 1);
        int lo = (int) Math.floor(pos), hi = (int) Math.ceil(pos);
        return sorted.get(lo) + (pos - lo) * (sorted.get(hi) - sorted.get(lo));
    }
}
