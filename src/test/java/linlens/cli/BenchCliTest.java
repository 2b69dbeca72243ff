package linlens.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import linlens.model.ModelConfig;
import linlens.testing.RealModel;
import linlens.testing.TestModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** linlens bench end to end on the real model: its report and its bad-input handling (no timing asserted). */
@RealModel
class BenchCliTest {
    @TempDir Path dir;

    @Test
    void reportCountsTheForwardPassOperationsAsDocumented() throws Exception {
        Path json = dir.resolve("bench.json");
        var r = CliErrorsTest.run("bench", "--quiet", "--model", TestModels.gemmaPath().toString(), "--tokens", "3,5",
                "--stages", "forward", "--warmup", "0", "--repeats", "1", "--json", json.toString());
        assertEquals(0, r.code(), r.err());
        JsonNode j = new ObjectMapper().readTree(json.toFile());
        assertTrue(j.get("sgemm_peak").get("gflops").asDouble() > 0);
        assertEquals(Files.size(TestModels.gemmaPath()), j.get("stored_weights_bytes").asLong());
        ModelConfig c = TestModels.gemma().config();
        int d = c.dim(), F = c.ffnDim(), H = c.heads(), hd = c.headDim(), qd = H * hd, kvd = c.kvHeads() * hd;
        assertEquals((long) c.vocab() * d + (long) c.layers() * (2L * d * qd + 2L * d * kvd + 3L * d * F),
                j.get("matrix_parameters").asLong());
        JsonNode prompts = j.get("prompts");
        assertEquals(2, prompts.size());
        for (JsonNode p : prompts) {
            long n = p.get("tokens").asLong();
            assertEquals(n, p.get("token_ids").size());
            JsonNode s = p.get("stages").get(0);
            assertEquals("forward", s.get("stage").asText());
            // BENCHMARKS.md: 2·n·(layer weights) + attention 4·H·n²·hd per layer + the last position's logits
            double expected = c.layers() * (2.0 * n * (d * qd + 2.0 * d * kvd + qd * d + 3.0 * d * F) + 4.0 * H * n * n * hd)
                    + 2.0 * d * c.vocab();
            assertEquals(expected, s.get("flops").asDouble(), 0.5, "forward FLOPs for " + n + " tokens");
            assertTrue(s.get("wall_s_min").asDouble() > 0 && s.get("peak_rss_bytes").asLong() > 0 && s.get("peak_heap_bytes").asLong() > 0);
            // the time inside GEMM calls is part of the same (fastest) repeat's wall time
            double gemm = s.get("gemm_s").asDouble();
            assertTrue(gemm > 0 && gemm <= s.get("wall_s_min").asDouble(), "gemm_s " + gemm);
            assertEquals(expected, s.get("gemm_flops").asDouble(), 0.5, "the forward pass's operations are all GEMMs");
            assertEquals(4L * n * d * d, p.get("jacobian_bytes").asLong());
        }
    }

    @Test
    void badInputEndsWithOneLineAndExitCode2() {
        String model = TestModels.gemmaPath().toString();
        var unknown = CliErrorsTest.run("bench", "--model", model, "--stages", "forward,backward");
        assertEquals(2, unknown.code());
        assertEquals("linlens: unknown stage 'backward' (expected one of forward, jacobian, forward_jacobian, svd_decode, topk, topk_last, layers, layers_topk, scan)", unknown.err().strip());
        var tooMany = CliErrorsTest.run("bench", "--model", model, "--tokens", "500");
        assertEquals(2, tooMany.code());
        assertTrue(tooMany.err().strip().startsWith("linlens: --tokens 500 out of range: the prompt has 8 tokens"), tooMany.err());
        assertEquals(1, tooMany.err().strip().lines().count());
        var noFile = CliErrorsTest.run("bench", "--model", model, "--prompt-file", dir.resolve("missing.txt").toString());
        assertEquals(2, noFile.code());
        assertTrue(noFile.err().startsWith("linlens: cannot read --prompt-file"), noFile.err());
    }
}
