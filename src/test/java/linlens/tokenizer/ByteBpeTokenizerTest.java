package linlens.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import linlens.format.GgufFile;
import linlens.format.ModelFormatException;
import linlens.testing.TinyGguf;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Byte-level BPE ("gpt2" GGUF tokenizers) against llama.cpp, and tokenizer.json folders against
 * transformers, on a varied corpus (reference/make_tiny_tokens.py): for each supported
 * pre-tokenizer a vocab-only copy of the tiny Llama 3 GGUF with that {@code tokenizer.ggml.pre}.
 */
class ByteBpeTokenizerTest {
    static final Path TINY = Path.of("src/test/resources/reference/tiny");

    static JsonNode fixture() throws Exception {
        return new ObjectMapper().readTree(TINY.resolve("tokens.json").toFile());
    }

    /** The tiny model's tokenizer metadata with {@code tokenizer.ggml.pre} replaced. */
    static Path vocabOnly(Path dir, String pre) throws Exception {
        try (GgufFile g = GgufFile.open(TINY.resolve("llama3/model.gguf"))) {
            TinyGguf t = new TinyGguf().put("general.architecture", "llama")
                    .put("tokenizer.ggml.model", g.string("tokenizer.ggml.model"))
                    .put("tokenizer.ggml.pre", pre)
                    .put("tokenizer.ggml.tokens", g.array("tokenizer.ggml.tokens", String[].class))
                    .put("tokenizer.ggml.token_type", g.array("tokenizer.ggml.token_type", int[].class))
                    .put("tokenizer.ggml.merges", g.array("tokenizer.ggml.merges", String[].class))
                    .put("tokenizer.ggml.bos_token_id", (int) g.integer("tokenizer.ggml.bos_token_id"))
                    .put("tokenizer.ggml.eos_token_id", (int) g.integer("tokenizer.ggml.eos_token_id"));
            if (g.has("tokenizer.ggml.add_bos_token")) t.put("tokenizer.ggml.add_bos_token", g.bool("tokenizer.ggml.add_bos_token", false));
            return t.write(dir.resolve(pre + ".gguf"));
        }
    }

    static int[] ints(JsonNode a) {
        int[] r = new int[a.size()];
        for (int i = 0; i < r.length; i++) r[i] = a.get(i).asInt();
        return r;
    }

    @Test
    void everyPreTokenizerMatchesLlamaCpp(@TempDir Path tmp) throws Exception {
        JsonNode f = fixture();
        JsonNode corpus = f.path("corpus");
        int checked = 0;
        for (var e : f.path("gguf").properties()) {
            try (GgufFile g = GgufFile.open(vocabOnly(tmp, e.getKey()))) {
                Tokenizer tok = Tokenizer.fromGguf(g);
                assertInstanceOf(ByteBpeTokenizer.class, tok);
                for (int i = 0; i < corpus.size(); i++) {
                    String text = corpus.get(i).asText();
                    assertArrayEquals(ints(e.getValue().get(i)), tok.encode(text), e.getKey() + ": " + text);
                    checked++;
                }
            }
        }
        assertTrue(checked >= 6 * 16, "texts checked: " + checked);
    }

    @Test
    void decodeRestoresTheText(@TempDir Path tmp) throws Exception {
        try (GgufFile g = GgufFile.open(vocabOnly(tmp, "llama-bpe"))) {
            Tokenizer tok = Tokenizer.fromGguf(g);
            for (JsonNode t : fixture().path("corpus")) {
                String text = t.asText();
                assertEquals(text, tok.decode(tok.encode(text, false, true)), text);
            }
        }
    }

    @Test
    void tokenizerJsonMatchesTransformers() throws Exception {
        JsonNode f = fixture();
        Tokenizer tok = HfTokenizer.open(TINY.resolve("llama3/hf"));
        for (int i = 0; i < f.path("corpus").size(); i++) {
            String text = f.path("corpus").get(i).asText();
            assertArrayEquals(ints(f.path("hf").get(i)), tok.encode(text), text);
        }
    }

    @Test
    void unknownPreTokenizerIsNamed(@TempDir Path tmp) throws Exception {
        try (GgufFile g = GgufFile.open(vocabOnly(tmp, "no-such-pre"))) {
            var e = assertThrows(ModelFormatException.class, () -> Tokenizer.fromGguf(g));
            assertTrue(e.getMessage().contains("unsupported BPE pre-tokenizer 'no-such-pre'"), e.getMessage());
        }
    }
}
