package linlens.report;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import linlens.analysis.AnalysisResult;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A self-contained HTML report: one file with the styles, the figure code, the ECharts library
 * and the data inlined, so it opens offline. The data is a map of sections, each one analysis's
 * JSON-able result under a key; {@code figures.js} has one renderer per key and draws the
 * sections present. A new analysis gives its sections ({@link AnalysisResult#sections}) and its renderer there.
 *
 * <p>The data (prompts, tokens: anything a user typed or a model decodes) only ever lands in
 * the JSON data block, escaped so it cannot leave it, and reaches the page through the DOM
 * ({@code report.js}). A Content-Security-Policy lets only our own inline scripts run, by hash.
 */
public final class HtmlReport {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The template's slots; the template is scanned once, so inserted text is never read as a slot. */
    private static final Pattern SLOT = Pattern.compile("/\\*(CSP|STYLE|ECHARTS|FIGURES|DATA|BOOT)\\*/");

    private final Map<String, Object> data = new LinkedHashMap<>();

    public HtmlReport(String title) {
        data.put("title", title);
        data.put("generated", Instant.now().truncatedTo(ChronoUnit.SECONDS).toString());
    }

    /** The report of one analysis's result: its sections, drawn by {@code figures.js}. */
    public static HtmlReport of(AnalysisResult result) {
        HtmlReport r = new HtmlReport(result.title());
        result.sections().forEach(r::add);
        return r;
    }

    public HtmlReport add(String section, Object record) {
        data.put(section, record);
        return this;
    }

    public String html() {
        String json;
        try {
            json = JSON.writeValueAsString(data);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        String echarts = inlineScript(WebAssets.echarts()), figures = inlineScript(WebAssets.own("figures.js")),
                boot = inlineScript(WebAssets.own("report.js"));
        Map<String, String> slots = Map.of(
                "CSP", contentSecurityPolicy(List.of(echarts, figures, boot)),
                "STYLE", inlineStyle(WebAssets.own("style.css")),
                "ECHARTS", echarts,
                "FIGURES", figures,
                "DATA", jsonBlock(json),
                "BOOT", boot);
        return fill(WebAssets.own("report.html"), slots);
    }

    /** Replaces every slot of the template in one pass: nothing inserted is scanned again. */
    static String fill(String template, Map<String, String> slots) {
        Matcher m = SLOT.matcher(template);
        StringBuilder out = new StringBuilder(template.length() + slots.values().stream().mapToInt(String::length).sum());
        while (m.find()) m.appendReplacement(out, Matcher.quoteReplacement(slots.get(m.group(1))));
        m.appendTail(out);
        return out.toString();
    }

    /**
     * The report's policy: nothing from anywhere, except our own inline scripts (by their
     * SHA-256, so an injected script would not run), inline styles (ECharts and our figure sizes
     * set them) and images made in the page (figure exports).
     */
    static String contentSecurityPolicy(List<String> scripts) {
        StringBuilder src = new StringBuilder();
        for (String s : scripts) src.append(" '").append(sha256(s)).append('\'');
        return "default-src 'none'; script-src" + src + "; style-src 'unsafe-inline'; img-src data: blob:; "
                + "base-uri 'none'; form-action 'none'";
    }

    /** A CSP source of an inline script: the SHA-256 of its text as the browser reads it (UTF-8). */
    static String sha256(String script) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(script.getBytes(StandardCharsets.UTF_8));
            return "sha256-" + Base64.getEncoder().encodeToString(digest);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * JSON that may sit in a {@code <script type="application/json">} element: every character
     * the HTML parser could act on ({@code < > &}) and the JavaScript line separators become
     * \\u escapes. They can only occur inside JSON strings, which read the escapes back as the
     * same text.
     */
    static String jsonBlock(String json) {
        StringBuilder out = new StringBuilder(json.length() + 64);
        for (int i = 0; i < json.length(); i++) {
            char c = json.charAt(i);
            switch (c) {
                case '<', '>', '&', '\u2028', '\u2029' -> out.append(String.format("\\u%04x", (int) c));
                default -> out.append(c);
            }
        }
        return out.toString();
    }

    /**
     * Code of ours or of ECharts that may sit inside a script element: no "</script" or "<!--"
     * can end or confuse it (both rewrites are escapes JavaScript reads back as the same text),
     * and line ends as the HTML parser leaves them, so the CSP hash matches what the browser hashes.
     */
    static String inlineScript(String code) {
        return normaliseNewlines(code).replaceAll("(?i)</(script)", "<\\\\/$1").replace("<!--", "\\u003C!--");
    }

    /** Our style sheet inside a style element: it must not end the element early. */
    static String inlineStyle(String css) {
        if (css.toLowerCase(java.util.Locale.ROOT).contains("</style"))
            throw new IllegalStateException("style.css must not contain </style");
        return css;
    }

    /** The HTML parser turns CR LF and lone CR into LF in element text. */
    private static String normaliseNewlines(String s) {
        return s.indexOf('\r') < 0 ? s : s.replace("\r\n", "\n").replace('\r', '\n');
    }
}
