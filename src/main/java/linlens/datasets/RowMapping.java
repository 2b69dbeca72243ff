package linlens.datasets;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.TextNode;
import com.fasterxml.jackson.dataformat.csv.CsvMapper;
import com.fasterxml.jackson.dataformat.csv.CsvParser;
import com.fasterxml.jackson.dataformat.csv.CsvSchema;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Turns a dataset's source files into rows of strings, {@code prompt} first, as its catalog entry
 * says ({@link Dataset.Prompt}, {@link Dataset#columns()}). The same code serves every dataset;
 * anything in a file that the mapping cannot place is a {@link DatasetException} naming the row.
 */
final class RowMapping {
    /** Receives each output row (column → value), in order. */
    @FunctionalInterface
    interface RowSink {
        void accept(Map<String, String> row) throws IOException;
    }

    private static final Pattern FIELD = Pattern.compile("\\{([^{}\\[\\]]+)(?:\\[(\\d{1,6})])?}");
    // Exact decimals: a score reads back as the file wrote it (0.9905163, not a binary double's digits).
    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .nodeFactory(JsonNodeFactory.withExactBigDecimals(true)).build();

    private static final CsvMapper CSV = CsvMapper.builder()
            .enable(CsvParser.Feature.WRAP_AS_ARRAY).enable(CsvParser.Feature.SKIP_EMPTY_LINES).build();

    private RowMapping() {}

    /** Converts the members' contents (in catalog order) and hands every row to {@code sink}. */
    static void convert(Dataset d, List<byte[]> members, RowSink sink) throws IOException {
        long sourceRow = 0;
        for (int m = 0; m < members.size(); m++) {
            Dataset.Member member = d.members().get(m);
            String text = utf8(members.get(m), d.name() + ": " + member.path());
            for (Map<String, JsonNode> fields : records(d, member, text)) {
                emit(d, member, fields, sourceRow, sink);
                sourceRow++;
            }
        }
    }

    private static void emit(Dataset d, Dataset.Member member, Map<String, JsonNode> fields, long sourceRow, RowSink sink)
            throws IOException {
        String where = d.name() + ": " + member.path() + " record " + (sourceRow + 1);
        int matched = 0;
        for (Dataset.Prompt p : d.prompts()) {
            if (!applies(p, fields)) continue;
            matched++;
            String prompt = render(p.template(), fields, where);
            if (p.cutAt() != null) {
                int at = prompt.indexOf(p.cutAt());
                if (at < 0) throw new DatasetException(where + ": no '" + p.cutAt() + "' to cut the prompt at");
                prompt = prompt.substring(0, at);
            }
            for (List<String> r : p.replace()) prompt = prompt.replace(r.get(0), render(r.get(1), fields, where));
            prompt = trim(prompt);
            if (prompt.isEmpty()) throw new DatasetException(where + ": the prompt is empty");
            Map<String, String> row = new LinkedHashMap<>();
            row.put("prompt", prompt);
            if (d.groupColumn() != null) row.put(d.groupColumn(), Long.toString(sourceRow));
            if (p.variant() != null) row.put("variant", p.variant());
            if (d.sectionColumn() != null) row.put(d.sectionColumn(), value(fields.get(d.sectionColumn()), where));
            row.putAll(member.columns());
            for (var c : p.columns().entrySet()) row.put(c.getKey(), render(c.getValue(), fields, where));
            for (var c : d.columns().entrySet()) row.put(c.getKey(), render(c.getValue(), fields, where));
            sink.accept(row);
        }
        if (matched == 0) throw new DatasetException(where + ": no prompt rule applies to it");
    }

    /** Without leading and trailing white space, the no-break spaces included (String.strip keeps those). */
    static String trim(String s) {
        int a = 0, b = s.length();
        while (a < b && blank(s.codePointAt(a))) a += Character.charCount(s.codePointAt(a));
        while (b > a && blank(s.codePointBefore(b))) b -= Character.charCount(s.codePointBefore(b));
        return s.substring(a, b);
    }

    private static boolean blank(int c) { return Character.isWhitespace(c) || Character.isSpaceChar(c); }

    private static boolean applies(Dataset.Prompt p, Map<String, JsonNode> fields) {
        for (var w : p.when().entrySet()) {
            JsonNode v = fields.get(w.getKey());
            if (v == null || !v.isTextual() || !v.asText().equals(w.getValue())) return false;
        }
        return true;
    }

    /** The template with each {field} or {field[i]} replaced by the row's value; values are not scanned again. */
    static String render(String template, Map<String, JsonNode> fields, String where) {
        Matcher m = FIELD.matcher(template);
        StringBuilder out = new StringBuilder();
        int last = 0;
        while (m.find()) {
            out.append(template, last, m.start());
            JsonNode v = fields.get(m.group(1));
            if (v == null) throw new DatasetException(where + ": has no field '" + m.group(1) + "'");
            if (m.group(2) != null) {
                int i = Integer.parseInt(m.group(2));
                if (!v.isArray() || i >= v.size())
                    throw new DatasetException(where + ": field '" + m.group(1) + "' has no element " + i);
                v = v.get(i);
            }
            out.append(value(v, where));
            last = m.end();
        }
        return out.append(template, last, template.length()).toString();
    }

    /** A field as text: strings as they are, numbers as written, lists and objects as JSON, null as "". */
    private static String value(JsonNode v, String where) {
        if (v == null || v.isNull()) return "";
        if (v.isTextual()) return v.asText();
        if (v.isBigDecimal()) return v.decimalValue().toString();
        if (v.isValueNode()) return v.asText();
        try {
            return JSON.writeValueAsString(v);
        } catch (JsonProcessingException e) {
            throw new DatasetException(where + ": " + e.getOriginalMessage());
        }
    }

    /** The source's records as field maps. */
    private static List<Map<String, JsonNode>> records(Dataset d, Dataset.Member member, String text) {
        String where = d.name() + ": " + member.path();
        return switch (d.format()) {
            case "jsonl" -> jsonl(text, where);
            case "csv" -> csv(text, where);
            case "lines" -> lines(d, text, where);
            default -> throw new DatasetException(where + ": unknown format " + d.format());
        };
    }

    private static List<Map<String, JsonNode>> jsonl(String text, String where) {
        List<Map<String, JsonNode>> out = new ArrayList<>();
        int lineNo = 0;
        for (String line : text.split("\n", -1)) {
            lineNo++;
            if (line.isBlank()) continue;
            JsonNode n;
            try {
                n = JSON.readTree(line);
            } catch (JsonProcessingException e) {
                throw new DatasetException(where + " line " + lineNo + ": not JSON (" + e.getOriginalMessage() + ")");
            }
            if (n == null || !n.isObject()) throw new DatasetException(where + " line " + lineNo + ": not a JSON object");
            Map<String, JsonNode> fields = new LinkedHashMap<>();
            n.properties().forEach(e -> fields.put(e.getKey(), e.getValue()));
            out.add(fields);
        }
        return out;
    }

    /** RFC 4180 (Jackson's CSV reader): a header row, then records; quoted fields may hold commas, quotes ("") and line breaks. */
    static List<Map<String, JsonNode>> csv(String text, String where) {
        List<String[]> records;
        try (MappingIterator<String[]> it = CSV.readerFor(String[].class).with(CsvSchema.emptySchema()).readValues(text)) {
            records = it.readAll();
        } catch (IOException e) {
            String m = e instanceof JsonProcessingException j ? j.getOriginalMessage() : e.getMessage();
            throw new DatasetException(where + ": " + (m != null && m.contains("closing quote") ? "a quoted field is not closed" : "not CSV (" + m + ")"));
        }
        if (records.isEmpty()) throw new DatasetException(where + ": no header row");
        String[] header = records.get(0);
        List<Map<String, JsonNode>> out = new ArrayList<>();
        for (int r = 1; r < records.size(); r++) {
            String[] rec = records.get(r);
            if (rec.length != header.length)
                throw new DatasetException(where + " record " + r + ": " + rec.length + " fields, the header has " + header.length);
            Map<String, JsonNode> fields = new LinkedHashMap<>();
            for (int i = 0; i < header.length; i++) fields.put(header[i], TextNode.valueOf(rec[i]));
            out.add(fields);
        }
        return out;
    }

    private static List<Map<String, JsonNode>> lines(Dataset d, String text, String where) {
        List<Map<String, JsonNode>> out = new ArrayList<>();
        int section = -1, lineNo = 0;
        for (String line : text.split("\n", -1)) {
            lineNo++;
            if (line.endsWith("\r")) line = line.substring(0, line.length() - 1);
            if (line.isBlank()) continue;
            if (d.sectionHeader() != null && line.equals(d.sectionHeader())) {
                if (++section >= d.sections().size())
                    throw new DatasetException(where + " line " + lineNo + ": more sections than the " + d.sections().size() + " expected");
                continue;
            }
            Map<String, JsonNode> fields = new LinkedHashMap<>();
            fields.put("text", TextNode.valueOf(line));
            if (d.sectionHeader() != null) {
                if (section < 0) throw new DatasetException(where + " line " + lineNo + ": text before the first section header");
                fields.put(d.sectionColumn(), TextNode.valueOf(d.sections().get(section)));
            }
            out.add(fields);
        }
        if (d.sectionHeader() != null && section != d.sections().size() - 1)
            throw new DatasetException(where + ": " + (section + 1) + " sections, expected " + d.sections().size());
        return out;
    }

    private static String utf8(byte[] bytes, String where) {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new DatasetException(where + ": not UTF-8 text");
        }
    }
}
