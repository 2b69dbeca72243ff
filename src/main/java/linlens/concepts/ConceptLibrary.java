package linlens.concepts;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import linlens.format.CacheDirectory;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * Where concepts come from: the ones that ship in the jar (resources {@code linlens/concepts/NAME.json},
 * made from published word lists, each naming its source) and the ones a user made with
 * {@code linlens concepts make}, kept in {@link CacheDirectory#concepts()}. Concepts are asked for
 * by name only, everywhere (command line, app, scans), so that no request names a file.
 */
public final class ConceptLibrary {
    /** The built-in concepts, in the order {@code concepts list} shows them. */
    public static final List<String> BUILT_IN = List.of("gender", "religion", "race-nationality", "profanity");

    /** A concept file is small: word lists, a few prompts. */
    static final long MAX_FILE_BYTES = 4L << 20;
    private static final int MAX_INCLUDE_DEPTH = 8;

    static final JsonMapper JSON = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .enable(SerializationFeature.INDENT_OUTPUT)
            .build();

    /**
     * Concepts sent by a scan's driver to this JVM (a Spark executor), by name. A made concept lives
     * in the driver's concept folder, which executors on other machines do not see (or see an older
     * copy of); so the driver sends the concept it resolved with the tasks, and {@link #find} answers
     * it before the built-ins and files, so that every executor scores the driver's concept. Scans
     * run one after another in a JVM: a concept sent for a later scan replaces one of the same name
     * (the executor checks the fingerprint the driver recorded, so a mix-up fails the task).
     */
    private static final Map<String, Concept> SENT = new ConcurrentHashMap<>();

    private final Path userDir;

    public ConceptLibrary(Path userDir) { this.userDir = userDir; }

    /** The library with the user's folder from the environment. */
    public static ConceptLibrary standard() { return new ConceptLibrary(CacheDirectory.concepts()); }

    public Path userDir() { return userDir; }

    /** A concept and where it was found ("built-in" or its file). */
    public record Entry(Concept concept, String where) {}

    /** The concept of that name with its included concepts merged in; a {@link ConceptException} when there is none. */
    public Concept resolve(String name) {
        return resolve(name, new HashSet<>(), 0);
    }

    private Concept resolve(String name, Set<String> seen, int depth) {
        Concept c = find(name).concept();
        if (!seen.add(name)) throw new ConceptException("concept " + name + " includes itself");
        if (depth > MAX_INCLUDE_DEPTH) throw new ConceptException("concept " + name + ": includes nested more than " + MAX_INCLUDE_DEPTH + " deep");
        Concept merged = new Concept(c.name(), c.description(), c.source(), c.licence(), c.words(), c.versusWords(),
                c.contrastPairs(), List.of(), c.rank());
        for (String inc : c.include()) merged = merged.plus(resolve(inc, seen, depth + 1));
        seen.remove(name);
        return merged;
    }

    /** The concept file of that name as written (includes not merged). */
    public Entry find(String name) {
        if (name == null || !Concept.NAME.matcher(name).matches())
            throw new ConceptException("concept name " + Concept.quote(name) + " must be 1-64 lowercase letters, digits or dashes");
        Concept sent = SENT.get(name);
        if (sent != null) return new Entry(sent, "sent by the scan's driver");
        if (BUILT_IN.contains(name)) return new Entry(builtIn(name), "built-in");
        Path file = userDir.resolve(name + ".json");
        if (!Files.isRegularFile(file))
            throw new ConceptException("unknown concept " + Concept.quote(name) + ": the built-in ones are " + String.join(", ", BUILT_IN)
                    + "; make one with 'linlens concepts make' (see 'linlens concepts list')");
        Concept c = read(file);
        if (!c.name().equals(name)) throw new ConceptException(file + " names the concept " + Concept.quote(c.name()) + ", not " + name);
        return new Entry(c, file.toString());
    }

    /** Every concept: the built-in ones, then the user's by name (files that do not read are listed with their problem). */
    public List<Entry> list() {
        List<Entry> out = new ArrayList<>();
        for (String n : BUILT_IN) out.add(new Entry(builtIn(n), "built-in"));
        if (Files.isDirectory(userDir)) {
            try (Stream<Path> files = Files.list(userDir)) {
                for (Path f : files.filter(p -> p.getFileName().toString().endsWith(".json")).sorted().toList()) {
                    String n = f.getFileName().toString().replaceFirst("\\.json$", "");
                    if (!Concept.NAME.matcher(n).matches() || BUILT_IN.contains(n)) continue;
                    try {
                        out.add(find(n));
                    } catch (ConceptException e) {
                        out.add(new Entry(null, f + ": " + e.getMessage()));
                    }
                }
            } catch (IOException e) {
                throw new ConceptException("cannot list " + userDir + ": " + e.getMessage());
            }
        }
        return out;
    }

    /** Writes a user concept atomically (replacing one of the same name only when {@code replace}); its path. */
    public Path save(Concept c, boolean replace) throws IOException {
        c.validated();
        if (BUILT_IN.contains(c.name())) throw new ConceptException("concept " + c.name() + " is built in: choose another name");
        resolveIncludes(c);
        Files.createDirectories(userDir);
        Path file = userDir.resolve(c.name() + ".json");
        if (!replace && Files.exists(file)) throw new ConceptException("concept " + c.name() + " exists (" + file + "): give --replace to overwrite it");
        Path tmp = Files.createTempFile(userDir, "." + c.name() + "-", ".tmp");
        try {
            Files.writeString(tmp, JSON.writeValueAsString(c) + "\n", StandardCharsets.UTF_8);
            try {
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
        return file;
    }

    /** The included names must exist and not loop. */
    private void resolveIncludes(Concept c) {
        for (String inc : c.include()) {
            if (inc.equals(c.name())) throw new ConceptException("concept " + c.name() + " includes itself");
            resolve(inc);
        }
    }

    /** Reads and checks a concept file (any path: the command line's {@code concepts make --from}). */
    public static Concept read(Path file) {
        try {
            long size = Files.size(file);
            if (size > MAX_FILE_BYTES) throw new ConceptException(file + " is " + size + " bytes: a concept file is at most " + MAX_FILE_BYTES);
            return parse(Files.readAllBytes(file), file.toString());
        } catch (NoSuchFileException e) {
            throw new ConceptException(file + ": no such file");
        } catch (IOException e) {
            throw new ConceptException("cannot read " + file + ": " + e.getMessage());
        }
    }

    static Concept parse(byte[] bytes, String what) {
        try {
            var decoder = StandardCharsets.UTF_8.newDecoder();
            decoder.decode(java.nio.ByteBuffer.wrap(bytes));
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new ConceptException(what + " is not UTF-8 text");
        }
        try {
            Concept c = JSON.readValue(bytes, Concept.class);
            if (c == null) throw new ConceptException(what + " is not a concept (a JSON object)");
            return c.validated();
        } catch (JsonProcessingException e) {
            throw new ConceptException(what + " is not a concept file: " + e.getOriginalMessage().lines().findFirst().orElse("bad JSON"));
        } catch (IOException e) {
            throw new ConceptException("cannot read " + what + ": " + e.getMessage());
        }
    }

    /**
     * A resolved concept (includes merged) as the driver sends it to executors: the JSON of its file.
     * Checked as a file is, since {@link #acceptSent} reads it so (a merge over a file's limits is
     * refused here, on the driver, rather than in every task).
     */
    public static String toJson(Concept c) {
        if (!c.include().isEmpty()) throw new IllegalArgumentException("concept " + c.name() + " is not resolved: it includes " + c.include());
        try {
            c.validated();
        } catch (ConceptException e) {
            throw new ConceptException(e.getMessage() + " with its included concepts merged, too many to send to executors");
        }
        try {
            return JSON.writeValueAsString(c);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Registers a concept the driver sent ({@link #toJson}) in this JVM, replacing one of its name sent before; the concept. */
    public static Concept acceptSent(String json) {
        Concept c = parse(json.getBytes(StandardCharsets.UTF_8), "the concept sent by the scan's driver");
        SENT.put(c.name(), c);
        return c;
    }

    /**
     * Forgets a concept sent to this JVM, if it is still that one: the driver, when its job is done,
     * since a local master's executors share its JVM, whose later commands must read the files again.
     */
    public static void forgetSent(Concept c) { SENT.remove(c.name(), c); }

    /** The SHA-256 of the concept's JSON (hex): what a scan's manifest records of it. */
    public static String fingerprint(Concept c) {
        try {
            byte[] json = JSON.writeValueAsBytes(c);
            return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(json));
        } catch (JsonProcessingException | java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Concept builtIn(String name) {
        String res = "/linlens/concepts/" + name + ".json";
        try (InputStream in = ConceptLibrary.class.getResourceAsStream(res)) {
            if (in == null) throw new IllegalStateException("the built-in concept " + res + " is missing from the jar");
            return parse(in.readAllBytes(), res);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
