package linlens.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import linlens.concepts.Concept;
import linlens.concepts.ConceptLibrary;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A concept file: arbitrary bytes read as {@code linlens concepts make --from FILE} reads them, and,
 * when they pass, saved and resolved by name as every caller then asks for it. A bad file is a
 * {@link linlens.concepts.ConceptException} (bad input); nothing else may escape, and a file that
 * passes must save and read back equal.
 */
class ConceptFileFuzzTest {
    @FuzzTest(maxDuration = "30s")
    void conceptFile(byte[] input) throws Exception {
        Path dir = Files.createTempDirectory("linlens-fuzz-concepts");
        Path file = dir.resolve("in.json");
        try {
            Files.write(file, input);
            FuzzContract.expectBadInputOnly(() -> {
                Concept c = ConceptLibrary.read(file);
                ConceptLibrary lib = new ConceptLibrary(dir.resolve("made"));
                if (ConceptLibrary.BUILT_IN.contains(c.name()) || !c.include().isEmpty()) return;  // refused or needs others: checked by the tests
                lib.save(c, true);
                Concept back = lib.resolve(c.name());
                if (!back.words().equals(c.words()) || !back.contrastPairs().equals(c.contrastPairs()))
                    throw new IllegalStateException("a saved concept reads back different");
            });
        } finally {
            try (var files = Files.walk(dir)) {
                for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
            }
        }
    }
}
