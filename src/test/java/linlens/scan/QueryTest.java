package linlens.scan;

import linlens.testing.InProcessCli;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static linlens.scan.ScanTesting.*;
import static org.junit.jupiter.api.Assertions.*;

/** {@code linlens query}: its table, CSV and JSON, and SQL that would touch files refused. */
class QueryTest {
    @TempDir static Path dir;
    static Path out;

    @BeforeAll
    static void scan() throws Exception {
        Path data = Files.writeString(dir.resolve("d.csv"), "prompt,label\nHello there,a\n\"Two, words\",b\n,c\n");
        out = dir.resolve("out");
        InProcessCli.Run r = run("scan", "--model", tinyModel().toString(), "--dataset", data.toString(), "--out", out.toString(), "--quiet");
        assertEquals(0, r.code(), r.err());
    }

    @Test
    void printsAnAlignedTable() {
        InProcessCli.Run r = run("query", out.toString(), "SELECT row_index, label, error, n_tokens FROM results ORDER BY row_index");
        assertEquals(0, r.code(), r.err());
        List<String> lines = r.out().lines().toList();
        assertEquals("row_index  label  error         n_tokens", lines.get(0));
        assertTrue(lines.get(1).startsWith("---------  -----"), lines.get(1));
        assertEquals("2          c      empty prompt  NULL", lines.get(4));
        assertEquals("(3 rows)", lines.get(5));
    }

    @Test
    void writesCsvAndJson() throws Exception {
        Path csv = dir.resolve("q.csv"), json = dir.resolve("q.json");
        InProcessCli.Run c = run("query", out.toString(), "SELECT row_index, prompt, top5_probs FROM results WHERE error IS NULL ORDER BY 1", "--csv", csv.toString());
        assertEquals(0, c.code(), c.err());
        List<String> lines = Files.readAllLines(csv);
        assertEquals("row_index,prompt,top5_probs", lines.get(0));
        assertTrue(lines.get(2).startsWith("1,\"Two, words\",\"["), lines.get(2));
        InProcessCli.Run j = run("query", out.toString(), "SELECT row_index, tokens, predicted_prob FROM results ORDER BY 1", "--json", json.toString());
        assertEquals(0, j.code(), j.err());
        JsonNode a = new ObjectMapper().readTree(json.toFile());
        assertEquals(3, a.size());
        assertTrue(a.get(0).get("tokens").isArray());
        assertTrue(a.get(2).get("tokens").isNull());
        var both = run("query", out.toString(), "SELECT 1", "--csv", csv.toString(), "--json", json.toString());
        assertEquals(2, both.code());
    }

    @Test
    void sqlThatTouchesFilesIsRefused() throws Exception {
        Path target = dir.resolve("stolen.csv");
        for (String sql : List.of(
                "COPY results TO '" + target + "'",
                "COPY (SELECT 1) TO '" + target + "' (FORMAT parquet, USE_TMP_FILE false)",
                "COPY (SELECT 1) TO '" + out.resolve("parts").resolve("part-0-000000.parquet") + "' (FORMAT parquet, USE_TMP_FILE false)",
                "SELECT 1; COPY results TO '" + target + "'",
                "ATTACH '" + dir.resolve("new.duckdb") + "' AS x",
                "EXPORT DATABASE '" + dir.resolve("export") + "'",
                "SELECT * FROM read_csv('/etc/passwd')",
                "SET enable_external_access = true",
                "INSTALL httpfs")) {
            InProcessCli.Run r = run("query", out.toString(), sql);
            assertBadInput(r, "linlens: query: ");
        }
        assertFalse(Files.exists(target));
        assertFalse(Files.exists(dir.resolve("new.duckdb")));
        assertFalse(Files.exists(dir.resolve("export")));
        assertEquals(3, rows(out).size(), "the parts are intact");
    }

    @Test
    void badInput() {
        assertBadInput(run("query", dir.resolve("nothing").toString(), "SELECT 1"), "no such results folder");
        assertBadInput(run("query", out.toString(), "SELEC 1"), "syntax error");
        assertBadInput(run("query", out.toString(), "SELECT nope FROM results"), "nope");
    }
}
