package linlens.report;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import linlens.analysis.Attribution;
import linlens.analysis.Decomposition;
import linlens.analysis.LayerAnalysis;
import linlens.analysis.Steering;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A self-contained HTML report: one file with the styles, the figure code, the ECharts library
 * and the data inlined, so it opens offline. The data is a map of sections, each one analysis's
 * JSON-able result under a key; {@code figures.js} has one renderer per key and draws the
 * sections present. A new analysis adds its record with {@link #add} and its renderer there.
 */
public final class HtmlReport {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Map<String, Object> data = new LinkedHashMap<>();

    public HtmlReport(String title) {
        data.put("title", title);
        data.put("generated", Instant.now().truncatedTo(ChronoUnit.SECONDS).toString());
    }

    /** The report of one decomposition ({@link Figures#sections}). */
    public static HtmlReport of(Decomposition.Detail<?> d) {
        HtmlReport r = new HtmlReport("Linear Lens: " + d.result().prompt());
        Figures.sections(d).forEach(r::add);
        return r;
    }

    /** The report of a layer-by-layer analysis (paper figures 5 and 6): section "layers". */
    public static HtmlReport of(LayerAnalysis.Result r) {
        return new HtmlReport("Linear Lens layers: " + r.prompt()).add("layers", r);
    }

    /** The report of an attribution: section "attribution". */
    public static HtmlReport of(Attribution.Result r) {
        return new HtmlReport("Linear Lens attribution: " + r.prompt()).add("attribution", r);
    }

    /** The report of a steering run: section "steering". */
    public static HtmlReport of(Steering.Result r) {
        return new HtmlReport("Linear Lens steering: " + r.sourcePrompt() + " → " + r.targetPrompt()).add("steering", r);
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
        return WebAssets.own("report.html")
                .replace("<!--TITLE-->", escapeHtml(String.valueOf(data.get("title"))))
                .replace("/*STYLE*/", WebAssets.own("style.css"))
                .replace("/*ECHARTS*/", inlineScript(WebAssets.echarts()))
                .replace("/*FIGURES*/", inlineScript(WebAssets.own("figures.js")))
                .replace("/*DATA*/", inlineScript(json));
    }

    /**
     * Text that may sit inside a script element: no "</script" or "<!--" can end or confuse it.
     * Both rewrites are escapes that JSON and JavaScript strings read back as the same text.
     */
    static String inlineScript(String code) {
        return code.replaceAll("(?i)</(script)", "<\\\\/$1").replace("<!--", "\\u003C!--");
    }

    static String escapeHtml(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
