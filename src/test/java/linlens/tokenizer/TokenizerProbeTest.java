package linlens.tokenizer;

import com.fasterxml.jackson.databind.node.ObjectNode;
import linlens.format.ModelFormatException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Malformed tokenizer.json files through {@link HfTokenizer#open} and the CLI: refused with one
 * line, and this JVM survives, including for what only a child JVM can find out.
 */
class TokenizerProbeTest {
    static final Path TINY = Path.of("src/test/resources/reference/tiny");
    @TempDir Path dir;

    /** A copy of the tiny Llama 3 folder with its tokenizer.json edited. */
    Path folder(Consumer<ObjectNode> edit) throws Exception {
        Path to = Files.createTempDirectory(dir, "hf");
        try (var files = Files.list(TINY.resolve("llama3/hf"))) {
            for (Path f : files.toList()) Files.copy(f, to.resolve(f.getFileName()));
        }
        ObjectNode j = TokenizerJsonValidatorTest.base();
        edit.accept(j);
        Files.writeString(to.resolve("tokenizer.json"), j.toString());
        return to;
    }

    static String refused(Path folder) {
        var e = assertThrows(ModelFormatException.class, () -> HfTokenizer.open(folder));
        assertTrue(e.getMessage().startsWith(folder.resolve("tokenizer.json") + ": "), e.getMessage());
        assertEquals(1, e.getMessage().lines().count(), e.getMessage());
        return e.getMessage();
    }

    @Test
    void aCorruptCharsmapIsFoundByTheChildJvm() throws Exception {
        // well-formed as far as Java can tell (trie size, UTF-8 strings), but the trie points
        // outside itself: the library panics on the first text it normalizes
        byte[] blob = java.util.HexFormat.of().parseHex("04000000ffffffff616263");
        Path f = folder(t -> t.set("normalizer", TokenizerJsonValidatorTest.JSON.createObjectNode().put("type", "Precompiled")
                .put("precompiled_charsmap", java.util.Base64.getEncoder().encodeToString(blob))));
        String m = refused(f);
        assertTrue(m.contains("the tokenizers library crashes on it (Rust panic: index out of bounds"), m);
    }

    /** Found by the tokenizer.json fuzz target: loads fine, then fails on any character outside its vocabulary. */
    @Test
    void aUnigramWithoutAnUnknownIdIsRefusedByTheChildJvm() throws Exception {
        Path f = Files.createTempDirectory(dir, "hf");
        Files.copy(Path.of("src/test/resources/linlens/fuzz/TokenizerJsonFuzzTestInputs/tokenizerJson/unigram-without-unk-id.json"),
                f.resolve("tokenizer.json"));
        String m = refused(f);
        assertTrue(m.contains("Encountered an unknown token but `unk_id` is missing"), m);
    }

    @Test
    void aLibraryErrorIsOneLine() throws Exception {
        Path f = folder(t -> t.set("pre_tokenizer", TokenizerJsonValidatorTest.uncheck(() -> TokenizerJsonValidatorTest.json(
                "{\"type\":\"Metaspace\",\"replacement\":\"\",\"prepend_scheme\":\"always\",\"split\":true}"))));
        String m = refused(f);
        assertTrue(m.contains("the tokenizers library cannot load or run it (invalid value: string \"\", expected a character"), m);
    }

    @Test
    void validationRefusesBeforeTheLibrarySeesTheFile() throws Exception {
        Path f = folder(t -> t.set("post_processor", TokenizerJsonValidatorTest.uncheck(() -> TokenizerJsonValidatorTest.template(
                "[{\"SpecialToken\":{\"id\":\"[CLS]\",\"type_id\":0}},{\"Sequence\":{\"id\":\"A\",\"type_id\":0}}]", "{}"))));
        assertTrue(refused(f).endsWith("tokenizer.json: post_processor.special_tokens lacks \"[CLS]\" used by its template"));
        var e = assertThrows(ModelFormatException.class, () -> HfTokenizer.open(TINY.resolve("llama3/hf"), 256));
        assertTrue(e.getMessage().contains("model.vocab has 300 entries, more than the embedding's 256 rows"), e.getMessage());
    }

    @Test
    void aPassIsRemembered() throws Exception {
        HfTokenizer.open(TINY.resolve("llama3/hf"));
        int launches = TokenizerProbe.LAUNCHES.get();
        Tokenizer t = HfTokenizer.open(TINY.resolve("qwen2/hf")); // the same content: no second child JVM
        assertEquals(launches, TokenizerProbe.LAUNCHES.get(), "a remembered pass started a child JVM");
        assertEquals(300, t.vocabSize());
        // a file that differs gets its own probe, and passes
        Path f = folder(t2 -> ((com.fasterxml.jackson.databind.node.ArrayNode) t2.get("added_tokens"))
                .add(TokenizerJsonValidatorTest.added(300, "<extra>")));
        Tokenizer t3 = HfTokenizer.open(f);
        assertEquals(301, t3.vocabSize());
        assertArrayEquals(new int[] {300}, t3.encode("<extra>", false, true));
    }

    @Test
    void failureLines() {
        assertEquals("the tokenizers library crashes on it (Rust panic: no entry found for key)", TokenizerProbe.failure(
                "loaded\nthread '<unnamed>' panicked at src/processors/template.rs:563:61:\nno entry found for key\nstack backtrace:\n", 134));
        assertEquals("the tokenizers library cannot load or run it (Model missing.)", TokenizerProbe.failure("PROBE-ERROR: Model missing.\n", 3));
        assertEquals("the tokenizers library crashes on it (exit code 137)", TokenizerProbe.failure("", 137));
    }

    @Test
    void theCliRefusesWithExitCode2() throws Exception {
        Path f = folder(t -> ((ObjectNode) t.path("model").path("vocab")).put("#", 2_000_000_000));
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = linlens.cli.Main.execute(new String[] {"predict", "--model", f.toString(), "--prompt", "Hi"},
                new PrintWriter(out, true), new PrintWriter(err, true));
        assertEquals(2, code, err.toString());
        assertEquals(1, err.toString().strip().lines().count(), err.toString());
        assertTrue(err.toString().contains(f.resolve("tokenizer.json") + ": model.vocab[\"#\"] is 2000000000, not below the embedding's 300 rows"),
                err.toString());
    }
}
