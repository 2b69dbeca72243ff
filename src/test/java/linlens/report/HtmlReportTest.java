package linlens.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import linlens.analysis.Decomposition;
import linlens.linear.Precision;
import linlens.model.ForwardPass;
import linlens.model.ForwardTrace;
import linlens.model.MlpPath;
import linlens.model.Progress;
import linlens.model.Prompts;
import linlens.model.Transformer;
import linlens.testing.ReportData;
import linlens.testing.TestModels;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The report's data on the real model: y from the nonlinear forward pass, Σ J_i x_i from the
 * detached Jacobians, pooled heat maps; and a page that needs nothing from the network.
 * (The browser tests in webtest/ check that chromium draws it.)
 */
class HtmlReportTest {
    static Decomposition.Detail<?> detail;
    static ForwardTrace trace;

    @BeforeAll
    static void decompose() {
        Transformer m = TestModels.gemma();
        int[] ids = Prompts.encode(m, "The Golden");
        trace = new ForwardPass(m).run(ids);
        detail = Decomposition.run(m, "The Golden", trace, new Decomposition.Options(Precision.FP32, MlpPath.UP, 2, 3),
                new LinkedHashMap<>(), Progress.NONE);
    }

    @Test
    void scatterPlotsTheForwardPassOutputAgainstTheReconstruction() {
        var s = Figures.reconstruction(detail).series().getFirst();
        assertArrayEquals(trace.y(), s.y());
        assertTrue(Decomposition.relativeError(s.reconstructed(), trace.y()) <= 1e-5);
        assertEquals(s.relativeError(), Decomposition.relativeError(s.reconstructed(), trace.y()), 1e-12);
    }

    @Test
    void scatterAddsTheOrdinaryJacobianWhenItWasComputed() {
        assertEquals(1, Figures.reconstruction(detail).series().size(), "no ordinary series unless asked");
        Transformer m = TestModels.gemma();
        var withOrdinary = Decomposition.run(m, "The Golden", Decomposition.forward(m, trace.ids(), new LinkedHashMap<>(), true),
                new Decomposition.Options(Precision.FP32, MlpPath.UP, 1, 1, true, null), new LinkedHashMap<>(), Progress.NONE);
        var series = Figures.reconstruction(withOrdinary).series();
        assertEquals(List.of("detached Jacobian", "ordinary Jacobian"), series.stream().map(Figures.Scatter::label).toList());
        var ordinary = series.get(1);
        assertArrayEquals(trace.y(), ordinary.y());
        double err = Decomposition.relativeError(ordinary.reconstructed(), trace.y());
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
