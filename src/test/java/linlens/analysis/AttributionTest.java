package linlens.analysis;

import com.fasterxml.jackson.databind.ObjectMapper;
import linlens.linear.Precision;
import linlens.model.ForwardPass;
import linlens.model.ForwardTrace;
import linlens.model.MlpPath;
import linlens.model.Progress;
import linlens.model.Transformer;
import linlens.testing.RealModel;
import linlens.testing.TestModels;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** Exact attribution: contributions sum to the logit and match autograd's split (reference/make_jacobians.py). */
@RealModel
class AttributionTest {
    static final String PROMPT = "The bridge out of Marin is the";

    @Test
    void contributionsSumToTheLogitAndMatchAutograd() throws Exception {
        Transformer m = TestModels.gemma();
        ForwardTrace tr = new ForwardPass(m).run(m.tokenizer().encode(PROMPT));
        var meta = new ObjectMapper().readTree(Path.of(getClass().getResource(
                "/reference/gemma-3-270m/jacobian/bridge_marin/meta.json").toURI()).toFile());
        int token = meta.get("top_token").asInt();
        for (Precision p : Precision.values()) {
            var a = new Attribution().run(PromptContext.of(m, PROMPT, tr), new Attribution.Options(token, null, true, p, MlpPath.UP),
                    Progress.NONE, ArraySink.NONE).attribution();
            double bound = p == Precision.FP32 ? 1e-5 : 1e-12;
            assertEquals(meta.get("top_logit").asDouble(), a.logit(), 1e-9);
            assertTrue(a.relativeError() <= bound, p + ": Σ contributions vs logit " + a.relativeError());
            var ref = meta.get("top_logit_split_by_position");
            for (int t = 0; t < ref.size(); t++)
                assertEquals(ref.get(t).asDouble(), a.contributions().get(t).value(), bound * 20, p + " position " + t);
            // components: the embedding's direct path plus every branch, each split by position, sums to the logit
            double total = a.embeddingDirect();
            for (var c : a.components()) {
                double s = 0;
                for (double v : c.perPosition()) s += v;
                assertEquals(c.total(), s, 1e-9);
                total += c.total();
            }
            assertEquals(a.logit(), total, bound * 20 * Math.abs(a.logit()), p + ": components sum");
            assertEquals(2 * m.config().layers(), a.components().size());
        }
    }

    @Test
    void logitDifferenceAgainstAnotherToken() {
        Transformer m = TestModels.gemma();
        ForwardTrace tr = new ForwardPass(m).run(m.tokenizer().encode(PROMPT));
        int only = 1186, first = 1171;
        var a = new Attribution().run(PromptContext.of(m, PROMPT, tr), new Attribution.Options(only, first, false, Precision.FP64, MlpPath.UP),
                Progress.NONE, ArraySink.NONE).attribution();
        assertEquals(tr.logits()[only] - tr.logits()[first], a.logit(), 1e-12);
        assertEquals(a.logit(), a.sum(), 1e-10);
    }
}
