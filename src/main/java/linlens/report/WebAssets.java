package linlens.report;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The browser code shipped in the jar: our pages, styles and figure code under
 * {@code linlens/web/}, and the ECharts library from its WebJar. Read once, cached.
 */
public final class WebAssets {
    private WebAssets() {}

    private static final ConcurrentHashMap<String, String> CACHE = new ConcurrentHashMap<>();

    /** A file of ours, e.g. {@code figures.js}. */
    public static String own(String name) { return CACHE.computeIfAbsent("linlens/web/" + name, WebAssets::read); }

    /** The minified ECharts bundle (all chart types, canvas and SVG renderers). */
    public static String echarts() {
        return CACHE.computeIfAbsent("echarts", k -> read("META-INF/resources/webjars/echarts/" + echartsVersion() + "/echarts.min.js"));
    }

    public static String echartsVersion() {
        try (InputStream in = resource("META-INF/maven/org.webjars/echarts/pom.properties")) {
            Properties p = new Properties();
            p.load(in);
            return p.getProperty("version");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String read(String path) {
        try (InputStream in = resource(path)) {
            return new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static InputStream resource(String path) {
        InputStream in = WebAssets.class.getClassLoader().getResourceAsStream(path);
        if (in == null) throw new IllegalStateException("missing resource " + path + " (broken build?)");
        return in;
    }
}
