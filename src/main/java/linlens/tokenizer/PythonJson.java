package linlens.tokenizer;

import java.util.Map;

/** Python's {@code json.dumps(x, ensure_ascii=False, indent=indent)}, as transformers' tojson filter writes it. */
final class PythonJson {
    private PythonJson() {}

    static String dumps(Object v, Integer indent, boolean sortKeys) {
        StringBuilder out = new StringBuilder();
        write(out, v, indent, sortKeys, 0);
        return out.toString();
    }

    private static void write(StringBuilder out, Object v, Integer indent, boolean sortKeys, int depth) {
        if (depth > 64) throw ChatTemplate.Rendering.stop("tojson: nested too deeply");
        if (out.length() > ChatTemplate.MAX_OUTPUT_CHARS) throw ChatTemplate.Rendering.stop("tojson: output too long");
        switch (v) {
            case null -> out.append("null");
            case Boolean b -> out.append(b ? "true" : "false");
            case Integer i -> out.append(i);
            case Long l -> out.append(l);
            case Short s -> out.append(s);
            case Number n -> out.append(pythonFloat(n.doubleValue()));
            case Map<?, ?> m -> {
                if (m.isEmpty()) { out.append("{}"); return; }
                out.append('{');
                boolean first = true;
                var entries = new java.util.ArrayList<Map.Entry<?, ?>>(m.entrySet());
                if (sortKeys) entries.sort(java.util.Comparator.comparing(e -> PythonStrings.str(e.getKey())));
                for (Map.Entry<?, ?> e : entries) {
                    if (!first) out.append(indent == null ? ", " : ",");
                    newline(out, indent, depth + 1);
                    string(out, PythonStrings.str(e.getKey()));
                    out.append(": ");
                    write(out, e.getValue(), indent, sortKeys, depth + 1);
                    first = false;
                }
                newline(out, indent, depth);
                out.append('}');
            }
            case Iterable<?> it -> {
                if (!it.iterator().hasNext()) { out.append("[]"); return; }
                out.append('[');
                boolean first = true;
                for (Object o : it) {
                    if (!first) out.append(indent == null ? ", " : ",");
                    newline(out, indent, depth + 1);
                    write(out, o, indent, sortKeys, depth + 1);
                    first = false;
                }
                newline(out, indent, depth);
                out.append(']');
            }
            default -> string(out, v.toString());
        }
    }

    private static void newline(StringBuilder out, Integer indent, int depth) {
        if (indent == null) return;
        out.append('\n');
        out.append(" ".repeat(Math.max(0, indent) * depth));
    }

    /** Python's repr of a float (shortest round trip), as json writes it. */
    static String pythonFloat(double d) {
        if (Double.isNaN(d)) return "NaN";
        if (Double.isInfinite(d)) return d > 0 ? "Infinity" : "-Infinity";
        if (d == Math.rint(d) && Math.abs(d) < 1e16) return String.format("%.1f", d);
        String s = Double.toString(d);
        return s.replace("E", "e");
    }

    private static void string(StringBuilder out, String s) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                default -> {
                    if (c < 0x20) out.append(String.format("\\u%04x", (int) c));
                    else out.append(c);
                }
            }
        }
        out.append('"');
    }
}
