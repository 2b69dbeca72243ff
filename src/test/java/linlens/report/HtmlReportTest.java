package linlens.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import linlens.analysis.ArraySink;
import linlens.analysis.Decomposition;
import linlens.analysis.Figures;
import linlens.analysis.PromptContext;
import linlens.analysis.Vectors;
import linlens.linear.Precision;
import linlens.model.ForwardPass;
import linlens.model.ForwardTrace;
import linlens.model.MlpPath;
import linlens.model.Progress;
import linlens.model.Prompts;
import linlens.model.Transformer;
import linlens.testing.ReportData;
import linlens.testing.RealModel;
import linlens.testing.TestModels;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The report's data on the real model: y from the nonlinear forward pass, Σ J_i x_i from the
 * detached Jacobians, pooled heat maps; and a page that needs nothing from the network.
 * (The browser tests in webtest/ check that chromium draws it.)
 */
@RealModel
class HtmlReportTest {
    static Decomposition.Detail<?> detail;
    static ForwardTrace trace;

    @BeforeAll
    static void decompose() {
        Transformer m = TestModels.gemma();
        int[] ids = Prompts.encode(m, "The Golden");
        trace = new ForwardPass(m).run(ids);
        detail = new Decomposition().run(PromptContext.of(m, "The Golden", trace), new Decomposition.Options(Precision.FP32, MlpPath.UP, 2, 3),
                Progress.NONE, ArraySink.NONE);
    }

    @Test
    void scatterPlotsTheForwardPassOutputAgainstTheReconstruction() {
        var s = Figures.reconstruction(detail).series().getFirst();
        assertArrayEquals(trace.y(), s.y());
        assertTrue(Vectors.relativeError(s.reconstructed(), trace.y()) <= 1e-5);
        assertEquals(s.relativeError(), Vectors.relativeError(s.reconstructed(), trace.y()), 1e-12);
    }

    @Test
    void scatterAddsTheOrdinaryJacobianWhenItWasComputed() {
        assertEquals(1, Figures.reconstruction(detail).series().size(), "no ordinary series unless asked");
        Transformer m = TestModels.gemma();
        var withOrdinary = new Decomposition().run(PromptContext.of(m, "The Golden", trace.ids(), -1),
                new Decomposition.Options(Precision.FP32, MlpPath.UP, 1, 1, true, false, null), Progress.NONE, ArraySink.NONE);
        var series = Figures.reconstruction(withOrdinary).series();
        assertEquals(List.of("detached Jacobian", "ordinary Jacobian"), series.stream().map(Figures.Scatter::label).toList());
        var ordinary = series.get(1);
        assertArrayEquals(trace.y(), ordinary.y());
        double err = Vectors.relativeError(ordinary.reconstructed(), trace.y());
        assertTrue(err > 0.1, "the ordinary Jacobian does not reconstruct y: " + err);
        assertEquals(withOrdinary.result().nonlinearReconstruction().relativeError(), ordinary.relativeError(), 0);
        assertEquals(err, ordinary.relativeError(), 1e-12);
    }

    @Test
    void heatMapCellsHoldTheirBlocksLargestEntry() {
        var maps = Figures.jacobians(detail);
        int d = 640;
        assertEquals(4, maps.block());
        assertEquals(160, maps.side());
        assertEquals(3, maps.maps().size());
        float[] jac = (float[]) detail.jacobian();
        for (var map : maps.maps()) {
            assertEquals(160 * 160, map.values().length);
            for (int cell : new int[]{0, 161, 12_345, 160 * 160 - 1}) {
                int r0 = cell / 160 * 4, c0 = cell % 160 * 4;
                float best = 0;
                for (int r = r0; r < r0 + 4; r++)
                    for (int c = c0; c < c0 + 4; c++) {
                        float v = jac[map.position() * d * d + r * d + c];
                        if (Math.abs(v) > Math.abs(best)) best = v;
                    }
                assertEquals(best, map.values()[cell], Math.abs(best) * 1e-3, "cell " + cell);
            }
        }
    }

    @Test
    void reportIsOneOfflineFileWithItsData() throws Exception {
        JsonNode data = ReportData.of(HtmlReport.of(detail).html());
        assertEquals("The Golden", data.get("decomposition").get("prompt").asText());
        assertEquals(3, data.get("decomposition").get("svd").size());
        assertEquals(640, data.get("reconstruction").get("series").get(0).get("y").size());
        assertEquals(160 * 160, data.get("jacobians").get("maps").get(2).get("values").size());
    }

    /** Every slot name of the template, and markup that would run if it were pasted into the page. */
    static final String HOSTILE = "/*DATA*/ <!--TITLE--> /*STYLE*/ /*ECHARTS*/ /*FIGURES*/ /*CSP*/ /*BOOT*/ $1 \\$0 "
            + "<img src=x onerror=\"window.__pwned=1\"> </script><script>window.__pwned=1</script> \"><svg onload=alert(1)> "
            + "&amp; \u2028\u2029 {{x}} <!--";

    @Test
    void slotNamesAndMarkupInThePromptStayInTheDataBlock() throws Exception {
        HtmlReport report = new HtmlReport("Linear Lens: " + HOSTILE).add("note", Map.of("prompt", HOSTILE, "tokens", List.of(HOSTILE)));
        String html = report.html();
        String template = WebAssets.own("report.html");
        // the page is the template with each slot filled once: everything outside the slots is the template's
        assertEquals(1, count(html, "<title>"));
        assertTrue(html.contains("<title>Linear Lens report</title>"), "the title is set from the data, through the DOM");
        assertTrue(html.contains("<h1 id=\"report-title\"></h1>"));
        assertEquals(count(template, "<script"), count(html, "<script"), "no script element added");
        assertEquals(count(template, "</script"), count(html.toLowerCase(), "</script"));
        assertFalse(html.contains("<img src=x") || html.contains("<svg onload") || html.contains("<script>window"));
        // the data block reads back as the data, text unchanged
        Matcher m = Pattern.compile("<script type=\"application/json\" id=\"linlens-data\">(.*?)</script>", Pattern.DOTALL).matcher(html);
        assertTrue(m.find());
        String block = m.group(1);
        for (String c : new String[]{"<", ">", "&", "\u2028", "\u2029"}) assertFalse(block.contains(c), "unescaped " + c);
        JsonNode data = new ObjectMapper().readTree(block);
        assertEquals("Linear Lens: " + HOSTILE, data.get("title").asText());
        assertEquals(HOSTILE, data.get("note").get("prompt").asText());
        assertEquals(HOSTILE, data.get("note").get("tokens").get(0).asText());
        // the style sheet, the scripts and the data each once, where their slots were
        assertEquals(1, count(html, WebAssets.own("style.css")));
        assertEquals(1, count(html, HtmlReport.inlineScript(WebAssets.own("figures.js"))));
        assertEquals(1, count(html, HtmlReport.inlineScript(WebAssets.own("report.js"))));
    }

    @Test
    void policyAllowsExactlyTheReportsInlineScripts() throws Exception {
        String html = HtmlReport.of(detail).html();
        Matcher csp = Pattern.compile("<meta http-equiv=\"Content-Security-Policy\" content=\"([^\"]*)\">").matcher(html);
        assertTrue(csp.find(), "no policy");
        assertTrue(html.indexOf(csp.group()) < html.indexOf("<script"), "the policy comes before the first script");
        // the scripts the browser runs: every script element but the JSON data block, hashed as UTF-8
        List<String> hashes = new ArrayList<>();
        Matcher script = Pattern.compile("<script>(.*?)</script>", Pattern.DOTALL).matcher(html);
        while (script.find()) {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(script.group(1).getBytes(StandardCharsets.UTF_8));
            hashes.add("'sha256-" + Base64.getEncoder().encodeToString(digest) + "'");
        }
        assertEquals(3, hashes.size(), "ECharts, the figures and the start");
        assertEquals("default-src 'none'; script-src " + String.join(" ", hashes)
                + "; style-src 'unsafe-inline'; img-src data: blob:; base-uri 'none'; form-action 'none'", csp.group(1));
    }

    @Test
    void dataBlockEscapesWhatTheHtmlParserOrJavaScriptWouldReadAsSyntax() throws Exception {
        String json = new ObjectMapper().writeValueAsString(Map.of("t", "</script><!-- a&b > \u2028\u2029"));
        String block = HtmlReport.jsonBlock(json);
        assertEquals("{\"t\":\"\\u003c/script\\u003e\\u003c!-- a\\u0026b \\u003e \\u2028\\u2029\"}", block);
        assertEquals(new ObjectMapper().readTree(json), new ObjectMapper().readTree(block));
    }

    private static int count(String s, String part) {
        int n = 0;
        for (int i = s.indexOf(part); i >= 0; i = s.indexOf(part, i + part.length())) n++;
        return n;
    }

    @Test
    void inlinedTextCannotCloseItsScriptElement() throws Exception {
        String json = "{\"t\":\"</script><script>alert(1)</SCRIPT><!--\"}";
        String s = HtmlReport.inlineScript(json);
        assertEquals(new ObjectMapper().readTree(json), new ObjectMapper().readTree(s));
        assertFalse(s.toLowerCase().contains("</script"));
        assertFalse(s.contains("<!--"));
        assertEquals("{\"t\":\"<\\/script><script>alert(1)<\\/SCRIPT>\\u003C!--\"}", s);
    }
}
