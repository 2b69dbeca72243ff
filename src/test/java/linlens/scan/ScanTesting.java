package linlens.scan;

import linlens.cli.Main;
import linlens.testing.TinyModels;

import java.io.PrintWriter;
import java.io.StringWriter;
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

import linlens.testing.InProcessCli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Helpers of the scan tests: the command line in process, and the results read back with plain DuckDB. */
final class ScanTesting {
    private ScanTesting() {}

    /** The tiny Llama 3 fixture: fast, and a real GGUF file with its tokenizer. */
    static Path tinyModel() { return TinyModels.named("llama3").gguf(); }

    static InProcessCli.Run run(String... args) { return InProcessCli.run(args); }

    static void assertBadInput(InProcessCli.Run r, String expected) { InProcessCli.assertBadInput(r, expected); }

    /** Every row of a results folder, by row index, as plain DuckDB reads its parts (lists as Java lists). */
    static Map<Long, Map<String, Object>> rows(Path dir) throws Exception {
        return query("SELECT * FROM read_parquet('" + dir.resolve("parts").resolve("part-*.parquet") + "') ORDER BY row_index");
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
                    row.put(md.getColumnLabel(i), v);
                }
                Object prev = out.put(((Number) row.get("row_index")).longValue(), row);
                assertEquals(null, prev, "row " + row.get("row_index") + " more than once");
            }
        }
        return out;
    }

    /** The same rows with the timings left out (they are the only columns that differ between runs). */
    static Map<Long, Map<String, Object>> withoutTimings(Map<Long, Map<String, Object>> rows) {
        Map<Long, Map<String, Object>> out = new LinkedHashMap<>();
        rows.forEach((k, v) -> {
            Map<String, Object> m = new LinkedHashMap<>(v);
            m.keySet().removeIf(c -> c.startsWith("time_"));
            out.put(k, m);
        });
        return out;
    }

    static List<Double> doubles(double[] a) { return Arrays.stream(a).boxed().toList(); }
}
