package linlens.tokenizer;

import linlens.testing.TestModels;
import linlens.testing.TinyGguf;

import linlens.format.GgufFile;
import linlens.format.ModelFormatException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The SPM algorithm on small hand-made vocabularies, and the factory's handling of tokenizer kinds. */
class SpmTokenizerTest {
    @TempDir Path dir;

    /** ids: 0 unk, 1 bos, 2 eos, 3..258 bytes, then the given normal pieces, then the user-defined ones. */
    private Tokenizer tiny(String[] normal, float[] normalScores, String[] userDefined, Object... extraKv) throws IOException {
        List<String> p = new ArrayList<>(List.of("<unk>", "<s>", "</s>"));
        List<Float> s = new ArrayList<>(List.of(0f, 0f, 0f));
        List<Integer> t = new ArrayList<>(List.of(2, 3, 3));
        for (int b = 0; b < 256; b++) { p.add(String.format("<0x%02X>", b)); s.add(0f); t.add(6); }
        for (int i = 0; i < normal.length; i++) { p.add(normal[i]); s.add(normalScores[i]); t.add(1); }
        for (String u : userDefined) { p.add(u); s.add(0f); t.add(4); }
        float[] scores = new float[s.size()];
        for (int i = 0; i < scores.length; i++) scores[i] = s.get(i);
        TinyGguf g = TinyGguf.spm(p.toArray(new String[0]), scores, t.stream().mapToInt(Integer::intValue).toArray());
        for (int i = 0; i < extraKv.length; i += 2) g.put((String) extraKv[i], extraKv[i + 1]);
        try (GgufFile f = GgufFile.open(g.write(dir.resolve("tiny" + System.nanoTime() + ".gguf")))) {
            return Tokenizer.fromGguf(f);
        }
    }

    private static String[] pieces(Tokenizer t, int[] ids) {
        return Arrays.stream(ids).mapToObj(i -> t.vocabulary().piece(i)).toArray(String[]::new);
    }

    @Test
    void equalScoresMergeLeftmostFirst() throws IOException {
        Tokenizer t = tiny(new String[]{"a", "aa"}, new float[]{-5, -1}, new String[0], "tokenizer.ggml.add_space_prefix", false);
        assertArrayEquals(new String[]{"<s>", "aa", "a"}, pieces(t, t.encode("aaa")));
        assertArrayEquals(new String[]{"<s>", "aa", "aa"}, pieces(t, t.encode("aaaa")));
    }

    @Test
    void higherScoreMergesFirst() throws IOException {
        String[] v = {"a", "b", "c", "ab", "bc"};
        Tokenizer t1 = tiny(v, new float[]{-9, -9, -9, -2, -1}, new String[0], "tokenizer.ggml.add_space_prefix", false);
        assertArrayEquals(new String[]{"<s>", "a", "bc"}, pieces(t1, t1.encode("abc")));
        Tokenizer t2 = tiny(v, new float[]{-9, -9, -9, -1, -2}, new String[0], "tokenizer.ggml.add_space_prefix", false);
        assertArrayEquals(new String[]{"<s>", "ab", "c"}, pieces(t2, t2.encode("abc")));
    }

    @Test
    void mergesOnlyThroughVocabularyPieces() throws IOException {
        // "abc" is in the vocabulary, but neither "ab" nor "bc" is: BPE cannot reach it
        Tokenizer t = tiny(new String[]{"a", "b", "c", "abc"}, new float[]{-1, -1, -1, 0}, new String[0],
                "tokenizer.ggml.add_space_prefix", false);
        assertArrayEquals(new String[]{"<s>", "a", "b", "c"}, pieces(t, t.encode("abc")));
    }

    @Test
    void charactersOutsideTheVocabularyFallBackToUtf8Bytes() throws IOException {
        Tokenizer t = tiny(new String[]{"a"}, new float[]{-1}, new String[0], "tokenizer.ggml.add_space_prefix", false);
        assertArrayEquals(new String[]{"<s>", "a", "<0xC3>", "<0xA9>", "<0xF0>", "<0x9F>", "<0x98>", "<0x80>"},
                pieces(t, t.encode("aé😀")));
        assertEquals("aé😀", t.decode(Arrays.copyOfRange(t.encode("aé😀"), 1, 8)));
    }

    @Test
    void spacePrefixGoesBeforeTheTextAndAfterEverySpecialToken() throws IOException {
        // add_space_prefix absent: llama.cpp's default for "llama" models is true; BOS/EOS default to 1/2
        Tokenizer t = tiny(new String[]{"▁", "h", "i", "hi", "▁hi"}, new float[]{-1, -1, -1, -2, -3}, new String[]{"<t>"});
        assertEquals(1, t.bos());
        assertEquals(2, t.eos());
        assertArrayEquals(new String[]{"<s>", "▁hi"}, pieces(t, t.encode("hi")));
        assertArrayEquals(new String[]{"<s>", "▁hi", "<t>", "▁hi"}, pieces(t, t.encode("hi<t>hi")));
        assertArrayEquals(new String[]{"<s>", "<t>"}, pieces(t, t.encode("<t>")));
        assertEquals("hi", t.decode(Arrays.copyOfRange(t.encode("hi"), 1, 2)));
        assertEquals("hi", t.decode(t.encode("hi")).replace("<s>", ""));
    }

    @Test
    void longerSpecialTokensWinAndControlTokensNeedParseSpecial() throws IOException {
        Tokenizer t = tiny(new String[]{"<", ">", "s", "/", "x", "y"}, new float[]{-1, -1, -1, -1, -1, -1},
                new String[]{"xy", "yx"}, "tokenizer.ggml.add_space_prefix", false);
        // "xyx": "xy" and "yx" have the same length: the lower id is taken first, then nothing overlaps it
        assertArrayEquals(new String[]{"<s>", "xy", "x"}, pieces(t, t.encode("xyx")));
        assertArrayEquals(new String[]{"<s>", "</s>", "xy"}, pieces(t, t.encode("</s>xy")));
        // without parse_special, control tokens are plain text but user-defined ones still match
        assertArrayEquals(new String[]{"<", "/", "s", ">", "xy"}, pieces(t, t.encode("</s>xy", false, false)));
    }

    @Test
    void addEosFromMetadata() throws IOException {
        Tokenizer t = tiny(new String[]{"a"}, new float[]{-1}, new String[0],
                "tokenizer.ggml.add_space_prefix", false, "tokenizer.ggml.add_eos_token", true,
                "tokenizer.ggml.add_bos_token", false, "tokenizer.ggml.eos_token_id", 0);
        assertArrayEquals(new int[]{259, 0}, t.encode("a"));
        assertArrayEquals(new int[]{259}, t.encode("a", false, true));
    }

    @Test
    void unsupportedTokenizerModelsFailClearly() throws IOException {
        for (String model : new String[]{"bert", "nonsense"}) {
            Path p = new TinyGguf().put("tokenizer.ggml.model", model).put("tokenizer.ggml.tokens", new String[]{"a"})
                    .write(dir.resolve(model + ".gguf"));
            try (GgufFile f = GgufFile.open(p)) {
                ModelFormatException e = assertThrows(ModelFormatException.class, () -> Tokenizer.fromGguf(f));
                assertTrue(e.getMessage().contains("'" + model + "'") && e.getMessage().contains("supported"), e.getMessage());
            }
        }
        Path p = new TinyGguf().put("general.architecture", "llama").write(dir.resolve("none.gguf"));
        try (GgufFile f = GgufFile.open(p)) {
            ModelFormatException e = assertThrows(ModelFormatException.class, () -> Tokenizer.fromGguf(f));
            assertTrue(e.getMessage().contains("tokenizer.ggml.model"), e.getMessage());
        }
    }

    @Test
    void factoryPicksSpmForLlama() throws IOException {
        Tokenizer t = tiny(new String[]{"a"}, new float[]{-1}, new String[0]);
        assertInstanceOf(SpmTokenizer.class, t);
        assertEquals(3 + 256 + 1, t.vocabSize());
    }
}
