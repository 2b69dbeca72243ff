package linlens.scan;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.dataformat.csv.CsvMapper;
import com.fasterxml.jackson.dataformat.csv.CsvParser;
import com.fasterxml.jackson.dataformat.csv.CsvSchema;
import com.fasterxml.jackson.databind.MappingIterator;
import linlens.model.InputException;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;

/**
 * A dataset file of prompts, by its extension: JSON Lines ({@code .jsonl}, {@code .ndjson}: one
 * object a line, the prompt in a string field), CSV and TSV (a header row, the prompt in a named
 * column), plain text (any other extension: one prompt a line) and Parquet (read through DuckDB).
 * Every field besides the prompt is kept, as text, under a column name that cannot collide with
 * the scan's own columns.
 *
 * <p>{@link #open} reads the file once to learn its columns and rows, so that a file that cannot
 * be read at all is refused before the model loads; {@link #read} then streams the rows. A bad
 * row (not JSON, no prompt, not UTF-8, too many fields) does not stop the file: it comes as a row
 * with its error.
 */
public final class DatasetFile {
    /** Distinct fields over a JSON Lines file, at most: far above a real dataset, bounded against a hostile one. */
    static final int MAX_COLUMNS = 1000;

    public enum Format { JSONL, CSV, TSV, TEXT, PARQUET }

    /** Receives the rows in file order. */
    @FunctionalInterface
    public interface RowSink {
        void accept(DatasetRow row) throws Exception;
    }

    private static final ObjectReader JSON = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .reader();

    private final Path path;
    private final Format format;
    private final String promptColumn;
    /** Source field → column name in the results, in the file's order (the prompt's field excluded). */
    private final Map<String, String> columns;
    private final long rows;

    private DatasetFile(Path path, Format format, String promptColumn, Map<String, String> columns, long rows) {
        this.path = path;
        this.format = format;
        this.promptColumn = promptColumn;
        this.columns = Collections.unmodifiableMap(columns);
        this.rows = rows;
    }

    public static Format formatOf(Path path) {
        String name = path.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".jsonl") || name.endsWith(".ndjson")) return Format.JSONL;
        if (name.endsWith(".csv")) return Format.CSV;
        if (name.endsWith(".tsv") || name.endsWith(".tab")) return Format.TSV;
        if (name.endsWith(".parquet")) return Format.PARQUET;
        return Format.TEXT;
    }

    /**
     * Reads the file once: its columns (renamed away from {@code reserved}) and its number of rows.
     * {@code promptColumn} null means "prompt" (not used for plain text). A file that cannot be
     * read, or whose header has no prompt column, is an {@link InputException}.
     */
    public static DatasetFile open(Path path, String promptColumn, Set<String> reserved) {
        Format format = formatOf(path);
        String prompt = promptColumn == null ? "prompt" : promptColumn;
        if (format == Format.TEXT && promptColumn != null)
            throw new InputException("--prompt-column: " + path + " is plain text (one prompt a line), it has no columns");
        try {
            return switch (format) {
                case TEXT -> new DatasetFile(path, format, null, new LinkedHashMap<>(), countText(path));
                case JSONL -> openJsonl(path, prompt, reserved);
                case CSV, TSV -> openCsv(path, format, prompt, reserved);
                case PARQUET -> openParquet(path, prompt, reserved);
            };
        } catch (IOException e) {
            throw new InputException("--dataset " + path + ": cannot be read (" + e.getMessage() + ")");
        }
    }

    public Path path() { return path; }

    public Format format() { return format; }

    /** The rows in the file (bad ones included). */
    public long rows() { return rows; }

    /** The extra columns' names in the results, in the file's order. */
    public List<String> columnNames() { return List.copyOf(columns.values()); }

    /** Streams every row, in file order, to {@code sink}. */
    public void read(RowSink sink) throws Exception {
        switch (format) {
            case TEXT -> readText(sink);
            case JSONL -> readJsonl(sink);
            case CSV, TSV -> readCsv(sink);
            case PARQUET -> readParquet(sink);
        }
    }

    // ---- plain text

    private static long countText(Path path) throws IOException {
        long n = 0;
        try (LineReader lines = new LineReader(new BufferedInputStream(Files.newInputStream(path)))) {
            while (lines.next() != null) n++;
        }
        return n;
    }

    private void readText(RowSink sink) throws Exception {
        try (LineReader lines = new LineReader(new BufferedInputStream(Files.newInputStream(path)))) {
            long i = 0;
            for (LineReader.Line l; (l = lines.next()) != null; i++)
                sink.accept(new DatasetRow(i, l.text(), Map.of(), l.error()));
        }
    }

    // ---- JSON Lines

    /** A line parsed: the object, or why it is not one. */
    private record JsonLine(JsonNode object, String error) {}

    private static JsonLine parseJson(LineReader.Line l) {
        if (l.error() != null) return new JsonLine(null, l.error());
        if (l.text().isBlank()) return new JsonLine(null, "empty line (no JSON object)");
        try {
            JsonNode n = JSON.readTree(l.text());
            if (n == null || !n.isObject()) return new JsonLine(null, "not a JSON object");
            return new JsonLine(n, null);
        } catch (JsonProcessingException e) {
            return new JsonLine(null, "not valid JSON: " + e.getOriginalMessage());
        }
    }

    private static DatasetFile openJsonl(Path path, String prompt, Set<String> reserved) throws IOException {
        List<String> fields = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        long n = 0;
        boolean promptSeen = false;
        try (LineReader lines = new LineReader(new BufferedInputStream(Files.newInputStream(path)))) {
            for (LineReader.Line l; (l = lines.next()) != null; n++) {
                JsonLine j = parseJson(l);
                if (j.object() == null) continue;
                for (var it = j.object().fieldNames(); it.hasNext(); ) {
                    String f = it.next();
                    if (f.equals(prompt)) promptSeen = true;
                    else if (seen.add(f)) {
                        fields.add(f);
                        if (fields.size() > MAX_COLUMNS)
                            throw new InputException("--dataset " + path + ": more than " + MAX_COLUMNS + " distinct fields");
                    }
                }
            }
        }
        if (n > 0 && !promptSeen)
            throw new InputException("--dataset " + path + ": no row has a \"" + prompt + "\" field (choose one with --prompt-column)");
        return new DatasetFile(path, Format.JSONL, prompt, names(fields, reserved), n);
    }

    private void readJsonl(RowSink sink) throws Exception {
        try (LineReader lines = new LineReader(new BufferedInputStream(Files.newInputStream(path)))) {
            long i = 0;
            for (LineReader.Line l; (l = lines.next()) != null; i++) {
                JsonLine j = parseJson(l);
                if (j.object() == null) {
                    sink.accept(new DatasetRow(i, null, Map.of(), j.error()));
                    continue;
                }
                Map<String, String> values = new LinkedHashMap<>();
                columns.forEach((field, name) -> {
                    JsonNode v = j.object().get(field);
                    if (v != null && !v.isNull()) values.put(name, v.isTextual() ? v.textValue() : v.toString());
                });
                JsonNode p = j.object().get(promptColumn);
                String text = p != null && p.isTextual() ? p.textValue() : null;
                String error = p == null || p.isNull() ? "no \"" + promptColumn + "\" field"
                        : !p.isTextual() ? "\"" + promptColumn + "\" is not a string" : null;
                sink.accept(new DatasetRow(i, text, values, error));
            }
        }
    }

    // ---- CSV and TSV

    private static MappingIterator<String[]> csvRows(Path path, Format format) throws IOException {
        CsvMapper mapper = new CsvMapper();
        mapper.enable(CsvParser.Feature.WRAP_AS_ARRAY);
        mapper.enable(CsvParser.Feature.SKIP_EMPTY_LINES);
        CsvSchema schema = CsvSchema.emptySchema().withColumnSeparator(format == Format.TSV ? '\t' : ',');
        // strict UTF-8: a file that is not text is refused, not read as replacement characters
        Reader reader = new InputStreamReader(new BufferedInputStream(Files.newInputStream(path)), StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT));
        return mapper.readerFor(String[].class).with(schema).readValues(reader);
    }

    /** A CSV failure, said with the file and where. */
    private static InputException csvError(Path path, Exception e) {
        if (e instanceof CharacterCodingException || e.getCause() instanceof CharacterCodingException)
            return new InputException("--dataset " + path + ": not valid UTF-8 text");
        String m = e instanceof JsonProcessingException j ? j.getOriginalMessage()
                + (j.getLocation() != null ? " (line " + j.getLocation().getLineNr() + ")" : "") : e.getMessage();
        return new InputException("--dataset " + path + ": not valid " + formatOf(path).name() + ": " + firstLine(m));
    }

    private static String firstLine(String s) {
        if (s == null) return "unreadable";
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    private static DatasetFile openCsv(Path path, Format format, String prompt, Set<String> reserved) throws IOException {
        List<String> header;
        long n = 0;
        try (MappingIterator<String[]> it = csvRows(path, format)) {
            if (!it.hasNextValue()) throw new InputException("--dataset " + path + ": empty, no header row");
            String[] h = it.nextValue();
            header = new ArrayList<>();
            for (int i = 0; i < h.length; i++) {
                String name = h[i].strip();
                if (i == 0 && name.startsWith("\uFEFF")) name = name.substring(1);
                header.add(name);
            }
            while (it.hasNextValue()) {
                it.nextValue();
                n++;
            }
        } catch (InputException e) {
            throw e;
        } catch (RuntimeException | IOException e) {
            throw csvError(path, e);
        }
        if (header.stream().filter(prompt::equals).count() != 1)
            throw new InputException("--dataset " + path + ": the header " + (header.contains(prompt) ? "has more than one" : "has no")
                    + " column \"" + prompt + "\" (columns: " + String.join(", ", header.subList(0, Math.min(header.size(), 20)))
                    + (header.size() > 20 ? ", ..." : "") + "; choose one with --prompt-column)");
        // header position → name; the positions are the fields (names may repeat or be empty)
        List<String> fields = new ArrayList<>();
        for (int i = 0; i < header.size(); i++) fields.add(header.get(i).equals(prompt) ? null : i + "\u0000" + header.get(i));
        return new DatasetFile(path, format, prompt, names(fields.stream().filter(f -> f != null).toList(), reserved), n);
    }

    private void readCsv(RowSink sink) throws Exception {
        try (MappingIterator<String[]> it = csvRows(path, format)) {
            String[] header = it.nextValue();
            int promptAt = -1;
            for (int i = 0; i < header.length; i++) {
                String h = header[i].strip();
                if (i == 0 && h.startsWith("\uFEFF")) h = h.substring(1);
                if (h.equals(promptColumn)) promptAt = i;
            }
            long i = 0;
            while (true) {
                String[] r;
                try {
                    if (!it.hasNextValue()) break;
                    r = it.nextValue();
                } catch (RuntimeException | IOException e) {
                    throw csvError(path, e);
                }
                Map<String, String> values = new LinkedHashMap<>();
                for (var e : columns.entrySet()) {
                    int at = Integer.parseInt(e.getKey().substring(0, e.getKey().indexOf('\u0000')));
                    if (at < r.length) values.put(e.getValue(), r[at]);
                }
                String error = r.length > header.length ? r.length + " fields, the header has " + header.length
                        : promptAt >= r.length ? "no \"" + promptColumn + "\" field" : null;
                sink.accept(new DatasetRow(i++, error == null ? r[promptAt] : null, values, error));
            }
        }
    }

    // ---- Parquet

    static Connection duckdb() throws SQLException {
        Properties p = new Properties();
        p.setProperty("jdbc_stream_results", "true");
        return DriverManager.getConnection("jdbc:duckdb:", p);
    }

    /** A path as an SQL string literal. */
    static String literal(String s) { return "'" + s.replace("'", "''") + "'"; }

    /** A column name as an SQL identifier. */
    static String identifier(String s) { return "\"" + s.replace("\"", "\"\"") + "\""; }

    private static DatasetFile openParquet(Path path, String prompt, Set<String> reserved) {
        List<String> fields = new ArrayList<>();
        boolean hasPrompt = false;
        long n;
        try (Connection c = duckdb(); Statement s = c.createStatement()) {
            try (ResultSet r = s.executeQuery("DESCRIBE SELECT * FROM read_parquet(" + literal(path.toString()) + ")")) {
                while (r.next()) {
                    String f = r.getString(1);
                    if (f.equals(prompt)) hasPrompt = true;
                    else fields.add(f);
                }
            }
            try (ResultSet r = s.executeQuery("SELECT count(*) FROM read_parquet(" + literal(path.toString()) + ")")) {
                r.next();
                n = r.getLong(1);
            }
        } catch (SQLException e) {
            throw new InputException("--dataset " + path + ": not a readable Parquet file (" + firstLine(sqlMessage(e)) + ")");
        }
        if (!hasPrompt)
            throw new InputException("--dataset " + path + ": no column \"" + prompt + "\" (choose one with --prompt-column)");
        return new DatasetFile(path, Format.PARQUET, prompt, names(fields, reserved), n);
    }

    private void readParquet(RowSink sink) throws Exception {
        StringBuilder select = new StringBuilder("SELECT file_row_number AS __row, CAST(" + identifier(promptColumn) + " AS VARCHAR)");
        for (String f : columns.keySet()) select.append(", CAST(").append(identifier(f)).append(" AS VARCHAR)");
        select.append(" FROM read_parquet(").append(literal(path.toString())).append(", file_row_number = true) ORDER BY __row");
        try (Connection c = duckdb(); Statement s = c.createStatement(); ResultSet r = s.executeQuery(select.toString())) {
            List<String> names = List.copyOf(columns.values());
            while (r.next()) {
                long i = r.getLong(1);
                String p = r.getString(2);
                Map<String, String> values = new LinkedHashMap<>();
                for (int k = 0; k < names.size(); k++) {
                    String v = r.getString(3 + k);
                    if (v != null) values.put(names.get(k), v);
                }
                sink.accept(new DatasetRow(i, p, values, p == null ? "no \"" + promptColumn + "\" value" : null));
            }
        } catch (SQLException e) {
            throw new InputException("--dataset " + path + ": not a readable Parquet file (" + firstLine(sqlMessage(e)) + ")");
        }
    }

    /**
     * DuckDB's own message: its JDBC driver may put a generic line ("Attempting to execute an
     * unsuccessful or closed pending query result") before the real one.
     */
    static String sqlMessage(SQLException e) {
        String m = e.getMessage() == null ? "SQL error" : e.getMessage();
        for (String line : m.split("\n")) {
            String l = line.strip();
            if (l.startsWith("Error: ")) l = l.substring(7);
            if (!l.isEmpty() && !l.contains("unsuccessful or closed pending query result")) return l;
        }
        return m.strip();
    }

    // ---- column names

    /**
     * The results' names for the fields: the field's own name (for CSV, after the header
     * position and a NUL), unless empty, one of the scan's own columns or taken already.
     */
    private static Map<String, String> names(List<String> fields, Set<String> reserved) {
        Map<String, String> out = new LinkedHashMap<>();
        Set<String> taken = new HashSet<>();
        int i = 0;
        for (String f : fields) {
            String shown = f.contains("\u0000") ? f.substring(f.indexOf('\u0000') + 1) : f;
            String name = shown.isBlank() ? "column_" + i : reserved.contains(shown.toLowerCase(Locale.ROOT)) ? "input_" + shown : shown;
            String base = name;
            for (int k = 2; !taken.add(name.toLowerCase(Locale.ROOT)) || reserved.contains(name.toLowerCase(Locale.ROOT)); k++) name = base + "_" + k;
            out.put(f, name);
            i++;
        }
        return out;
    }
}
