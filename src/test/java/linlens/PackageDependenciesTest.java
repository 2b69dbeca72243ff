package linlens;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The packages depend on each other in one direction only (the README's "Packages"). */
class PackageDependenciesTest {
    private static final Path MAIN = Path.of("src/main/java/linlens");
    private static final Pattern USE = Pattern.compile("\\blinlens\\.([a-z]+)\\.[A-Z]");

    /** package → the other packages of ours its sources name (imports and qualified names). */
    static Map<String, Set<String>> dependencies() throws IOException {
        Map<String, Set<String>> deps = new TreeMap<>();
        try (Stream<Path> files = Files.walk(MAIN)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                String pkg = MAIN.relativize(f).getName(0).toString();
                Set<String> to = deps.computeIfAbsent(pkg, k -> new TreeSet<>());
                Matcher m = USE.matcher(Files.readString(f));
                while (m.find()) if (!m.group(1).equals(pkg)) to.add(m.group(1));
            }
        }
        return deps;
    }

    @Test
    void thereAreNoCycles() throws IOException {
        Map<String, Set<String>> deps = dependencies();
        assertTrue(deps.size() >= 10, "packages found: " + deps.keySet());
        for (String start : deps.keySet()) {
            List<String> path = new ArrayList<>(List.of(start));
            assertEquals(List.of(), cycle(deps, start, path), "a cycle through " + start + " in " + deps);
        }
    }

    @Test
    void theLowerLayersNeverReachUp() throws IOException {
        Map<String, Set<String>> deps = dependencies();
        for (String low : List.of("format", "blas", "tokenizer", "model", "linear", "analysis"))
            for (String high : List.of("report", "serve", "cli", "bench"))
                assertTrue(!deps.getOrDefault(low, Set.of()).contains(high), low + " depends on " + high);
    }

    /** A path back to path[0] from the last package on it, or an empty list. */
    private static List<String> cycle(Map<String, Set<String>> deps, String start, List<String> path) {
        for (String next : deps.getOrDefault(path.getLast(), Set.of())) {
            if (next.equals(start)) { List<String> c = new ArrayList<>(path); c.add(start); return c; }
            if (path.contains(next)) continue;
            path.add(next);
            List<String> c = cycle(deps, start, path);
            path.removeLast();
            if (!c.isEmpty()) return c;
        }
        return List.of();
    }
}
