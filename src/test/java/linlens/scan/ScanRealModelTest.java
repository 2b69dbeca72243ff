package linlens.scan;

import linlens.testing.InProcessCli;
import linlens.analysis.PromptContext;
import linlens.testing.RealModel;
import linlens.testing.TestModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static linlens.scan.ScanTesting.*;
import static org.junit.jupiter.api.Assertions.*;

/** A scan of five prompts on the demo model with decompose and attribute: exact reconstructions and attributions. */
@RealModel
class ScanRealModelTest {
    @TempDir Path dir;

    @Test
    void fivePromptsDecomposedAndAttributed() throws Exception {
        List<String> prompts = List.of("The bridge out of Marin is the", "The capital of France is", "Water boils at a temperature of",
                "The quick brown fox jumps over the lazy", "Once upon a time, there lived a");
        Path data = Files.writeString(dir.resolve("prompts.txt"), String.join("\n", prompts) + "\n");
        Path out = dir.resolve("out");
        InProcessCli.Run r = run("scan", "--model", TestModels.gemmaPath().toString(), "--dataset", data.toString(), "--out", out.toString(),
                "--analyses", "decompose,attribute", "--k", "2", "--quiet");
        assertEquals(0, r.code(), r.err());
        var rows = rows(out);
        assertEquals(5, rows.size());
        for (int i = 0; i < prompts.size(); i++) {
            Map<String, Object> row = rows.get((long) i);
            assertNull(row.get("error"));
            assertEquals(prompts.get(i), row.get("prompt"));
            assertTrue((Double) row.get("reconstruction_error") < 1e-5, "reconstruction " + row.get("reconstruction_error"));
            assertTrue((Double) row.get("attribution_error") < 1e-4, "attribution " + row.get("attribution_error"));
            assertEquals((Integer) row.get("n_tokens"), ((List<?>) row.get("attribution")).size());
            assertEquals(2, ((List<?>) row.get("combined_sigma")).size());
        }
        var ctx = PromptContext.of(TestModels.gemma(), prompts.getFirst(), -1);
        assertEquals(ctx.prediction().tokenId(), rows.get(0L).get("predicted_token_id"));
        assertEquals(ctx.prediction().text(), rows.get(0L).get("predicted_token"));
    }
}
