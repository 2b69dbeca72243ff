package linlens.cli;

import linlens.analysis.ArraySink;
import linlens.analysis.ConceptScores;
import linlens.analysis.ConceptSpace;
import linlens.analysis.PromptContext;
import linlens.concepts.ConceptLibrary;
import linlens.linear.Precision;
import linlens.model.MlpPath;
import linlens.model.ModelLoader;
import linlens.model.Progress;
import linlens.model.Transformer;
import linlens.testing.TinyModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.DriverManager;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@code linlens concepts} and the {@code concept} analysis from the command line, in child
 * processes whose made concepts live in a temporary folder (LINLENS_CONCEPTS), on the tiny Llama 3
 * fixture: make, list, show, score one prompt, scan a dataset for it (rows equal to the analysis
 * run directly), and bad input as one line with exit 2.
 */
class ConceptsCliTest {
    @TempDir Path dir;

    private CliProcessTest.Exit run(String... args) throws Exception {
        var pb = new ProcessBuilder(CliProcessTest.command(List.of(), args));
        pb.environment().put("LINLENS_CONCEPTS", dir.resolve("concepts").toString());
        return CliProcessTest.runChild(pb);
    }

    @Test
    void makeListShowScoreAndScan() throws Exception {
        Path model = TinyModels.named("llama3").gguf();
        Transformer m = ModelLoader.load(model);
        List<String> words = TinyModels.singleTokenWords(m, 4);
        var made = run("concepts", "make", "animals", "--words", String.join(",", words.subList(0, 3)), "--versus-words", words.get(3),
                "--source", "a test");
        assertEquals(0, made.code(), made.err());
        assertTrue(Files.isRegularFile(dir.resolve("concepts/animals.json")));
        var list = run("concepts", "list");
        assertEquals(0, list.code(), list.err());
        for (String n : ConceptLibrary.BUILT_IN) assertTrue(list.out().contains(n), list.out());
        assertTrue(list.out().contains("animals"), list.out());
        var show = run("concepts", "show", "animals", "--model", model.toString(), "--quiet");
        assertEquals(0, show.code(), show.err());
        assertTrue(show.out().contains("subspace rank"), show.out());

        Path json = dir.resolve("c.json");
        var one = run("concept", "--model", model.toString(), "--concept", "animals", "--prompt", "hello world", "--k", "4",
                "--json", json.toString(), "--quiet");
        assertEquals(0, one.code(), one.err());
        assertTrue(one.out().contains("By position"), one.out());
        var doc = new com.fasterxml.jackson.databind.ObjectMapper().readTree(json.toFile());
        assertTrue(doc.path("attribution").path("relative_error").asDouble() <= 1e-5);
        assertEquals("animals", doc.path("concept").path("name").asText());

        Path data = dir.resolve("prompts.txt");
        Files.writeString(data, "hello world\nthe cat sat\n\n" + "a ".repeat(300) + "\n");
        Path out = dir.resolve("scan");
        var scan = run("concepts", "scan", "--model", model.toString(), "--concept", "animals", "--dataset", data.toString(), "--out",
                out.toString(), "--k", "4", "--max-tokens", "64", "--quiet");
        assertEquals(0, scan.code(), scan.err());
        // the scan's rows are the analysis run directly, value for value
        var lib = new ConceptLibrary(dir.resolve("concepts"));
        ConceptSpace space = ConceptSpace.of(lib.resolve("animals"), m);
        List<String> errors = new ArrayList<>();
        try (var c = DriverManager.getConnection("jdbc:duckdb:"); var s = c.createStatement();
             var r = s.executeQuery("SELECT row_index, prompt, error, concept, concept_logit, concept_share_last, concept_attribution, concept_chance "
                     + "FROM read_parquet('" + out.resolve("parts") + "/part-*.parquet') ORDER BY row_index")) {
            int rows = 0;
            while (r.next()) {
                rows++;
                if (r.getString("error") != null) {
                    errors.add(r.getString("error"));
                    continue;
                }
                assertEquals("animals", r.getString("concept"));
                var direct = new ConceptScores().run(PromptContext.of(m, r.getString("prompt"), -1), space,
                        new ConceptScores.Options("animals", 4, false, false, 0.5, Precision.FP32, MlpPath.UP), Progress.NONE);
                assertEquals(direct.logit(), r.getDouble("concept_logit"), 0.0);
                assertEquals(direct.spectral().lastPosition().share(), r.getDouble("concept_share_last"), 0.0);
                assertEquals(space.chance(), r.getDouble("concept_chance"), 0.0);
                Object[] attr = (Object[]) r.getArray("concept_attribution").getArray();
                assertEquals(direct.attribution().positions().size(), attr.length);
                for (int t = 0; t < attr.length; t++)
                    assertEquals(direct.attribution().positions().get(t).value(), ((Number) attr[t]).doubleValue(), 0.0);
            }
            assertEquals(4, rows);
        }
        assertEquals(2, errors.size(), errors.toString());  // the empty line and the over-long prompt
        assertNotNull(ArraySink.NONE);
    }

    @Test
    void badConceptsAreOneLineWithExitTwo() throws Exception {
        Path model = TinyModels.named("llama3").gguf();
        CliProcessTest.assertOneLine(run("concept", "--model", model.toString(), "--concept", "nope"), 2, "unknown concept \"nope\"");
        CliProcessTest.assertOneLine(run("concept", "--model", model.toString(), "--concept", "../../etc/passwd"), 2, "lowercase letters");
        CliProcessTest.assertOneLine(run("concepts", "make", "Bad Name", "--words", "x"), 2, "lowercase letters");
        CliProcessTest.assertOneLine(run("concepts", "make", "gender", "--words", "x"), 2, "built in");
        CliProcessTest.assertOneLine(run("concepts", "make", "empty"), 2, "has no words");
        Files.writeString(dir.resolve("bad.json"), "{\"name\": \"x\", \"words\": [\"a\"], \"exec\": true}");
        CliProcessTest.assertOneLine(run("concepts", "make", "x", "--from", dir.resolve("bad.json").toString()), 2, "is not a concept file");
        CliProcessTest.assertOneLine(run("concepts", "show", "nope"), 2, "unknown concept");
        CliProcessTest.assertOneLine(run("concepts", "scan", "--model", model.toString(), "--dataset", "x.txt", "--out",
                dir.resolve("o").toString()), 2, "--concept");
        CliProcessTest.assertOneLine(run("concept", "--model", model.toString(), "--fraction", "1.5"), 2, "fraction");
        assertFalse(Files.exists(dir.resolve("concepts/Bad Name.json")));
    }
}
