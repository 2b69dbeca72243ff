package linlens.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import linlens.format.GgufFile;
import linlens.format.ModelFormatException;
import linlens.testing.TinyGguf;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Every {@code tokenizer.ggml.pre} name llama.cpp accepts for byte-level BPE, against llama.cpp
 * (reference/make_pretok_tokens.py): for each name, vocab-only GGUFs with that name, made from one
 * of the reduced real vocabularies and from the corpus-substring vocabulary (whose merges cross
 * every word boundary), read through the normal GGUF path, must give llama.cpp's ids for every
 * text of the corpus, with special-token parsing off and on.
 */
class ByteBpePreTokenizerTest {
    static final Path DIR = Path.of("src/test/resources/reference/pretok");

    static JsonNode fixture() throws Exception {
        return new ObjectMapper().readTree(DIR.resolve("tokens.json").toFile());
    }

    /** The reduced vocabulary's tokenizer metadata with {@code tokenizer.ggml.pre} set to name (null: none). */
    static Path vocabOnly(Path dir, String vocab, String name) throws Exception {
        try (GgufFile g = GgufFile.open(DIR.resolve("vocab-" + vocab + ".gguf"))) {
            TinyGguf t = new TinyGguf().put("general.architecture", g.string("general.architecture"))
                    .put("tokenizer.ggml.model", g.string("tokenizer.ggml.model"))
                    .put("tokenizer.ggml.tokens", g.array("tokenizer.ggml.tokens", String[].class))
                    .put("tokenizer.ggml.token_type", g.array("tokenizer.ggml.token_type", int[].class))
                    .put("tokenizer.ggml.merges", g.array("tokenizer.ggml.merges", String[].class));
            if (name != null) t.put("tokenizer.ggml.pre", name);
            for (String key : List.of("bos", "eos", "unknown", "padding", "seperator", "mask", "eot", "eom")) {
                String k = "tokenizer.ggml." + key + "_token_id";
                if (g.has(k)) t.put(k, (int) g.integer(k));
            }
            return t.write(dir.resolve((name == null ? "no-pre" : name) + ".gguf"));
        }
    }

    static int[] ints(JsonNode a) {
        int[] r = new int[a.size()];
        for (int i = 0; i < r.length; i++) r[i] = a.get(i).asInt();
        return r;
    }

    @Test
    void everyNameMatchesLlamaCpp(@TempDir Path tmp) throws Exception {
        JsonNode f = fixture();
        List<String> texts = new ArrayList<>();
        f.path("corpus").forEach(t -> texts.add(t.asText()));
        int names = 0, checked = 0;
        List<String> failures = new ArrayList<>();
        for (String table : List.of("names", "names_on_substrings")) {
            for (var e : f.path(table).properties()) {
                String name = e.getKey(), vocab = e.getValue().path("vocab").asText();
                JsonNode ref = e.getValue().has("same_as") ? f.path(table).path(e.getValue().path("same_as").asText()) : e.getValue();
                List<String> all = new ArrayList<>(texts);
                all.add(f.path("vocabs").path(vocab).path("special_text").asText());
                try (GgufFile g = GgufFile.open(vocabOnly(tmp, vocab, name))) {
                    Tokenizer tok = Tokenizer.fromGguf(g);
                    assertInstanceOf(ByteBpeTokenizer.class, tok);
                    for (int i = 0; i < all.size(); i++) {
                        int[] plain = ints(ref.path("plain").get(i));
                        JsonNode sp = ref.path("special").path(String.valueOf(i));
                        int[] special = sp.isMissingNode() ? plain : ints(sp);
                        compare(failures, name + " (" + vocab + ")", all.get(i), plain, tok.encode(all.get(i), true, false));
                        compare(failures, name + " (" + vocab + ", special)", all.get(i), special, tok.encode(all.get(i), true, true));
                        checked += 2;
                    }
                }
                names++;
            }
        }
        assertEquals(List.of(), failures.subList(0, Math.min(failures.size(), 20)), failures.size() + " mismatches");
        assertTrue(names >= 2 * 80 && checked >= names * 2 * 100, names + " runs, " + checked + " encodings");
    }

    private static void compare(List<String> failures, String what, String text, int[] want, int[] got) {
        if (!java.util.Arrays.equals(want, got))
            failures.add(what + " " + TokenizerJsonValidator.quote(text) + ": llama.cpp " + java.util.Arrays.toString(want)
                    + ", linlens " + java.util.Arrays.toString(got));
    }

    /** The Java table holds exactly the names llama.cpp accepts: the fixture's byte-level ones and the others. */
    @Test
    void tableIsLlamaCppsNameList() throws Exception {
        JsonNode f = fixture();
        TreeSet<String> llama = new TreeSet<>(), byteLevel = new TreeSet<>();
        f.path("names").fieldNames().forEachRemaining(n -> { llama.add(n); byteLevel.add(n); });
        f.path("not_byte_level").forEach(n -> llama.add(n.asText()));
        assertEquals(llama, new TreeSet<>(PreTokenizer.names().keySet()));
        assertEquals(byteLevel, new TreeSet<>(ByteBpeTokenizer.supportedNames()));
    }

    @Test
    void notByteLevelNamesAreRefusedWithTheReason(@TempDir Path tmp) throws Exception {
        for (JsonNode n : fixture().path("not_byte_level")) {
            try (GgufFile g = GgufFile.open(vocabOnly(tmp, "llama-bpe", n.asText()))) {
                var e = assertThrows(ModelFormatException.class, () -> Tokenizer.fromGguf(g));
                assertTrue(e.getMessage().contains("unsupported BPE pre-tokenizer '" + n.asText() + "'")
                        && e.getMessage().contains("raw UTF-8") && !e.getMessage().contains("\n"), e.getMessage());
            }
        }
    }

    @Test
    void missingPreIsLlamaCppsDefault(@TempDir Path tmp) throws Exception {
        try (GgufFile a = GgufFile.open(vocabOnly(tmp, "gpt-2", "default")); GgufFile b = GgufFile.open(vocabOnly(tmp, "gpt-2", null))) {
            Tokenizer ta = Tokenizer.fromGguf(a), tb = Tokenizer.fromGguf(b);
            for (JsonNode t : fixture().path("corpus"))
                assertArrayEquals(ta.encode(t.asText()), tb.encode(t.asText()), t.asText());
        }
    }
}
