package linlens.concepts;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Concept files: the built-in ones read, hostile ones are refused with one line, made ones are written whole. */
class ConceptLibraryTest {
    @TempDir Path dir;

    @Test
    void everyBuiltInConceptReadsAndNamesItsSource() {
        ConceptLibrary lib = new ConceptLibrary(dir);
        for (String name : ConceptLibrary.BUILT_IN) {
            Concept c = lib.resolve(name);
            assertEquals(name, c.name());
            assertFalse(c.words().isEmpty(), name);
            assertNotNull(c.source(), name + " names its source");
            assertNotNull(c.licence(), name + " names its licence");
        }
        assertFalse(lib.resolve("gender").versusWords().isEmpty(), "gender reads female over male");
        assertEquals(ConceptLibrary.BUILT_IN.size(), lib.list().size());
    }

    @Test
    void hostileFilesAreRefusedWithOneLine() throws Exception {
        String[][] cases = {
                {"not json", "is not a concept file"},
                {"{\"name\": \"a\", \"words\": [\"x\"]} {}", "is not a concept file"},
                {"{\"name\": \"a\", \"name\": \"b\", \"words\": [\"x\"]}", "is not a concept file"},
                {"{\"name\": \"a\", \"words\": [\"x\"], \"run\": \"rm -rf /\"}", "is not a concept file"},
                {"{\"name\": \"../etc/passwd\", \"words\": [\"x\"]}", "must be 1-64 lowercase letters"},
                {"{\"name\": \"a\"}", "has no words, contrast pairs or included concepts"},
                {"{\"name\": \"a\", \"words\": [\"\"]}", "has an empty word"},
                {"{\"name\": \"a\", \"words\": [null]}", "has an empty word"},
                {"{\"name\": \"a\", \"words\": [\"\\ud800\"]}", "not valid Unicode"},
                {"{\"name\": \"a\", \"words\": [\"x\"], \"rank\": 0}", "outside 1..64"},
                {"{\"name\": \"a\", \"words\": [\"x\"], \"rank\": 1e9}", "outside 1..64"},
                {"{\"name\": \"a\", \"contrast_pairs\": [[\"only one\"]]}", "must be two prompts"},
                {"{\"name\": \"a\", \"versus_words\": [\"x\"]}", "versus words but no words"},
                {"[]", "is not a concept file"},
                {"null", "is not a concept"},
        };
        for (String[] c : cases) {
            Path f = dir.resolve("case.json");
            Files.writeString(f, c[0]);
            var e = assertThrows(ConceptException.class, () -> ConceptLibrary.read(f), c[0]);
            assertTrue(e.getMessage().contains(c[1]), c[0] + " → " + e.getMessage());
            assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
        }
        Path bin = dir.resolve("bin.json");
        Files.write(bin, new byte[]{'{', (byte) 0xff, '}'});
        assertTrue(assertThrows(ConceptException.class, () -> ConceptLibrary.read(bin)).getMessage().contains("not UTF-8"));
        Path big = dir.resolve("big.json");
        Files.write(big, new byte[(int) ConceptLibrary.MAX_FILE_BYTES + 1]);
        assertTrue(assertThrows(ConceptException.class, () -> ConceptLibrary.read(big)).getMessage().contains("at most"));
        String many = "{\"name\": \"a\", \"words\": [" + "\"w\",".repeat(Concept.MAX_WORDS) + "\"w\"]}";
        Files.writeString(big, many);
        assertTrue(assertThrows(ConceptException.class, () -> ConceptLibrary.read(big)).getMessage().contains("at most " + Concept.MAX_WORDS));
    }

    @Test
    void namesNeverReachOutsideTheFolder() {
        ConceptLibrary lib = new ConceptLibrary(dir);
        for (String bad : new String[]{"../x", "/etc/passwd", "a/b", "A", "", "x".repeat(65), "a\u0000b", ".hidden"})
            assertTrue(assertThrows(ConceptException.class, () -> lib.resolve(bad)).getMessage().contains("lowercase letters"), bad);
        assertTrue(assertThrows(ConceptException.class, () -> lib.resolve("absent")).getMessage().contains("unknown concept"));
    }

    @Test
    void madeConceptsAreWrittenWholeAndIncludesResolve() throws Exception {
        ConceptLibrary lib = new ConceptLibrary(dir);
        Concept a = new Concept("a", "test", null, null, List.of("cat", "dog"), List.of(), List.of(List.of("I like cats", "I like dogs")),
                List.of(), null);
        Path f = lib.save(a, false);
        assertEquals(dir.resolve("a.json"), f);
        try (var files = Files.list(dir)) { assertEquals(1, files.count(), "no temporary file left"); }
        assertEquals(a.validated(), ConceptLibrary.read(f));
        assertTrue(assertThrows(ConceptException.class, () -> lib.save(a, false)).getMessage().contains("--replace"));
        lib.save(a, true);
        Concept b = new Concept("b", null, null, null, List.of("bird"), List.of(), List.of(), List.of("a", "gender"), 4);
        lib.save(b, false);
        Concept r = lib.resolve("b");
        assertTrue(r.words().containsAll(List.of("bird", "cat", "dog", "she")), r.words().toString());
        assertEquals(1, r.contrastPairs().size());
        assertTrue(r.versusWords().contains("he"));
        assertTrue(assertThrows(ConceptException.class, () -> lib.save(new Concept("gender", null, null, null, List.of("x"), null, null, null, null), true))
                .getMessage().contains("built in"));
        assertTrue(assertThrows(ConceptException.class, () -> lib.save(new Concept("c", null, null, null, null, null, null, List.of("missing"), null), false))
                .getMessage().contains("unknown concept"));
        // a loop written by hand is refused on use, not followed forever
        Files.writeString(dir.resolve("x.json"), "{\"name\": \"x\", \"include\": [\"y\"]}", StandardCharsets.UTF_8);
        Files.writeString(dir.resolve("y.json"), "{\"name\": \"y\", \"include\": [\"x\"]}", StandardCharsets.UTF_8);
        assertTrue(assertThrows(ConceptException.class, () -> lib.resolve("x")).getMessage().contains("includes itself"));
        assertNotEquals(ConceptLibrary.fingerprint(lib.resolve("a")), ConceptLibrary.fingerprint(lib.resolve("b")));
        assertEquals(ConceptLibrary.fingerprint(lib.resolve("a")), ConceptLibrary.fingerprint(lib.resolve("a")));
    }

    @Test
    void aSentConceptIsTheDriversWhereverItArrives() throws Exception {
        // the driver's folder has the concept with its include; the executor's has an older copy of the name
        ConceptLibrary driver = new ConceptLibrary(dir.resolve("driver")), executor = new ConceptLibrary(dir.resolve("executor"));
        driver.save(new Concept("sent-base", null, null, null, List.of("cat"), List.of(), List.of(), List.of(), null), false);
        driver.save(new Concept("sent-test", "made on the driver", null, null, List.of("bird"), List.of("stone"), List.of(),
                List.of("sent-base"), 2), false);
        executor.save(new Concept("sent-test", "an older copy", null, null, List.of("fish"), List.of(), List.of(), List.of(), null), false);
        Concept resolved = driver.resolve("sent-test");
        String json = ConceptLibrary.toJson(resolved);
        Concept sent = ConceptLibrary.acceptSent(json);
        Concept later = new Concept("sent-test", null, null, null, List.of("tree"), List.of(), List.of(), List.of(), null);
        try {
            assertEquals(resolved, sent);
            var entry = executor.find("sent-test");
            assertEquals("sent by the scan's driver", entry.where());
            assertEquals(ConceptLibrary.fingerprint(resolved), ConceptLibrary.fingerprint(executor.resolve("sent-test")));
            assertTrue(executor.resolve("sent-test").words().containsAll(List.of("bird", "cat")));
            // a later scan's concept of the same name replaces it
            ConceptLibrary.acceptSent(ConceptLibrary.toJson(later));
            assertEquals(later, executor.resolve("sent-test"));
            ConceptLibrary.forgetSent(sent);   // not the one held now: kept
            assertEquals(later, executor.resolve("sent-test"));
            ConceptLibrary.forgetSent(later);
            assertEquals("an older copy", executor.resolve("sent-test").description());
        } finally {
            // this JVM runs other tests: it holds no sent concept afterwards
            ConceptLibrary.forgetSent(sent);
            ConceptLibrary.forgetSent(later);
        }
        // what arrives is read as strictly as a file; a merge over a file's limits is refused before it is sent
        var bad = assertThrows(ConceptException.class, () -> ConceptLibrary.acceptSent("{\"name\": \"a\", \"words\": [\"x\"], \"run\": 1}"));
        assertTrue(bad.getMessage().startsWith("the concept sent by the scan's driver is not a concept file"), bad.getMessage());
        List<String> many = java.util.stream.IntStream.range(0, Concept.MAX_WORDS + 1).mapToObj(i -> "w" + i).toList();
        var big = assertThrows(ConceptException.class, () -> ConceptLibrary.toJson(new Concept("big", null, null, null, many, List.of(), List.of(),
                List.of(), null)));
        assertTrue(big.getMessage().contains("too many to send to executors"), big.getMessage());
        assertFalse(big.getMessage().contains("\n"));
    }
}
