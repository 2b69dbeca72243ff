package linlens.tokenizer;

import linlens.testing.RealModel;
import linlens.testing.TestModels;
import linlens.testing.TinyGguf;

import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Edge cases on the real Gemma 3 270M vocabulary. Expected ids come from llama.cpp
 * (llama-cpp-python 0.3.36, {@code tokenize(text, add_bos=True, special=True)}).
 */
@RealModel
class GemmaTokenizerTest {
    private static final int BOS = 2, EOS = 1;

    private static int[] encode(String text) { return TestModels.tokenizer().encode(text); }

    private static int[] withoutBos(int[] ids) {
        assertEquals(BOS, ids[0]);
        return Arrays.copyOfRange(ids, 1, ids.length);
    }

    @Test
    void metadata() {
        Tokenizer t = TestModels.tokenizer();
        assertEquals(262144, t.vocabSize());
        assertEquals(BOS, t.bos());
        assertEquals(EOS, t.eos());
        assertFalse(((SpmTokenizer) t).addSpacePrefix());
    }

    @Test
    void emptyTextIsJustBos() {
        assertArrayEquals(new int[]{BOS}, encode(""));
        assertArrayEquals(new int[0], TestModels.tokenizer().encode("", false, true));
        assertEquals("", TestModels.tokenizer().decode(new int[0]));
    }

    @Test
    void onlySpaces() {
        assertArrayEquals(new int[]{BOS, 236743}, encode(" "));             // "▁"
        assertArrayEquals(new int[]{BOS, 138}, encode("  "));               // user-defined run of 2 spaces
        assertArrayEquals(new int[]{BOS, 139}, encode("   "));
        assertArrayEquals(new int[]{BOS, 9259, 139, 12392, 139}, encode("Hello   world   "));
        // 40 spaces: the longest run (31) first, then the 9 left
        assertArrayEquals(new int[]{BOS, 167, 145}, encode(" ".repeat(40)));
    }

    @Test
    void newlines() {
        assertArrayEquals(new int[]{BOS, 107}, encode("\n"));
        assertArrayEquals(new int[]{BOS, 108}, encode("\n\n"));
        assertArrayEquals(new int[]{BOS, 236743, 107, 236743}, encode(" \n "));
        assertArrayEquals(new int[]{BOS, 251, 107, 251, 107, 33908}, encode("\r\n\r\nwindows")); // \r is a byte token
        assertArrayEquals(new int[]{BOS, 2063, 517, 236769, 236781, 1473, 107, 140, 2060, 1123, 808, 236743, 236778, 109,
                1995, 236769, 236760, 236769, 236800, 1223}, encode("def f(x):\n    return x * 2\n\n\nprint(f(3))"));
    }

    @Test
    void byteFallbackForCharactersOutsideTheVocabulary() {
        // U+13000 EGYPTIAN HIEROGLYPH A001 is not a piece: its UTF-8 bytes F0 93 80 80 become <0xNN> tokens
        int[] ids = withoutBos(encode("\uD80C\uDC00"));
        Vocabulary v = TestModels.tokenizer().vocabulary();
        assertArrayEquals(new String[]{"<0xF0>", "<0x93>", "<0x80>", "<0x80>"},
                Arrays.stream(ids).mapToObj(v::piece).toArray(String[]::new));
        assertArrayEquals(new int[]{478, 385, 366, 366}, ids);
        assertEquals("\uD80C\uDC00", TestModels.tokenizer().decode(ids));
        assertArrayEquals(new int[]{BOS, 238, 249732, 251541}, encode("\u0000\u0001\u007f"));
    }

    @Test
    void specialTokensInline() {
        assertArrayEquals(new int[]{BOS, 105, 2364, 107, 10979, 993, 236888, 106, 107, 105, 4368, 107},
                encode("<start_of_turn>user\nHi there!<end_of_turn>\n<start_of_turn>model\n"));
        assertArrayEquals(new int[]{BOS, BOS, 1005, EOS}, encode("<bos>text<eos>"));
        assertArrayEquals(new int[]{BOS, 236820, 105, 236813}, encode("<<start_of_turn>>"));
        assertArrayEquals(new int[]{BOS, 236820, 3041, 236779, 1340, 236779, 887}, encode("<start_of_turn")); // incomplete
        assertArrayEquals(new int[]{BOS, 168, 173, 175, 236770, 183, 181, 176}, encode("<table><tr><td>1</td></tr></table>"));
        assertArrayEquals(new int[]{BOS, 6, 18, 236781}, encode("<unused0><unused12>x"));
    }

    @Test
    void controlTokensAreTextWithoutParseSpecial() {
        Tokenizer t = TestModels.tokenizer();
        int[] ids = t.encode("<start_of_turn>user\n", true, false);
        assertFalse(Arrays.stream(ids).anyMatch(i -> i == 105), Arrays.toString(ids));
        assertEquals(107, ids[ids.length - 1]); // "\n" is user-defined: still matched
        assertEquals("<start_of_turn>user\n", t.decode(withoutBos(ids)));
    }

    @Test
    void decodeForDisplay() {
        Tokenizer t = TestModels.tokenizer();
        assertEquals("<bos>", t.decode(BOS));
        assertEquals("<start_of_turn>", t.decode(105));
        assertEquals("\n", t.decode(107));
        assertEquals(" Hello", t.decode(26352));       // "▁Hello"
        assertEquals("\n", t.decode(248));             // <0x0A>: an ASCII byte is its character
        assertEquals("<0xF0>", t.decode(478));         // half a character shows as its piece
        assertEquals("Hello world", t.decode(new int[]{9259, 1902}));
        assertEquals("<bos>Hello", t.decode(new int[]{BOS, 9259}));
    }

    @Test
    void roundTripsVariedText() {
        Tokenizer t = TestModels.tokenizer();
        String[] texts = {"naïve café – “quotes” — 日本語のテキスト 😀🎉 👩‍👩‍👧", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 math 𝛼𝛽", "ﷺ ꧅ 𓀀 𐍈",
                "   leading and trailing   ", "\t\tindent\n\t", "Привет, мир!", "\u200b\u200d\ufeff zero width",
                "<start_of_turn>user\nHi<end_of_turn>\n"};
        for (String s : texts) assertEquals(s, t.decode(withoutBos(t.encode(s))), s);
    }

    @Test
    void encodeSpeedOnLongText() {
        Tokenizer t = TestModels.tokenizer();
        String[] sentences = {
                "The quick brown fox jumps over the lazy dog. ",
                "Equivalent linear mappings of large language models reveal low-dimensional structure.\n",
                "In 1969, Apollo 11 landed on the Moon; Neil Armstrong's first words were broadcast worldwide. ",
                "Der schnelle braune Fuchs springt über den faulen Hund. ",
                "def forward(self, x):\n    return self.proj(torch.relu(x)) * 0.5\n\n",
                "東京は日本の首都です。 ", "Привет, как дела? ", "😀 emoji and symbols ∑∫√ ≤ ≥ → ",
                "<start_of_turn>user\nSummarise this.<end_of_turn>\n<start_of_turn>model\n"};
        StringBuilder sb = new StringBuilder();
        for (int i = 0; sb.length() < 1_000_000; i++) sb.append(sentences[(i * 7 + i / 3) % sentences.length]);
        String text = sb.toString();
        t.encode(text.substring(0, 100_000)); // warm up
        long t0 = System.nanoTime();
        int[] ids = t.encode(text);
        double s = (System.nanoTime() - t0) / 1e9;
        System.out.printf("encode: %d chars -> %d tokens in %.3f s = %.0f tokens/s%n", text.length(), ids.length, s, ids.length / s);
        assertEquals(text, t.decode(withoutBos(ids)));
        assertTrue(s < 30, "encoding 1M chars took " + s + " s");

        // degenerate inputs stay near-linear: one 300k-char word, 200k spaces, 20k special tokens
        for (String deg : new String[]{"abcdefghij".repeat(30_000), " ".repeat(200_000), "<end_of_turn>x".repeat(20_000)}) {
            long d0 = System.nanoTime();
            int[] d = t.encode(deg);
            double ds = (System.nanoTime() - d0) / 1e9;
            System.out.printf("encode degenerate (%d chars): %d tokens in %.3f s%n", deg.length(), d.length, ds);
            assertEquals(deg, t.decode(withoutBos(d)));
            assertTrue(ds < 30, "degenerate input took " + ds + " s");
        }
    }
}
