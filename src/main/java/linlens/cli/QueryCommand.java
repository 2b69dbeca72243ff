package linlens.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.dataformat.csv.CsvMapper;
import com.fasterxml.jackson.dataformat.csv.CsvSchema;
import linlens.model.InputException;
import linlens.scan.ResultsQuery;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "query", header = "SQL over a scan's results", description = {
        "Run SQL (DuckDB's) over a scan's results, the table 'results', and print an",
        "aligned table, or write the answer as CSV or JSON. The SQL cannot touch files:",
        "COPY ... TO, ATTACH, read_csv and the like are refused."})
public final class QueryCommand implements Callable<Integer> {
    /** Characters of a cell shown in the table (the CSV and JSON outputs keep everything). */
    static final int CELL = 60;

    @Spec CommandSpec spec;

    @Parameters(index = "0", paramLabel = "DIR", description = "A scan's --out folder.")
    Path dir;

    @Parameters(index = "1", paramLabel = "SQL", description = "e.g. \"SELECT predicted_token, count(*) FROM results GROUP BY 1 ORDER BY 2 DESC\"")
    String sql;

    @ArgGroup(exclusive = true)
    Output output;

    static final class Output {
        @Option(names = "--csv", paramLabel = "FILE", description = "Write the answer as CSV (lists as JSON arrays).") Path csv;
        @Option(names = "--json", paramLabel = "FILE", description = "Write the answer as a JSON array of objects.") Path json;
    }

    @Option(names = "--verbose", description = "Stack traces on errors.") boolean verbose;

    @Override
    public Integer call() throws Exception {
        Path csv = output == null ? null : output.csv, json = output == null ? null : output.json;
        if (csv != null) JsonOutput.checkWritable(csv);
        if (json != null) JsonOutput.checkWritable(json);
        ResultsQuery.Table t = ResultsQuery.run(dir, sql);
        PrintWriter out = spec.commandLine().getOut();
        if (json != null) {
            List<Map<String, Object>> rows = new ArrayList<>();
            for (List<Object> r : t.rows()) {
                Map<String, Object> m = new LinkedHashMap<>();
                for (int i = 0; i < t.columns().size(); i++) m.put(t.columns().get(i), r.get(i));
                rows.add(m);
            }
            JsonOutput.write(json, rows);
            out.println(t.rows().size() + " rows written to " + json);
        } else if (csv != null) {
            JsonOutput.writeText(csv, csv(t));
            out.println(t.rows().size() + " rows written to " + csv);
        } else {
            print(out, t);
        }
        return 0;
    }

    private static final ObjectMapper PLAIN = new ObjectMapper().disable(SerializationFeature.INDENT_OUTPUT);

    /** A cell as text: lists as JSON arrays, null as empty (CSV) or "NULL" (the table). */
    static String text(Object v, String nullText) {
        if (v == null) return nullText;
        if (v instanceof List<?>) {
            try {
                return PLAIN.writeValueAsString(v);
            } catch (Exception e) {
                return v.toString();
            }
        }
        return v.toString();
    }

    static String csv(ResultsQuery.Table t) throws Exception {
        CsvSchema.Builder b = CsvSchema.builder().setUseHeader(true);
        for (String c : t.columns()) b.addColumn(c);
        List<List<String>> rows = new ArrayList<>();
        for (List<Object> r : t.rows()) rows.add(r.stream().map(v -> text(v, "")).toList());
        return new CsvMapper().writer(b.build()).writeValueAsString(rows);
    }

    static void print(PrintWriter out, ResultsQuery.Table t) {
        int n = t.columns().size();
        int[] width = new int[n];
        List<String[]> cells = new ArrayList<>();
        for (List<Object> r : t.rows()) {
            String[] c = new String[n];
            for (int i = 0; i < n; i++) c[i] = cell(text(r.get(i), "NULL"));
            cells.add(c);
        }
        for (int i = 0; i < n; i++) {
            width[i] = t.columns().get(i).length();
            for (String[] c : cells) width[i] = Math.max(width[i], c[i].codePointCount(0, c[i].length()));
        }
        line(out, t.columns().toArray(String[]::new), width);
        String[] rule = new String[n];
        for (int i = 0; i < n; i++) rule[i] = "-".repeat(width[i]);
        line(out, rule, width);
        for (String[] c : cells) line(out, c, width);
        out.println("(" + t.rows().size() + (t.rows().size() == 1 ? " row)" : " rows)"));
    }

    private static void line(PrintWriter out, String[] c, int[] width) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < c.length; i++) {
            if (i > 0) b.append("  ");
            b.append(c[i]);
            if (i < c.length - 1) b.append(" ".repeat(width[i] - c[i].codePointCount(0, c[i].length())));
        }
        out.println(b.toString().stripTrailing());
    }

    /** One line, at most {@link #CELL} characters: control characters shown as escapes, the rest cut with "…". */
    static String cell(String s) {
        StringBuilder b = new StringBuilder();
        s.codePoints().forEach(cp -> {
            if (cp == '\n') b.append("\\n");
            else if (cp == '\t') b.append("\\t");
            else if (cp == '\r') b.append("\\r");
            else if (Character.isISOControl(cp) || Character.getType(cp) == Character.FORMAT) b.append(String.format("\\u%04x", cp));
            else b.appendCodePoint(cp);
        });
        String r = b.toString();
        return r.codePointCount(0, r.length()) > CELL ? r.substring(0, r.offsetByCodePoints(0, CELL - 1)) + "…" : r;
    }
}
