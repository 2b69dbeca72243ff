package linlens.scan;

import linlens.model.InputException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** The dataset readers on good and hostile files: every row once, bad rows as rows with their error. */
class DatasetFileTest {
    @TempDir Path dir;

    static List<DatasetRow> rows(DatasetFile f) throws Exception {
        List<DatasetRow> out = new ArrayList<>();
        f.read(out::add);
        assertEquals(f.rows(), out.size(), "the first pass counts what the second reads");
        for (int i = 0; i < out.size(); i++) assertEquals(i, out.get(i).index());
        return out;
    }

    private Path write(String name, String text) throws Exception {
        return Files.writeString(dir.resolve(name), text, StandardCharsets.UTF_8);
    }

    private static DatasetFile open(Path p, String column) { return DatasetFile.open(p, column, ScanSchema.reserved()); }

    @Test
    void jsonLinesKeepsEveryOtherFieldAsTextAndRecordsBadLines() throws Exception {
        Path p = write("d.jsonl", """
                {"prompt": "one", "id": 7, "tags": ["a", "b"], "error": "theirs"}
                {"prompt": "two", "lang": "en", "id": null}
                {"id": 3}
                {"prompt": 5}
                not json
                [1, 2]
                {"prompt": "dup", "prompt": "dup"}
                {"prompt": "a"} trailing
                
                {"prompt": "\\ud800 lone"}
                {"prompt": "last, no newline"}""");
        DatasetFile f = open(p, null);
        assertEquals(DatasetFile.Format.JSONL, f.format());
        // "error" is one of the scan's own columns: renamed
        assertEquals(List.of("id", "tags", "input_error", "lang"), f.columnNames());
        List<DatasetRow> r = rows(f);
        assertEquals(11, r.size());
        assertEquals("one", r.get(0).prompt());
        assertEquals(Map.of("id", "7", "tags", "[\"a\",\"b\"]", "input_error", "theirs"), r.get(0).columns());
        assertNull(r.get(0).error());
        assertEquals(Map.of("lang", "en"), r.get(1).columns());
        assertEquals("no \"prompt\" field", r.get(2).error());
        assertEquals("\"prompt\" is not a string", r.get(3).error());
        assertTrue(r.get(4).error().startsWith("not valid JSON"), r.get(4).error());
        assertEquals("not a JSON object", r.get(5).error());
        assertTrue(r.get(6).error().contains("Duplicate field"), r.get(6).error());
        assertTrue(r.get(7).error().startsWith("not valid JSON"), r.get(7).error());
        assertEquals("empty line (no JSON object)", r.get(8).error());
        // a lone surrogate passes the reader; the tokenizer's check refuses it (PromptScanner)
        assertEquals("\ud800 lone", r.get(9).prompt());
        assertEquals("last, no newline", r.get(10).prompt());
    }

    @Test
    void promptColumnChoosesTheField() throws Exception {
        Path p = write("d.jsonl", "{\"text\": \"hi\", \"prompt\": \"other\"}\n");
        DatasetFile f = open(p, "text");
        assertEquals(List.of("input_prompt"), f.columnNames());
        assertEquals("hi", rows(f).getFirst().prompt());
        var e = assertThrows(InputException.class, () -> open(p, "nope"));
        assertTrue(e.getMessage().contains("no row has a \"nope\" field"), e.getMessage());
    }

    @Test
    void csvWithQuotesNewlinesRaggedRowsAndOddHeaders() throws Exception {
        Path p = write("d.csv", "\uFEFFprompt,label,,label,tokens\n"
                + "\"multi\nline, \"\"quoted\"\"\",x,e,l2,t\n"
                + "short,y\n"
                + "too,many,fields,a,b,c\n"
                + "\n"
                + "last,z,,,\n");
        DatasetFile f = open(p, null);
        assertEquals(List.of("label", "column_1", "label_2", "input_tokens"), f.columnNames());
        List<DatasetRow> r = rows(f);
        assertEquals(4, r.size(), "the empty line is no record");
        assertEquals("multi\nline, \"quoted\"", r.get(0).prompt());
        assertEquals(Map.of("label", "x", "column_1", "e", "label_2", "l2", "input_tokens", "t"), r.get(0).columns());
        assertEquals("short", r.get(1).prompt());
        assertEquals(Map.of("label", "y"), r.get(1).columns());
        assertEquals("6 fields, the header has 5", r.get(2).error());
        assertNull(r.get(2).prompt());
        assertEquals("last", r.get(3).prompt());
    }

    @Test
    void tsvAndCsvRefusals() throws Exception {
        Path tsv = write("d.tsv", "id\tprompt\n1\thello there\n2\tworld\n");
        List<DatasetRow> r = rows(open(tsv, null));
        assertEquals("hello there", r.get(0).prompt());
        assertEquals(Map.of("id", "2"), r.get(1).columns());

        var noColumn = assertThrows(InputException.class, () -> open(write("a.csv", "text,id\nx,1\n"), null));
        assertTrue(noColumn.getMessage().contains("has no column \"prompt\""), noColumn.getMessage());
        var twice = assertThrows(InputException.class, () -> open(write("b.csv", "prompt,prompt\nx,y\n"), null));
        assertTrue(twice.getMessage().contains("more than one column \"prompt\""), twice.getMessage());
        var empty = assertThrows(InputException.class, () -> open(write("c.csv", ""), null));
        assertTrue(empty.getMessage().contains("no header row"), empty.getMessage());
        var quote = assertThrows(InputException.class, () -> open(write("e.csv", "prompt\n\"never closed\n"), null));
        assertTrue(quote.getMessage().contains("not valid CSV"), quote.getMessage());
        Path binary = Files.write(dir.resolve("f.csv"), new byte[]{'p', 'r', 'o', 'm', 'p', 't', '\n', (byte) 0xff, (byte) 0xfe, '\n'});
        var notText = assertThrows(InputException.class, () -> open(binary, null));
        assertTrue(notText.getMessage().contains("not valid UTF-8"), notText.getMessage());
    }

    @Test
    void plainTextOneLineEachWithBadLinesRecorded() throws Exception {
        byte[] bad = {'o', 'k', '\r', '\n', (byte) 0xc3, (byte) 0x28, '\n', '\n', (byte) 0xef, (byte) 0xbb, (byte) 0xbf, 'b', 'o', 'm', '\n'};
        Path p = Files.write(dir.resolve("d.txt"), bad);
        List<DatasetRow> r = rows(open(p, null));
        assertEquals(4, r.size(), "a final newline makes no extra row");
        assertEquals("ok", r.get(0).prompt());
        assertEquals("line is not valid UTF-8", r.get(1).error());
        assertEquals("", r.get(2).prompt());
        assertEquals("\uFEFFbom", r.get(3).prompt(), "a byte order mark is dropped only at the file's start");
        var e = assertThrows(InputException.class, () -> DatasetFile.open(p, "x", ScanSchema.reserved()));
        assertTrue(e.getMessage().contains("plain text"), e.getMessage());
    }

    @Test
    void aHugeLineIsOneBadRowNotAllTheMemory() throws Exception {
        Path p = dir.resolve("big.txt");
        try (var out = Files.newOutputStream(p)) {
            out.write("first\n".getBytes());
            byte[] chunk = new byte[1 << 20];
            java.util.Arrays.fill(chunk, (byte) 'a');
            for (int i = 0; i < (LineReader.MAX_LINE >> 20) + 1; i++) out.write(chunk);
            out.write("\nlast\n".getBytes());
        }
        List<DatasetRow> r = rows(open(p, null));
        assertEquals(3, r.size());
        assertTrue(r.get(1).error().startsWith("line longer than"), r.get(1).error());
        assertEquals("last", r.get(2).prompt());
    }

    @Test
    void parquetThroughDuckDb() throws Exception {
        Path p = dir.resolve("d.parquet");
        try (Connection c = DriverManager.getConnection("jdbc:duckdb:"); Statement s = c.createStatement()) {
            s.execute("COPY (SELECT * FROM (VALUES ('hello', 1, [1, 2]), (NULL, 2, []), ('bye', 3, NULL)) t(prompt, n, xs)) TO '"
                    + p + "' (FORMAT parquet)");
        }
        DatasetFile f = open(p, null);
        assertEquals(List.of("n", "xs"), f.columnNames());
        List<DatasetRow> r = rows(f);
        assertEquals("hello", r.get(0).prompt());
        assertEquals(Map.of("n", "1", "xs", "[1, 2]"), r.get(0).columns());
        assertEquals("no \"prompt\" value", r.get(1).error());
        assertEquals(Map.of("n", "3"), r.get(2).columns());
        var notParquet = assertThrows(InputException.class, () -> open(write("x.parquet", "not parquet"), null));
        assertTrue(notParquet.getMessage().contains("not a readable Parquet file"), notParquet.getMessage());
    }

    @Test
    void selectionIsDeterministicAndShardsPartitionTheSample() {
        RowSelection all = RowSelection.of(100, null, null, 0, 0, 1);
        assertEquals(100, all.count());
        assertEquals(10, RowSelection.of(100, 10L, null, 0, 0, 1).count());
        long[] a = RowSelection.of(1000, null, 37L, 42, 0, 1).indexes(), b = RowSelection.of(1000, null, 37L, 42, 0, 1).indexes();
        assertArrayEquals(a, b, "same seed, same sample");
        assertEquals(37, a.length);
        assertFalse(java.util.Arrays.equals(a, RowSelection.of(1000, null, 37L, 43, 0, 1).indexes()), "another seed, another sample");
        // the shards split the sample: every sampled row in exactly one shard
        List<Long> union = new ArrayList<>();
        for (int s = 0; s < 3; s++)
            for (long i : RowSelection.of(1000, null, 37L, 42, s, 3).indexes()) {
                assertEquals(s, i % 3);
                union.add(i);
            }
        union.sort(null);
        assertArrayEquals(a, union.stream().mapToLong(Long::longValue).toArray());
        assertEquals(5, RowSelection.of(5, null, 10L, 1, 0, 1).count(), "a sample larger than the rows takes them all");
        assertEquals(0, RowSelection.of(0, null, null, 0, 0, 1).count());
    }
}
