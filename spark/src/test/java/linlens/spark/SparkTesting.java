package linlens.spark;

import linlens.cli.Main;
import linlens.model.ModelLoader;
import linlens.model.Transformer;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Array;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What the Spark tests share: the fixture model and dataset, the CLI in process, the rows read back with DuckDB. */
final class SparkTesting {
    private SparkTesting() {}

    /** The core's tiny Llama 3 fixture (a real GGUF file with its tokenizer), by path from this module. */
    static final Path MODEL = Path.of("../src/test/resources/reference/tiny/llama3/model.gguf").toAbsolutePath().normalize();

    /** A concept made for the tests ({@link #makeConcept}): the built-in ones' words are not in the tiny vocabulary. */
    static final String CONCEPT = "spark-test";

    /** Every analysis, so that every column is compared. */
    static final String[] ANALYSES = {"--analyses", "predict,decompose,attribute,layers,concept", "--concept", CONCEPT,
            "--k", "3", "--max-tokens", "24"};

    /**
     * Makes {@link #CONCEPT} with 'linlens concepts make' in this JVM's concept folder
     * ($LINLENS_CONCEPTS, target/test-concepts: spark/pom.xml): three words of the tiny vocabulary
     * that are one token each, against two others.
     */
    static void makeConcept() {
        List<String> words = singleTokenWords(ModelLoader.load(MODEL), 5);
        Run r = cli("concepts", "make", CONCEPT, "--words", String.join(",", words.subList(0, 3)),
                "--versus-words", String.join(",", words.subList(3, 5)), "--source", "the Spark tests", "--replace");
        assertEquals(0, r.code(), r.err());
    }

    /** Texts of the vocabulary that are one token by themselves and after a space (as the core's TinyModels picks them). */
    private static List<String> singleTokenWords(Transformer m, int count) {
        List<String> out = new ArrayList<>();
        for (int id = 0; id < m.config().vocab() && out.size() < count; id++) {
            String s = m.tokenizer().decode(id).strip();
            if (s.length() < 2 || !s.chars().allMatch(Character::isLetter) || out.contains(s)) continue;
            int[] e = m.tokenizer().encode(s);
            if ((e.length > 0 && e[0] == m.tokenizer().bos() ? e.length - 1 : e.length) == 1) out.add(s);
        }
        assertEquals(count, out.size(), "single-token words in the tiny vocabulary");
        return out;
    }

    /**
     * Prompts with extra columns, an empty one, one over --max-tokens, and a lone surrogate (which
     * both engines write as U+FFFD).
     */
    static Path dataset(Path dir) throws Exception {
        List<String> prompts = List.of("The bridge out of Marin is the", "Hello world", "A cat sat on the", "Once upon a time",
                "1 2 3 4", "Paris is in", "Shakespeare wrote Romeo and", "The opposite of hot is", "To be or not to");
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < prompts.size(); i++) b.append("{\"prompt\": \"").append(prompts.get(i)).append("\", \"id\": ").append(i).append("}\n");
        b.append("{\"prompt\": \"\", \"note\": \"empty\"}\n");
        b.append("{\"prompt\": \"a very long prompt that has far more tokens than the limit of this scan allows\"}\n");
        b.append("{\"prompt\": \"lone \\ud800 surrogate\"}\n");
        return Files.writeString(dir.resolve("d.jsonl"), b.toString());
    }

    record Run(int code, String out, String err) {}

    static Run cli(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = Main.execute(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Run(code, out.toString(), err.toString());
    }

    static String[] concat(String[] a, String... b) {
        String[] all = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }

    /** Every row of a results folder's parts, by row index, as plain DuckDB reads them (lists as Java lists, doubles to the bit). */
    static Map<Long, Map<String, Object>> rows(Path dir) throws Exception {
        return query("SELECT * FROM read_parquet('" + dir.resolve("parts").resolve("part-*.parquet") + "', union_by_name = true) ORDER BY row_index");
    }

    static Map<Long, Map<String, Object>> query(String sql) throws Exception {
        Map<Long, Map<String, Object>> out = new LinkedHashMap<>();
        try (Connection c = DriverManager.getConnection("jdbc:duckdb:"); Statement s = c.createStatement(); ResultSet r = s.executeQuery(sql)) {
            ResultSetMetaData md = r.getMetaData();
            while (r.next()) {
                Map<String, Object> row = new LinkedHashMap<>();
                for (int i = 1; i <= md.getColumnCount(); i++) {
                    Object v = r.getObject(i);
                    if (v instanceof Array a) v = new ArrayList<>(Arrays.asList((Object[]) a.getArray()));
                    row.put(md.getColumnLabel(i) + " " + md.getColumnTypeName(i), v);
                }
                Object prev = out.put(((Number) row.get("row_index BIGINT")).longValue(), row);
                assertNull(prev, "row " + row.get("row_index BIGINT") + " more than once");
            }
        }
        return out;
    }

    /** The rows without their timings (the only columns that differ between runs), keyed by name and DuckDB type. */
    static Map<Long, Map<String, Object>> withoutTimings(Map<Long, Map<String, Object>> rows) {
        Map<Long, Map<String, Object>> out = new LinkedHashMap<>();
        rows.forEach((k, v) -> {
            Map<String, Object> m = new LinkedHashMap<>(v);
            m.keySet().removeIf(c -> c.startsWith("time_"));
            out.put(k, m);
        });
        return out;
    }

    /** The local engine's scan of the dataset (one OpenBLAS thread, as each Spark task has). */
    static Map<Long, Map<String, Object>> localRows(Path dir, Path data) throws Exception {
        Path out = dir.resolve("local");
        Run r = cli(concat(new String[]{"scan", "--model", MODEL.toString(), "--dataset", data.toString(), "--out", out.toString(),
                "--threads", "1", "--quiet"}, ANALYSES));
        assertEquals(0, r.code(), r.err());
        return rows(out);
    }

    /** Same rows, same columns in the same order and types, same values to the bit (timings aside). */
    static void assertSameRows(Map<Long, Map<String, Object>> expected, Map<Long, Map<String, Object>> actual) {
        assertEquals(expected.size(), actual.size());
        assertEquals(List.copyOf(expected.values().iterator().next().keySet()), List.copyOf(actual.values().iterator().next().keySet()),
                "columns, their order and types");
        assertEquals(withoutTimings(expected), withoutTimings(actual));
        // and doubles compared by their bits, not by equals' tolerance of nothing but -0.0/NaN
        withoutTimings(expected).forEach((i, row) -> row.forEach((c, v) -> {
            Object w = withoutTimings(actual).get(i).get(c);
            if (v instanceof Double d) assertEquals(Double.doubleToRawLongBits(d), Double.doubleToRawLongBits((Double) w), c + " of row " + i);
        }));
        assertTrue(actual.values().stream().anyMatch(r -> r.get("error VARCHAR") == null), "some rows were analysed");
    }
}
