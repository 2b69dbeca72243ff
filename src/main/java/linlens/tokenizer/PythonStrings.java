package linlens.tokenizer;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Python's str methods that chat templates call ({@code .strip()}, {@code .split()},
 * {@code .startswith()}, ...) and dict's ({@code .items()}, {@code .get()}), with Python's
 * meaning, for {@link ChatTemplateResolver}. Jinjava would otherwise call Java's methods of the
 * same name, which differ ({@code split} takes a regex) or do not exist.
 */
final class PythonStrings {
    private PythonStrings() {}

    /** Python's white space for strip/split without arguments. */
    static boolean isSpace(int c) {
        return Character.isWhitespace(c) || Character.isSpaceChar(c) || c == 0x1C || c == 0x1D || c == 0x1E || c == 0x1F
                || c == 0x85;
    }

    /** Python's str() of a template value. */
    static String str(Object v) {
        if (v == null) return "None";
        if (v instanceof Boolean b) return b ? "True" : "False";
        return v.toString();
    }

    static boolean has(String name) {
        return switch (name) {
            case "strip", "lstrip", "rstrip", "split", "rsplit", "splitlines", "startswith", "endswith", "lower", "upper",
                 "title", "capitalize", "replace", "find", "rfind", "index", "count", "join", "isdigit", "isalpha",
                 "isalnum", "isspace", "islower", "isupper", "removeprefix", "removesuffix", "format", "swapcase" -> true;
            default -> false;
        };
    }

    /** {@code s.name(args)} as Python computes it. */
    static Object call(String s, String name, Object[] a) {
        return switch (name) {
            case "strip" -> strip(s, arg(a, 0), true, true);
            case "lstrip" -> strip(s, arg(a, 0), true, false);
            case "rstrip" -> strip(s, arg(a, 0), false, true);
            case "split" -> split(s, arg(a, 0), a.length > 1 ? toInt(a[1]) : -1);
            case "rsplit" -> rsplit(s, arg(a, 0), a.length > 1 ? toInt(a[1]) : -1);
            case "splitlines" -> List.of(s.split("\\R", -1)).subList(0, s.isEmpty() ? 0 : s.split("\\R", -1).length
                    - (s.endsWith("\n") || s.endsWith("\r") ? 1 : 0));
            case "startswith" -> affix(s, a, true);
            case "endswith" -> affix(s, a, false);
            case "lower" -> s.toLowerCase(Locale.ROOT);
            case "upper" -> s.toUpperCase(Locale.ROOT);
            case "swapcase" -> swapcase(s);
            case "title" -> title(s);
            case "capitalize" -> s.isEmpty() ? s : s.substring(0, 1).toUpperCase(Locale.ROOT) + s.substring(1).toLowerCase(Locale.ROOT);
            case "replace" -> replace(s, need(a, 0, name), need(a, 1, name), a.length > 2 ? toInt(a[2]) : -1);
            case "find", "index" -> {
                int i = s.indexOf(need(a, 0, name));
                if (i < 0 && name.equals("index")) throw ChatTemplate.Rendering.stop("substring not found");
                yield (long) (i < 0 ? -1 : s.codePointCount(0, i));
            }
            case "rfind" -> {
                int i = s.lastIndexOf(need(a, 0, name));
                yield (long) (i < 0 ? -1 : s.codePointCount(0, i));
            }
            case "count" -> count(s, need(a, 0, name));
            case "join" -> join(s, a.length > 0 ? a[0] : null);
            case "isdigit" -> !s.isEmpty() && s.codePoints().allMatch(Character::isDigit);
            case "isalpha" -> !s.isEmpty() && s.codePoints().allMatch(Character::isLetter);
            case "isalnum" -> !s.isEmpty() && s.codePoints().allMatch(Character::isLetterOrDigit);
            case "isspace" -> !s.isEmpty() && s.codePoints().allMatch(PythonStrings::isSpace);
            case "islower" -> s.codePoints().anyMatch(Character::isLowerCase) && s.equals(s.toLowerCase(Locale.ROOT));
            case "isupper" -> s.codePoints().anyMatch(Character::isUpperCase) && s.equals(s.toUpperCase(Locale.ROOT));
            case "removeprefix" -> { String p = need(a, 0, name); yield s.startsWith(p) ? s.substring(p.length()) : s; }
            case "removesuffix" -> { String p = need(a, 0, name); yield !p.isEmpty() && s.endsWith(p) ? s.substring(0, s.length() - p.length()) : s; }
            case "format" -> throw ChatTemplate.Rendering.stop("str.format is not supported in chat templates here");
            default -> throw ChatTemplate.Rendering.stop("str has no method '" + name + "'");
        };
    }

    /** dict's methods; null when {@code name} is not one. */
    static boolean hasMapMethod(String name) {
        return switch (name) { case "items", "keys", "values", "get" -> true; default -> false; };
    }

    static Object callMap(Map<?, ?> m, String name, Object[] a) {
        return switch (name) {
            case "items" -> {
                List<Object> out = new ArrayList<>();
                for (Map.Entry<?, ?> e : m.entrySet()) out.add(new ArrayList<>(java.util.Arrays.asList(e.getKey(), e.getValue())));
                yield out;
            }
            case "keys" -> new ArrayList<>(m.keySet());
            case "values" -> new ArrayList<>(m.values());
            case "get" -> {
                Object key = a.length > 0 ? a[0] : null;
                yield m.containsKey(key) ? m.get(key) : (a.length > 1 ? a[1] : null);
            }
            default -> throw ChatTemplate.Rendering.stop("dict has no method '" + name + "'");
        };
    }

    private static String arg(Object[] a, int i) {
        if (a == null || a.length <= i || a[i] == null) return null;
        return str(a[i]);
    }

    private static String need(Object[] a, int i, String method) {
        String s = arg(a, i);
        if (s == null) throw ChatTemplate.Rendering.stop("str." + method + " needs an argument");
        return s;
    }

    private static int toInt(Object o) {
        if (o instanceof Number n) return n.intValue();
        try {
            return Integer.parseInt(str(o).strip());
        } catch (NumberFormatException e) {
            throw ChatTemplate.Rendering.stop("an integer was expected, not '" + ChatTemplate.oneLine(str(o)) + "'");
        }
    }

    static String strip(String s, String chars, boolean left, boolean right) {
        int b = 0, e = s.length();
        if (left) while (b < e && strips(s.codePointAt(b), chars)) b += Character.charCount(s.codePointAt(b));
        if (right) while (e > b && strips(s.codePointBefore(e), chars)) e -= Character.charCount(s.codePointBefore(e));
        return s.substring(b, e);
    }

    private static boolean strips(int c, String chars) {
        return chars == null ? isSpace(c) : chars.indexOf(c) >= 0;
    }

    static List<String> split(String s, String sep, int max) {
        List<String> out = new ArrayList<>();
        if (sep == null) {
            int i = 0, n = s.length();
            while (true) {
                while (i < n && isSpace(s.codePointAt(i))) i += Character.charCount(s.codePointAt(i));
                if (i >= n) break;
                if (max >= 0 && out.size() == max) { out.add(strip(s.substring(i), null, false, true)); break; }
                int j = i;
                while (j < n && !isSpace(s.codePointAt(j))) j += Character.charCount(s.codePointAt(j));
                out.add(s.substring(i, j));
                i = j;
            }
            return out;
        }
        if (sep.isEmpty()) throw ChatTemplate.Rendering.stop("str.split: empty separator");
        int i = 0;
        while (max < 0 || out.size() < max) {
            int j = s.indexOf(sep, i);
            if (j < 0) break;
            out.add(s.substring(i, j));
            i = j + sep.length();
        }
        out.add(s.substring(i));
        return out;
    }

    static List<String> rsplit(String s, String sep, int max) {
        if (max < 0) return split(s, sep, -1);
        List<String> out = new ArrayList<>();
        if (sep == null) {
            int e = s.length();
            while (true) {
                while (e > 0 && isSpace(s.codePointBefore(e))) e -= Character.charCount(s.codePointBefore(e));
                if (e <= 0) break;
                if (out.size() == max) { out.addFirst(strip(s.substring(0, e), null, true, false)); break; }
                int j = e;
                while (j > 0 && !isSpace(s.codePointBefore(j))) j -= Character.charCount(s.codePointBefore(j));
                out.addFirst(s.substring(j, e));
                e = j;
            }
            return out;
        }
        if (sep.isEmpty()) throw ChatTemplate.Rendering.stop("str.rsplit: empty separator");
        int e = s.length();
        while (out.size() < max) {
            int j = s.lastIndexOf(sep, e - sep.length());
            if (j < 0 || e - sep.length() < 0) break;
            out.addFirst(s.substring(j + sep.length(), e));
            e = j;
        }
        out.addFirst(s.substring(0, e));
        return out;
    }

    private static boolean affix(String s, Object[] a, boolean start) {
        if (a.length == 0) throw ChatTemplate.Rendering.stop("str." + (start ? "startswith" : "endswith") + " needs an argument");
        List<String> options = new ArrayList<>();
        if (a[0] instanceof Collection<?> c) for (Object o : c) options.add(str(o));
        else options.add(str(a[0]));
        for (String o : options) if (start ? s.startsWith(o) : s.endsWith(o)) return true;
        return false;
    }

    private static String replace(String s, String from, String to, int count) {
        if (count < 0) {
            if (from.isEmpty()) {
                StringBuilder b = new StringBuilder(to);
                s.codePoints().forEach(c -> b.appendCodePoint(c).append(to));
                return b.toString();
            }
            return s.replace(from, to);
        }
        StringBuilder b = new StringBuilder();
        int i = 0, done = 0;
        while (done < count) {
            int j = s.indexOf(from, i);
            if (j < 0 || from.isEmpty()) break;
            b.append(s, i, j).append(to);
            i = j + from.length();
            done++;
        }
        return b.append(s.substring(i)).toString();
    }

    private static long count(String s, String sub) {
        if (sub.isEmpty()) return s.codePointCount(0, s.length()) + 1L;
        long n = 0;
        for (int i = s.indexOf(sub); i >= 0; i = s.indexOf(sub, i + sub.length())) n++;
        return n;
    }

    private static String join(String sep, Object items) {
        if (!(items instanceof Iterable<?> it)) throw ChatTemplate.Rendering.stop("str.join needs a list");
        StringBuilder b = new StringBuilder();
        boolean first = true;
        for (Object o : it) {
            if (!first) b.append(sep);
            b.append(str(o));
            first = false;
            if (b.length() > ChatTemplate.MAX_OUTPUT_CHARS) throw ChatTemplate.Rendering.stop("a string longer than " + ChatTemplate.MAX_OUTPUT_CHARS + " characters");
        }
        return b.toString();
    }

    private static String title(String s) {
        StringBuilder b = new StringBuilder();
        boolean prevCased = false;
        for (int i = 0; i < s.length(); ) {
            int c = s.codePointAt(i);
            boolean cased = Character.isLetter(c);
            b.appendCodePoint(cased ? (prevCased ? Character.toLowerCase(c) : Character.toTitleCase(c)) : c);
            prevCased = cased;
            i += Character.charCount(c);
        }
        return b.toString();
    }

    private static String swapcase(String s) {
        StringBuilder b = new StringBuilder();
        s.codePoints().forEach(c -> b.appendCodePoint(Character.isUpperCase(c) ? Character.toLowerCase(c) : Character.toUpperCase(c)));
        return b.toString();
    }
}
