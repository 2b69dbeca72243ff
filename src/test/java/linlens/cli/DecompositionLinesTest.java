package linlens.cli;

import linlens.analysis.ArraySink;
import linlens.analysis.Decomposition;
import linlens.analysis.PromptContext;
import linlens.linear.Precision;
import linlens.model.MlpPath;
import linlens.model.ModelLoader;
import linlens.model.Progress;
import linlens.model.Transformer;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Each position's top_columns and top_rows are lines of that position's own J_t, also when more
 * components are asked for than J_t has (the library does not refuse it; the CLI does): they once
 * were sliced at t·K from all positions' lines, so position 0 got position 1's columns.
 */
class DecompositionLinesTest {
    static final Transformer TINY = ModelLoader.load(Path.of(CliHardeningTest.TINY));

    @Test
    void linesBelongToTheirPositionEvenAboveTheWidth() {
        int d = TINY.config().dim();
        for (int components : new int[]{3, d, d + 8}) check(components, d);
    }

    private static void check(int components, int d) {
        int[] ids = TINY.tokenizer().encode("hello world");
        var detail = new Decomposition().run(PromptContext.of(TINY, "hello world", ids, -1),
                new Decomposition.Options(Precision.FP64, MlpPath.UP, components, 2), Progress.NONE, ArraySink.NONE);
        double[] jac = (double[]) detail.jacobian();
        int n = ids.length, expected = Math.min(components, d);
        List<Decomposition.PositionSvd> svd = detail.result().svd();
        assertEquals(n, svd.size());
        for (int t = 0; t < n; t++) {
            var s = svd.get(t);
            assertEquals(expected, s.topColumns().size(), "position " + t + " columns, components " + components);
            assertEquals(expected, s.topRows().size(), "position " + t + " rows, components " + components);
            assertEquals(expected, s.components().size());
            Set<Integer> seen = new HashSet<>();
            double previous = Double.POSITIVE_INFINITY;
            for (var line : s.topColumns()) {
                assertTrue(seen.add(line.index()), "column " + line.index() + " twice at position " + t);
                double norm = 0;
                for (int r = 0; r < d; r++) norm += jac[t * d * d + r * d + line.index()] * jac[t * d * d + r * d + line.index()];
                assertEquals(Math.sqrt(norm), line.norm(), 1e-12 * Math.sqrt(norm), "column norm of J_" + t);
                assertTrue(line.norm() <= previous, "descending");
                previous = line.norm();
            }
            seen.clear();
            for (var line : s.topRows()) {
                assertTrue(seen.add(line.index()), "row " + line.index() + " twice at position " + t);
                double norm = 0;
                for (int c = 0; c < d; c++) norm += jac[t * d * d + line.index() * d + c] * jac[t * d * d + line.index() * d + c];
                assertEquals(Math.sqrt(norm), line.norm(), 1e-12 * Math.sqrt(norm), "row norm of J_" + t);
            }
        }
    }
}
