package linlens.scan;

import linlens.testing.InProcessCli;
import linlens.analysis.Attribution;
import linlens.analysis.Decomposition;
import linlens.analysis.LayerAnalysis;
import linlens.analysis.NextToken;
import linlens.analysis.PromptContext;
import linlens.analysis.ArraySink;
import linlens.analysis.Figures;
import linlens.linear.Precision;
import linlens.linear.Site;
import linlens.model.MlpPath;
import linlens.model.ModelLoader;
import linlens.model.Progress;
import linlens.model.Transformer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static linlens.scan.ScanTesting.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * A scan of a few prompts on a tiny model, row by row against the single-prompt analyses' own
 * results (the same numbers, to the bit), and the folder's refusals.
 */
class DatasetScanTest {
    @TempDir Path dir;

    static final List<String> PROMPTS = List.of("The bridge out of Marin is the", "Hello world", "A cat sat on the",
            "Once upon a time", "1 2 3 4", "Paris is in");

    private Path dataset() throws Exception {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < PROMPTS.size(); i++) b.append("{\"prompt\": \"").append(PROMPTS.get(i)).append("\", \"id\": ").append(i).append("}\n");
        b.append("{\"prompt\": \"\"}\n");
        b.append("{\"prompt\": \"").append("a very long prompt that has far more tokens than the limit").append("\"}\n");
        return Files.writeString(dir.resolve("d.jsonl"), b.toString());
    }

    @Test
    void rowsAreTheAnalysesOwnResults() throws Exception {
        Path data = dataset(), out = dir.resolve("out");
        InProcessCli.Run r = run("scan", "--model", tinyModel().toString(), "--dataset", data.toString(), "--out", out.toString(),
                "--analyses", "decompose,attribute,layers", "--k", "3", "--max-tokens", "24", "--batch", "3", "--quiet");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("scanned 8 prompts (2 with an error)"), r.out());
        assertTrue(Files.isRegularFile(out.resolve("scan.json")));
        assertEquals(3, Files.list(out.resolve("parts")).count(), "8 rows in parts of 3");
        // the view in results.duckdb reads the same rows as the parts
        var rows = rows(out);
        assertEquals(rows, query("ATTACH '" + out.resolve("results.duckdb") + "' AS r (READ_ONLY); SELECT * FROM r.results ORDER BY row_index"));
        assertEquals(8, rows.size());
        assertEquals("empty prompt", rows.get(6L).get("error"));
        assertTrue(((String) rows.get(7L).get("error")).contains("more than --max-tokens 24"), (String) rows.get(7L).get("error"));
        assertNull(rows.get(6L).get("n_tokens"));

        Transformer m = ModelLoader.load(tinyModel());
        for (int i = 0; i < PROMPTS.size(); i++) {
            Map<String, Object> row = rows.get((long) i);
            assertNull(row.get("error"));
            assertEquals(String.valueOf(i), row.get("id"));
            PromptContext ctx = PromptContext.of(m, PROMPTS.get(i), -1);
            assertEquals(ctx.n(), row.get("n_tokens"));
            assertEquals(ctx.tokens().stream().map(t -> t.text()).toList(), row.get("tokens"));

            var p = ((Figures.Forward) new NextToken().run(ctx, new NextToken.Options(5), Progress.NONE, ArraySink.NONE).document()).prediction();
            assertEquals(p.tokenId(), row.get("predicted_token_id"));
            assertEquals(p.probability(), row.get("predicted_prob"));
            assertEquals(p.top().stream().map(c -> c.probability()).toList(), row.get("top5_probs"));

            var d = (Decomposition.Result) new Decomposition().run(ctx, Decomposition.Options.matrixFree(Precision.FP32, MlpPath.UP, 3, 1, 3),
                    Progress.NONE, ArraySink.NONE).document();
            assertEquals(d.reconstruction().relativeError(), row.get("reconstruction_error"));
            assertEquals(doubles(d.svdCombined().singularValues()), row.get("combined_sigma"));
            assertEquals(d.svdCombined().components().stream().map(c -> c.uTokens().getFirst()).toList(), row.get("combined_u_tokens"));
            assertEquals(d.svdCombined().components().stream().map(c -> c.vTokens().getFirst()).toList(), row.get("combined_v_tokens"));
            assertEquals(doubles(d.svd().getFirst().singularValues()), row.get("last_sigma"));
            assertEquals(d.svd().getFirst().components().stream().map(c -> c.uTokens().getFirst()).toList(), row.get("last_u_tokens"));

            var a = new Attribution().run(ctx, new Attribution.Options(null, null, null, null, false, Precision.FP32, MlpPath.UP),
                    Progress.NONE, ArraySink.NONE).attribution();
            assertEquals(a.contributions().stream().map(Attribution.Contribution::value).toList(), row.get("attribution"));
            assertEquals(a.relativeError(), row.get("attribution_error"));

            int layers = m.config().layers();
            int[] all = java.util.stream.IntStream.range(0, layers).toArray();
            var l = new LayerAnalysis().run(ctx, new LayerAnalysis.Options(all, List.of(Site.LAYER), Precision.FP32, MlpPath.UP, 1, 1).matrixFree(1),
                    Progress.NONE, ArraySink.NONE);
            List<Integer> ids = l.sites().stream().map(s -> s.cumulative().tokensCombined().components().getFirst().uTokenIds().getFirst()).toList();
            assertEquals(ids, row.get("layer_top_token_ids"));
            assertEquals(ids.contains(p.tokenId()) ? ids.indexOf(p.tokenId()) : null, row.get("first_prediction_layer"));
        }
    }

    @Test
    void theFolderIsRefusedUnlessResumedWithTheSameScan() throws Exception {
        Path data = dataset(), out = dir.resolve("out");
        String model = tinyModel().toString();
        assertEquals(0, run("scan", "--model", model, "--dataset", data.toString(), "--out", out.toString(), "--limit", "2", "--quiet").code());
        assertBadInput(run("scan", "--model", model, "--dataset", data.toString(), "--out", out.toString(), "--limit", "2", "--quiet"),
                "add --resume");
        assertBadInput(run("scan", "--model", model, "--dataset", data.toString(), "--out", out.toString(), "--limit", "3", "--resume", "--quiet"),
                "holds another scan");
        Path otherModel = TinyModels_gemma();
        assertBadInput(run("scan", "--model", otherModel.toString(), "--dataset", data.toString(), "--out", out.toString(), "--limit", "2",
                "--resume", "--quiet"), "another model");
        // the same scan resumed: nothing left to do, the rows stay
        InProcessCli.Run again = run("scan", "--model", model, "--dataset", data.toString(), "--out", out.toString(), "--limit", "2", "--resume", "--quiet");
        assertEquals(0, again.code(), again.err());
        assertTrue(again.out().contains("scanned 0 prompts"), again.out());
        assertEquals(2, rows(out).size());

        Files.writeString(dir.resolve("stray"), "x");
        assertBadInput(run("scan", "--model", model, "--dataset", data.toString(), "--out", dir.toString(), "--quiet"), "add --resume");
        assertBadInput(run("scan", "--model", model, "--dataset", dir.resolve("missing.jsonl").toString(), "--out", dir.resolve("o2").toString()),
                "dataset file not found");
        assertBadInput(run("scan", "--model", model, "--dataset", data.toString(), "--out", dir.resolve("o3").toString(), "--shard", "2/2"),
                "--shard '2/2'");
        assertBadInput(run("scan", "--model", model, "--dataset", data.toString(), "--out", dir.resolve("o3").toString(), "--analyses", "x"),
                "unknown analysis 'x'");
        assertBadInput(run("scan", "--model", model, "--dataset", data.toString(), "--out", dir.resolve("o3").toString(), "--k", "100000"),
                "--k 100000 out of range");
        assertBadInput(run("scan", "--model", model, "--dataset", data.toString(), "--out", data.toString()), "not a folder");
        assertFalse(Files.exists(dir.resolve("o3")), "nothing written for a refused scan");
    }

    private static Path TinyModels_gemma() { return linlens.testing.TinyModels.named("gemma3").gguf(); }

    @Test
    void shardsInOneFolderMakeEveryRowOnce() throws Exception {
        Path data = dataset(), out = dir.resolve("out");
        String model = tinyModel().toString();
        for (String shard : List.of("1/3", "0/3", "2/3")) {
            InProcessCli.Run r = run("scan", "--model", model, "--dataset", data.toString(), "--out", out.toString(), "--shard", shard,
                    "--sample", "5", "--seed", "7", "--analyses", "predict", "--resume", "--quiet");
            assertEquals(0, r.code(), r.err());
        }
        var rows = rows(out);
        assertEquals(5, rows.size());
        assertEquals(java.util.Arrays.stream(RowSelection.of(8, null, 5L, 7, 0, 1).indexes()).boxed().toList(), List.copyOf(rows.keySet()));
        assertTrue(Files.list(out.resolve("parts")).allMatch(p -> p.getFileName().toString().matches("part-[012]-000000\\.parquet")));
    }
}
