package linlens.spark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import linlens.concepts.Concept;
import linlens.concepts.ConceptLibrary;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;
import java.util.Map;

import static linlens.spark.SparkTesting.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * 'linlens scan --engine spark --master local[2]': the local engine's rows, bit for bit (a made
 * concept's columns too), and a folder 'linlens query' reads.
 */
@Tag("spark")
class SparkLocalScanTest {
    @TempDir Path dir;

    @Test
    void localTwoGivesTheLocalEnginesRows() throws Exception {
        Path data = dataset(dir), out = dir.resolve("spark");
        makeConcept();
        var expected = localRows(dir, data);
        // a file: URI is a folder of this machine too
        Run r = cli(concat(new String[]{"scan", "--engine", "spark", "--master", "local[2]", "--model", MODEL.toString(),
                "--dataset", data.toString(), "--out", out.toUri().toString(), "--threads", "1", "--batch", "4", "--quiet"}, ANALYSES));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("scanned 12 prompts (3 with an error); 12 rows in " + out), r.out());
        var actual = rows(out);
        assertSameRows(expected, actual);
        assertEquals("empty prompt", actual.get(9L).get("error VARCHAR"));
        assertEquals("lone \uFFFD surrogate", actual.get(11L).get("prompt VARCHAR"));
        assertEquals(CONCEPT, actual.get(0L).get("concept VARCHAR"));
        assertNotNull(actual.get(0L).get("concept_logit DOUBLE"));

        // parts of at most --batch rows, committed by Spark (its _SUCCESS marker); scan.json says which engine
        try (var parts = Files.list(out.resolve("parts"))) {
            assertEquals(3, parts.filter(p -> p.getFileName().toString().matches("part-.*\\.parquet")).count());
        }
        assertTrue(Files.exists(out.resolve("parts/_SUCCESS")));
        JsonNode manifest = new ObjectMapper().readTree(out.resolve("scan.json").toFile());
        assertEquals("spark", manifest.path("engine").path("name").asText());
        assertEquals(1, manifest.path("options").path("threads").asInt());
        JsonNode local = new ObjectMapper().readTree(dir.resolve("local/scan.json").toFile());
        assertEquals(local.path("columns"), manifest.path("columns"));
        assertEquals(local.path("options").path("concept_sha256"), manifest.path("options").path("concept_sha256"));

        // the results view: 'linlens query' and 'scan-report' read the folder as the local engine's
        Run q = cli("query", out.toString(), "SELECT count(*) AS n, count(error) AS errors FROM results", "--csv", dir.resolve("q.csv").toString());
        assertEquals(0, q.code(), q.err());
        assertEquals("n,errors\n12,3\n", Files.readString(dir.resolve("q.csv")).replace("\r\n", "\n"));
        Map<Long, Map<String, Object>> view = query("ATTACH '" + out.resolve("results.duckdb") + "' AS r (READ_ONLY); SELECT * FROM r.results ORDER BY row_index");
        assertEquals(actual, view);
        Run report = cli("scan-report", out.toString(), "--html", dir.resolve("report.html").toString());
        assertEquals(0, report.code(), report.err());
    }

    @Test
    void aConceptOtherThanTheRecordedOneFailsTheTask() {
        Concept c = new Concept("spark-mismatch", null, null, null, List.of("cat"), List.of(), List.of(), List.of(), null);
        var task = new ScanTask(MODEL.toString(), "0".repeat(64), List.of("predict", "concept"), 3, 24, 1, List.of(),
                c.name(), ConceptLibrary.toJson(c), "f".repeat(64));
        try {
            var e = assertThrows(IllegalStateException.class, () -> task.call(Collections.emptyIterator()));
            assertTrue(e.getMessage().startsWith("concept spark-mismatch on this executor has SHA-256 " + ConceptLibrary.fingerprint(c)
                    + ", the scan's driver recorded " + "f".repeat(64)), e.getMessage());
        } finally {
            ConceptLibrary.forgetSent(c);
        }
    }

    @Test
    void aFolderInUseIsRefusedBeforeSparkStarts() throws Exception {
        Path data = dataset(dir), out = Files.createDirectories(dir.resolve("busy"));
        Files.writeString(out.resolve("x"), "x");
        Run r = cli("scan", "--engine", "spark", "--master", "local[2]", "--model", MODEL.toString(), "--dataset", data.toString(),
                "--out", out.toString(), "--quiet");
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().startsWith("linlens: --out " + out + " is not empty"), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
    }
}
