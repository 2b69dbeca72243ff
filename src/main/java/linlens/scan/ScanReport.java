package linlens.scan;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import linlens.model.InputException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * What {@code linlens scan-report} shows of a results folder, every number aggregated by DuckDB
 * SQL over the parts ({@link ResultsQuery#open}): the counts, histograms of the per-prompt
 * errors, emergence layer and length, the decay σ_k/σ_1 of the singular values, the most
 * frequent decoded tokens, and the prompts themselves with a command line that analyses each one.
 * A group's figures are there only when the scan ran it (its columns exist).
 *
 * <p>Text from the dataset is cut in SQL ({@link #PROMPT_CHARS}), so a huge row is never read
 * whole; every string is valid UTF-16 (a lone surrogate, which scan.json's JSON may spell, is
 * U+FFFD), and the page embeds all of it as data only ({@link linlens.report.HtmlReport}).
 */
public final class ScanReport {
    private ScanReport() {}

    /** Characters of a prompt in the report: longer ones are cut, and get no command line. */
    public static final int PROMPT_CHARS = 2000;
    /** Characters of an error message in the report. */
    static final int ERROR_CHARS = 300;
    /** Tokens listed per concept table. */
    static final int TOP_TOKENS = 20;

    public record Report(Summary summary, List<Histogram> histograms, List<Decay> spectra, List<Concepts> concepts, Prompts prompts) {}

    /**
     * @param analysed  rows without an error
     * @param errorKinds the most frequent error messages, with their counts
     */
    public record Summary(String model, String modelPath, String dataset, String datasetPath, Long datasetRows,
                          List<String> analyses, Integer k, String created, long prompts, long errors, long analysed,
                          List<Count> errorKinds, Double medianRowMs, Double totalRowS) {}

    public record Count(String text, long n) {}

    /**
     * A histogram of one column over the rows that have it.
     *
     * @param log     bins of log10 of the positive finite values ({@code zeros} and {@code nonFinite} apart)
     * @param missing rows without a value (for the emergence layer: no layer predicts the token)
     */
    public record Histogram(String column, String title, String caption, boolean log, List<Bin> bins, long values,
                            long zeros, long nonFinite, long missing, Double min, Double median, Double max) {}

    /** One bin: [lo, hi) for a log histogram, the integers lo..hi for an integer one. */
    public record Bin(double lo, double hi, long n) {}

    /** σ_k/σ_1 of one top-k column: quartiles over the prompts, for each k. */
    public record Decay(String column, String title, long prompts, List<Quartiles> ratios) {}

    public record Quartiles(int k, double q1, double median, double q3) {}

    /** The most frequent tokens of a column, each counted once per prompt that has it. */
    public record Concepts(String column, String title, String caption, long prompts, List<Count> top) {}

    /** The rows shown (the first {@code shown} by row index, of {@code total}). */
    public record Prompts(long total, int shown, List<String> errorColumns, List<Row> rows) {}

    /**
     * One prompt.
     *
     * @param promptChars the prompt's length in characters (null: no prompt)
     * @param cut         the prompt shown is its first {@link #PROMPT_CHARS} characters
     * @param command     a shell command that runs decompose on this prompt (null when cut or absent)
     */
    public record Row(long index, String prompt, Long promptChars, boolean cut, String prediction, Double p,
                      String error, Double attributionError, Double reconstructionError, Integer tokens, String command) {}

    /** The report of a scan's folder; refused (one line) when it is none. */
    public static Report of(Path dir, int maxRows) throws IOException {
        if (!Files.isDirectory(dir)) throw new InputException(dir + ": no such folder");
        JsonNode manifest = manifest(dir);
        try (ResultsQuery.Results db = ResultsQuery.open(dir)) {
            Set<String> columns = new HashSet<>();
            for (List<Object> r : db.query("SELECT column_name FROM (DESCRIBE results)").rows()) columns.add((String) r.get(0));
            Summary summary = summary(db, manifest, columns);
            return new Report(summary, histograms(db, columns), spectra(db, columns), concepts(db, columns),
                    prompts(db, columns, summary.modelPath(), maxRows));
        }
    }

    private static JsonNode manifest(Path dir) {
        Path f = dir.resolve(ScanManifest.FILE);
        if (!Files.isRegularFile(f)) throw new InputException(dir + ": not a scan's folder (no " + ScanManifest.FILE + ")");
        try {
            JsonNode n = new ObjectMapper().readTree(f.toFile());
            if (n == null || !n.isObject()) throw new IOException("not a JSON object");
            return n;
        } catch (IOException e) {
            throw new InputException(f + ": not readable JSON (" + firstLine(e.getMessage()) + ")");
        }
    }

    private static String firstLine(String s) {
        if (s == null) return "unreadable";
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    // ------------------------------------------------------------------ summary

    private static Summary summary(ResultsQuery.Results db, JsonNode m, Set<String> columns) {
        String modelPath = text(m.path("model").path("path")), datasetPath = text(m.path("dataset").path("path"));
        List<String> analyses = new ArrayList<>();
        for (JsonNode a : m.path("options").path("analyses")) analyses.add(text(a));
        JsonNode k = m.path("options").path("k"), rows = m.path("dataset").path("rows");
        List<Object> counts = db.query("SELECT count(*), count(error) FROM results").rows().getFirst();
        long prompts = number(counts.get(0)).longValue(), errors = number(counts.get(1)).longValue();
        List<Count> kinds = new ArrayList<>();
        for (List<Object> r : db.query("SELECT left(error, " + ERROR_CHARS + ") AS e, count(*) AS n FROM results WHERE error IS NOT NULL "
                + "GROUP BY e ORDER BY n DESC, e LIMIT 8").rows())
            kinds.add(new Count(clean((String) r.get(0)), number(r.get(1)).longValue()));
        Double median = null, total = null;
        if (columns.contains("time_total_ms")) {
            List<Object> t = db.query("SELECT quantile_cont(time_total_ms, 0.5), sum(time_total_ms) / 1000 FROM results WHERE error IS NULL").rows().getFirst();
            median = asDouble(t.get(0));
            total = asDouble(t.get(1));
        }
        return new Summary(fileName(modelPath), modelPath, fileName(datasetPath), datasetPath, rows.isNumber() ? rows.asLong() : null,
                analyses, k.isNumber() ? k.asInt() : null, text(m.path("created")), prompts, errors, prompts - errors, kinds, median, total);
    }

    // ------------------------------------------------------------------ histograms

    private static List<Histogram> histograms(ResultsQuery.Results db, Set<String> columns) {
        List<Histogram> out = new ArrayList<>();
        if (columns.contains("reconstruction_error"))
            out.add(logHistogram(db, "reconstruction_error", "Reconstruction error",
                    "‖Σ_i J_i x_i + c − y‖ / ‖y‖ per prompt (decompose): how exactly the detached Jacobians rebuild the output. Log scale."));
        if (columns.contains("attribution_error"))
            out.add(logHistogram(db, "attribution_error", "Attribution error",
                    "|Σ contributions + constant − logit| / |logit| per prompt (attribute): the exact split of the predicted logit checked. Log scale."));
        if (columns.contains("first_prediction_layer"))
            out.add(intHistogram(db, "first_prediction_layer", "error IS NULL", "Emergence layer",
                    "The first layer whose residual stream's leading direction (u_1 of the cumulative tokens-combined J) decodes to the predicted token (layers)."));
        if (columns.contains("n_tokens"))
            out.add(intHistogram(db, "n_tokens", "n_tokens IS NOT NULL", "Prompt length",
                    "Tokens per prompt, BOS included (rows refused for too many tokens counted too)."));
        return out;
    }

    private static Histogram logHistogram(ResultsQuery.Results db, String column, String title, String caption) {
        String c = DatasetFile.identifier(column);
        List<Object> s = db.query("SELECT count(" + c + ") FILTER (WHERE isfinite(" + c + ") AND " + c + " > 0), "
                + "count(*) FILTER (WHERE " + c + " = 0), count(*) FILTER (WHERE NOT isfinite(" + c + ")), "
                + "count(*) FILTER (WHERE " + c + " IS NULL), "
                + "floor(min(log10(" + c + ")) FILTER (WHERE isfinite(" + c + ") AND " + c + " > 0)), "
                + "ceil(max(log10(" + c + ")) FILTER (WHERE isfinite(" + c + ") AND " + c + " > 0)), "
                + "min(" + c + ") FILTER (WHERE isfinite(" + c + ")), quantile_cont(" + c + ", 0.5) FILTER (WHERE isfinite(" + c + ")), "
                + "max(" + c + ") FILTER (WHERE isfinite(" + c + ")) FROM results WHERE error IS NULL").rows().getFirst();
        long positive = number(s.get(0)).longValue();
        List<Bin> bins = new ArrayList<>();
        if (positive > 0) {
            int lo = number(s.get(4)).intValue(), hi = Math.max(lo + 1, number(s.get(5)).intValue());
            int perDecade = hi - lo <= 6 ? 4 : hi - lo <= 12 ? 2 : 1, n = (hi - lo) * perDecade;
            long[] counts = new long[n];
            for (List<Object> r : db.query("SELECT least(" + (n - 1) + ", greatest(0, floor((log10(" + c + ") - (" + lo + ")) * " + perDecade
                    + ")))::INTEGER AS b, count(*) FROM results WHERE error IS NULL AND isfinite(" + c + ") AND " + c + " > 0 GROUP BY b").rows())
                counts[number(r.get(0)).intValue()] = number(r.get(1)).longValue();
            for (int b = 0; b < n; b++)
                bins.add(new Bin(Math.pow(10, lo + (double) b / perDecade), Math.pow(10, lo + (double) (b + 1) / perDecade), counts[b]));
        }
        return new Histogram(column, title, caption, true, bins, positive, number(s.get(1)).longValue(), number(s.get(2)).longValue(),
                number(s.get(3)).longValue(), asDouble(s.get(6)), asDouble(s.get(7)), asDouble(s.get(8)));
    }

    /** At most this many bins: wider ranges get bins of several integers. */
    static final int MAX_BINS = 40;

    private static Histogram intHistogram(ResultsQuery.Results db, String column, String rows, String title, String caption) {
        String c = DatasetFile.identifier(column);
        List<Object> s = db.query("SELECT count(" + c + "), count(*) - count(" + c + "), min(" + c + "), quantile_cont(" + c + ", 0.5), max(" + c + ") "
                + "FROM results WHERE " + rows).rows().getFirst();
        long values = number(s.get(0)).longValue();
        List<Bin> bins = new ArrayList<>();
        if (values > 0) {
            long lo = number(s.get(2)).longValue(), hi = number(s.get(4)).longValue();
            long width = Math.max(1, Math.ceilDiv(hi - lo + 1, MAX_BINS));
            int n = (int) ((hi - lo) / width) + 1;
            long[] counts = new long[n];
            for (List<Object> r : db.query("SELECT ((" + c + " - " + lo + ") // " + width + ")::INTEGER AS b, count(*) FROM results WHERE "
                    + rows + " AND " + c + " IS NOT NULL GROUP BY b").rows())
                counts[number(r.get(0)).intValue()] = number(r.get(1)).longValue();
            for (int b = 0; b < n; b++) bins.add(new Bin(lo + b * width, lo + (b + 1) * width - 1, counts[b]));
        }
        return new Histogram(column, title, caption, false, bins, values, 0, 0, number(s.get(1)).longValue(),
                asDouble(s.get(2)), asDouble(s.get(3)), asDouble(s.get(4)));
    }

    // ------------------------------------------------------------------ singular values

    private static List<Decay> spectra(ResultsQuery.Results db, Set<String> columns) {
        List<Decay> out = new ArrayList<>();
        if (columns.contains("combined_sigma")) out.add(decay(db, "combined_sigma", "tokens-combined [J_0 … J_n−1]"));
        if (columns.contains("last_sigma")) out.add(decay(db, "last_sigma", "last position's J_n−1"));
        return out;
    }

    private static Decay decay(ResultsQuery.Results db, String column, String title) {
        String c = DatasetFile.identifier(column);
        String rows = "error IS NULL AND len(" + c + ") > 0 AND " + c + "[1] > 0 AND isfinite(" + c + "[1])";
        long prompts = number(db.query("SELECT count(*) FROM results WHERE " + rows).rows().getFirst().get(0)).longValue();
        List<Quartiles> q = new ArrayList<>();
        for (List<Object> r : db.query("SELECT k, quantile_cont(ratio, 0.25), quantile_cont(ratio, 0.5), quantile_cont(ratio, 0.75) FROM ("
                + "SELECT unnest(generate_series(1, len(" + c + "))) AS k, unnest(list_transform(" + c + ", x -> x / " + c + "[1])) AS ratio "
                + "FROM results WHERE " + rows + ") GROUP BY k ORDER BY k").rows())
            q.add(new Quartiles(number(r.get(0)).intValue(), number(r.get(1)).doubleValue(), number(r.get(2)).doubleValue(), number(r.get(3)).doubleValue()));
        return new Decay(column, title, prompts, q);
    }

    // ------------------------------------------------------------------ concepts

    private static List<Concepts> concepts(ResultsQuery.Results db, Set<String> columns) {
        List<Concepts> out = new ArrayList<>();
        if (columns.contains("predicted_token"))
            out.add(concepts(db, "predicted_token", "predicted_token", "Predicted tokens", "The model's next token, over the prompts."));
        if (columns.contains("combined_u_tokens")) {
            out.add(concepts(db, "combined_u_tokens", "combined_u_tokens[1]", "Leading output direction (u_1)",
                    "The top token of W_U u_1, the leading left singular vector of the tokens-combined J: what the prompt's strongest direction writes."));
            out.add(concepts(db, "combined_u_tokens", "unnest(combined_u_tokens)", "Output directions (any u_k)",
                    "Top tokens of every decoded u_k of the tokens-combined J, each counted once per prompt."));
        }
        if (columns.contains("combined_v_tokens"))
            out.add(concepts(db, "combined_v_tokens", "unnest(combined_v_tokens)", "Input directions (any v_k)",
                    "Cosine-nearest input embeddings of every v_k (its heaviest position's block), each counted once per prompt."));
        if (columns.contains("layer_top_tokens"))
            out.add(concepts(db, "layer_top_tokens", "unnest(layer_top_tokens)", "Tokens along the layers",
                    "Top token of u_1 after each layer (layers), each counted once per prompt."));
        return out;
    }

    private static Concepts concepts(ResultsQuery.Results db, String column, String expression, String title, String caption) {
        String tokens = "SELECT row_index, " + expression + " AS t FROM results WHERE error IS NULL";
        long prompts = number(db.query("SELECT count(DISTINCT row_index) FROM (" + tokens + ") WHERE t IS NOT NULL").rows().getFirst().get(0)).longValue();
        List<Count> top = new ArrayList<>();
        for (List<Object> r : db.query("SELECT left(t, 200) AS t, count(DISTINCT row_index) AS n FROM (" + tokens + ") WHERE t IS NOT NULL "
                + "GROUP BY t ORDER BY n DESC, t LIMIT " + TOP_TOKENS).rows())
            top.add(new Count(clean((String) r.get(0)), number(r.get(1)).longValue()));
        return new Concepts(column, title, caption, prompts, top);
    }

    // ------------------------------------------------------------------ prompts

    private static Prompts prompts(ResultsQuery.Results db, Set<String> columns, String modelPath, int maxRows) {
        String sql = "SELECT row_index, left(prompt, " + (PROMPT_CHARS + 1) + "), length(prompt), "
                + or(columns, "predicted_token", "left(predicted_token, 200)") + ", " + or(columns, "predicted_prob", "predicted_prob") + ", "
                + "left(error, " + ERROR_CHARS + "), " + or(columns, "attribution_error", "attribution_error") + ", "
                + or(columns, "reconstruction_error", "reconstruction_error") + ", n_tokens "
                + "FROM results ORDER BY row_index LIMIT " + maxRows;
        long total = number(db.query("SELECT count(*) FROM results").rows().getFirst().get(0)).longValue();
        List<Row> rows = new ArrayList<>();
        for (List<Object> r : db.query(sql).rows()) {
            String prompt = clean((String) r.get(1));
            Long chars = r.get(2) == null ? null : number(r.get(2)).longValue();
            boolean cut = chars != null && chars > PROMPT_CHARS;
            if (cut && prompt.codePointCount(0, prompt.length()) > PROMPT_CHARS) prompt = prompt.substring(0, prompt.offsetByCodePoints(0, PROMPT_CHARS));
            long index = number(r.get(0)).longValue();
            rows.add(new Row(index, prompt, chars, cut, clean((String) r.get(3)), asDouble(r.get(4)), clean((String) r.get(5)),
                    asDouble(r.get(6)), asDouble(r.get(7)), r.get(8) == null ? null : number(r.get(8)).intValue(),
                    prompt == null || cut ? null : decomposeCommand(modelPath, prompt, index)));
        }
        List<String> errorColumns = new ArrayList<>();
        for (String c : List.of("attribution_error", "reconstruction_error")) if (columns.contains(c)) errorColumns.add(c);
        return new Prompts(total, rows.size(), errorColumns, rows);
    }

    private static String or(Set<String> columns, String column, String expression) {
        return columns.contains(column) ? expression : "NULL";
    }

    /**
     * The command line that runs {@code decompose} on one prompt, with its own HTML report: every
     * argument quoted for a POSIX shell, so that pasting it runs exactly this prompt and nothing
     * else (see {@link #shellQuote}); {@code --opt=value}, so a prompt that starts with "-" stays
     * the option's value.
     */
    public static String decomposeCommand(String modelPath, String prompt, long rowIndex) {
        return "linlens decompose --model=" + shellQuote(modelPath == null ? "gemma-3-270m" : modelPath)
                + " --prompt=" + shellQuote(prompt) + " --report=" + shellQuote("row-" + rowIndex + ".html");
    }

    /**
     * One shell word for any text: in single quotes when it is printable (a quote inside as '\'');
     * otherwise as $'...' (bash, zsh, ksh, and POSIX since 2024), with line ends, control, format
     * (e.g. bidirectional overrides) and separator characters as escapes, so that a pasted command
     * shows everything it runs and no terminal control sequence comes with it.
     */
    public static String shellQuote(String s) {
        if (s.codePoints().allMatch(ScanReport::printable)) return "'" + s.replace("'", "'\\''") + "'";
        StringBuilder b = new StringBuilder("$'");
        s.codePoints().forEach(cp -> {
            switch (cp) {
                case '\\' -> b.append("\\\\");
                case '\'' -> b.append("\\'");
                case '\n' -> b.append("\\n");
                case '\t' -> b.append("\\t");
                case '\r' -> b.append("\\r");
                default -> {
                    if (printable(cp)) b.appendCodePoint(cp);
                    else if (cp <= 0xff) b.append(String.format("\\x%02x", cp));
                    else if (cp <= 0xffff) b.append(String.format("\\u%04x", cp));
                    else b.append(String.format("\\U%08x", cp));
                }
            }
        });
        return b.append('\'').toString();
    }

    private static boolean printable(int cp) {
        if (cp < 0x20 || cp == 0x7f || Character.isISOControl(cp)) return false;
        int t = Character.getType(cp);
        return t != Character.FORMAT && t != Character.LINE_SEPARATOR && t != Character.PARAGRAPH_SEPARATOR
                && t != Character.SURROGATE && t != Character.UNASSIGNED && t != Character.PRIVATE_USE;
    }

    // ------------------------------------------------------------------ values

    private static String text(JsonNode n) { return n == null || n.isNull() || n.isMissingNode() ? null : clean(n.asText()); }

    private static String fileName(String path) {
        if (path == null) return null;
        int slash = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
        return path.substring(slash + 1);
    }

    /** Text as UTF-8 can carry it (a lone surrogate as U+FFFD). */
    private static String clean(String s) { return s == null ? null : PartStore.text(s); }

    private static Number number(Object o) { return o == null ? 0 : (Number) o; }

    private static Double asDouble(Object o) { return o == null ? null : ((Number) o).doubleValue(); }
}
