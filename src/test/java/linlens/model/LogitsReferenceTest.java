package linlens.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import linlens.testing.RealModel;
import linlens.testing.TestModels;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Our forward pass against independent implementations on the same GGUF file
 * (reference/make_logits.py): llama.cpp on the Q4_K_M file, llama.cpp on an F32 copy of it
 * (the same weight values, fp32 matmuls), and a PyTorch fp64 implementation.
 *
 * <p>Tolerances. We compute exactly dequantized weights in fp64, as the torch reference does, so
 * the two agree to rounding. llama.cpp's CPU path quantizes activations to 8 bits inside
 * quantized matmuls, which moves logits by up to ~1.4 on these prompts (see max_abs_diff in the
 * fixture); on its F32 copy that noise is gone and differences are fp32 rounding (~1e-2).
 */
@RealModel
class LogitsReferenceTest {
    static final double TORCH_TOL = 1e-4, LLAMA_F32_TOL = 0.03, LLAMA_Q_TOL = 2.0;
    static JsonNode fixture;

    @BeforeAll
    static void load() throws IOException {
        try (InputStream in = LogitsReferenceTest.class.getResourceAsStream("/reference/gemma-3-270m/logits.json")) {
            assertNotNull(in, "fixture reference/gemma-3-270m/logits.json missing");
            fixture = new ObjectMapper().readTree(in);
        }
        assertEquals(TestModels.SHA256, fixture.get("model_sha256").asText());
    }

    /** Max |ours − theirs| over the ids the source recorded (its top 100 and the shared probes). */
    static double maxDiff(double[] ours, JsonNode src, JsonNode probes) {
        double m = 0;
        for (JsonNode p : src.get("top100")) m = Math.max(m, Math.abs(ours[p.get(0).asInt()] - p.get(1).asDouble()));
        JsonNode pl = src.get("probe_logits");
        for (int i = 0; i < probes.size(); i++) m = Math.max(m, Math.abs(ours[probes.get(i).asInt()] - pl.get(i).asDouble()));
        return m;
    }

    static int argmax(double[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
        return best;
    }

    @TestFactory
    List<DynamicTest> logitsMatchTheReferences() {
        Transformer m = TestModels.gemma();
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode c : fixture.get("cases")) {
            String prompt = c.get("prompt").asText();
            tests.add(DynamicTest.dynamicTest("[" + prompt.replace("\n", "\\n") + "]", () -> {
                int[] ids = m.tokenizer().encode(prompt); // the fixture includes the empty prompt (BOS alone)
                int[] expected = new ObjectMapper().convertValue(c.get("ids"), int[].class);
                assertArrayEquals(expected, ids, "token ids differ from llama.cpp");
                double[] lg = new ForwardPass(m).run(ids).logits();
                JsonNode probes = fixture.get("probe_ids");
                double dTorch = maxDiff(lg, c.get("torch_fp64"), probes);
                double dF32 = maxDiff(lg, c.get("llama_cpp_f32"), probes);
                double dQ = maxDiff(lg, c.get("llama_cpp"), probes);
                System.out.printf("%-40s torch %.2e  llama.cpp-f32 %.2e  llama.cpp-q %.3f  argmax ours %d torch %d f32 %d q %d%n",
                        prompt.replace("\n", "\\n").substring(0, Math.min(40, prompt.length())), dTorch, dF32, dQ, argmax(lg),
                        c.get("torch_fp64").get("argmax").asInt(), c.get("llama_cpp_f32").get("argmax").asInt(),
                        c.get("llama_cpp").get("argmax").asInt());
                assertTrue(dTorch <= TORCH_TOL, "vs torch fp64: " + dTorch);
                assertTrue(dF32 <= LLAMA_F32_TOL, "vs llama.cpp f32: " + dF32);
                assertTrue(dQ <= LLAMA_Q_TOL, "vs llama.cpp Q4_K_M: " + dQ);
                assertEquals(c.get("torch_fp64").get("argmax").asInt(), argmax(lg), "argmax vs torch");
                assertEquals(c.get("llama_cpp_f32").get("argmax").asInt(), argmax(lg), "argmax vs llama.cpp f32");
                // llama.cpp's quantized-activation path may flip near ties, but never beyond our top 3
                int q = c.get("llama_cpp").get("argmax").asInt();
                int above = 0;
                for (double v : lg) if (v > lg[q]) above++;
                assertTrue(above < 3, "llama.cpp Q4_K_M argmax " + q + " is ranked " + (above + 1) + " by us");
            }));
        }
        return tests;
    }
}
