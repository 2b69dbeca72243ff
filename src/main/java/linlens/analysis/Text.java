package linlens.analysis;

/** Token text made visible in a terminal (console summaries). */
public final class Text {
    private Text() {}

    public static String quote(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '\n' -> b.append("\\n");
                case '\t' -> b.append("\\t");
                case '\r' -> b.append("\\r");
                case '"' -> b.append("\\\"");
                default -> { if (c < 0x20) b.append(String.format("\\x%02x", (int) c)); else b.append(c); }
            }
        }
        return b.append('"').toString();
    }

    /** The first n tokens, quoted for the console. */
    public static String join(java.util.List<String> toks, int n) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < Math.min(n, toks.size()); i++) b.append(i == 0 ? "" : " ").append(quote(toks.get(i)));
        return b.toString();
    }

    /** A number as a person writes it: 0.25, 1, 1.5e-05 (no trailing zeros). */
    public static String number(double v) {
        return java.math.BigDecimal.valueOf(v).stripTrailingZeros().toPlainString().length() <= 10
                ? java.math.BigDecimal.valueOf(v).stripTrailingZeros().toPlainString() : String.format("%.3g", v);
    }

    /** At most {@code max} characters (code points kept whole): the start and the end, " … " between. */
    public static String elide(String s, int max) {
        if (s.codePointCount(0, s.length()) <= max) return s;
        int head = max * 2 / 3, tail = max - head - 3;
        int headEnd = s.offsetByCodePoints(0, head), tailStart = s.offsetByCodePoints(s.length(), -tail);
        return s.substring(0, headEnd) + " … " + s.substring(tailStart);
    }

    /** Numbers to {@code digits} significant digits, space-separated: a per-layer series on one line. */
    public static String numbers(double[] values, int digits) {
        StringBuilder b = new StringBuilder();
        for (double v : values) b.append(b.isEmpty() ? "" : " ").append(String.format("%." + digits + "g", v));
        return b.toString();
    }
}
