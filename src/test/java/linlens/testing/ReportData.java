package linlens.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;

/** Reads the data a self-contained HTML report carries, after checking that it needs no network. */
public final class ReportData {
    private ReportData() {}

    private static final Pattern DATA = Pattern.compile("<script type=\"application/json\" id=\"linlens-data\">(.*?)</script>", Pattern.DOTALL);
    private static final Pattern REMOTE = Pattern.compile("(src|href)\\s*=\\s*[\"']?(https?:)?//", Pattern.CASE_INSENSITIVE);

    /** The report's sections (and title), as JSON. */
    public static JsonNode of(String html) throws Exception {
        assertTrue(html.startsWith("<!DOCTYPE html>"), "not an HTML page");
        assertTrue(html.contains("echarts"), "ECharts is inlined");
        assertFalse(REMOTE.matcher(html).find(), "the report links to a remote resource");
        assertFalse(html.contains("/*DATA*/") || html.contains("/*ECHARTS*/") || html.contains("<!--TITLE-->"));
        var m = DATA.matcher(html);
        assertTrue(m.find(), "no data element");
        return new ObjectMapper().readTree(m.group(1));
    }
}
