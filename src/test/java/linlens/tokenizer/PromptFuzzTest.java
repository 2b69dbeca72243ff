package linlens.tokenizer;

import linlens.format.GgufFile;
import linlens.model.InputException;
import linlens.model.Prompts;
import linlens.testing.RealModel;
import linlens.testing.TestModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Hostile prompts through {@link Prompts#encode} on every tokenizer kind: each either encodes to
 * ids inside the vocabulary or is refused with an {@link InputException}; nothing crashes, long
 * inputs stay fast.
 */
@RealModel
class PromptFuzzTest {
    static final Path TINY = Path.of("src/test/resources/reference/tiny");
    static final int BIG_CONTEXT = 10_000_000;

    static Map<String, Tokenizer> tokenizers(Path tmp) throws Exception {
        Map<String, Tokenizer> all = new LinkedHashMap<>();
        all.put("gemma-3-270m (SPM)", TestModels.tokenizer());
        for (String fam : new String[] {"gemma3", "mistral"})
            try (GgufFile g = GgufFile.open(TINY.resolve(fam + "/model.gguf"))) { all.put(fam + " tiny", Tokenizer.fromGguf(g)); }
        for (String pre : new String[] {"llama-bpe", "qwen2", "gpt-2", "gpt-4o"})
            try (GgufFile g = GgufFile.open(ByteBpeTokenizerTest.vocabOnly(tmp, pre))) { all.put("bpe " + pre, Tokenizer.fromGguf(g)); }
        all.put("tokenizer.json", HfTokenizer.open(TINY.resolve("llama3/hf")));
        return all;
    }

    static List<String> hostile() {
        List<String> s = new ArrayList<>(List.of("a", "\u0000", "a\u0000b", "\u0001\u0002\u0003\u0007\b\u000b\f\u001b\u007f\u0085",
                "\r", "x\r\n\r\ny", "<bos>", "<eos>", "<bos><bos><eos>", "<|endoftext|>", "<|begin_of_text|>hi<|endoftext|>",
                "<start_of_turn>user\nhi<end_of_turn>", "<|im_start|>", "<unk>", "<s></s>", "<0x41>", "▁", "▁▁ ▁",
                "\u202eevil\u202c", "\u200f\u200e\u2066\u2067\u2068\u2069 abc", "abc\u200d\u200c\ufeff", "\ufffd\ufffe\uffff",
                "e" + "\u0301".repeat(5000), "\u0301".repeat(1000), "👩‍👩‍👧‍👦".repeat(100), "\uD83D\uDE00",
                "\uDB40\uDC01\uDB40\uDC7F", "日本語".repeat(1000), "Ā", "ĠĠĠ", "'s'S've'll", "1234567890".repeat(100),
                "\\u0000", "%s%n%x", "\u0000".repeat(1000), "\t\n x"));
        Random r = new Random(42);
        int[][] ranges = {{0, 0x7f}, {0x80, 0x2ff}, {0x300, 0x36f}, {0x590, 0x6ff}, {0x2000, 0x206f}, {0xe000, 0xf8ff},
                {0xfff0, 0xffff}, {0x1f300, 0x1faff}, {0xe0000, 0xe007f}, {0x10fff0, 0x10ffff}};
        for (int i = 0; i < 200; i++) {
            StringBuilder b = new StringBuilder();
            int len = 1 + r.nextInt(i < 190 ? 40 : 5000);
            for (int k = 0; k < len; k++) {
                int[] rg = ranges[r.nextInt(ranges.length)];
                b.appendCodePoint(rg[0] + r.nextInt(rg[1] - rg[0] + 1));
            }
            if (b.toString().isBlank()) b.append('x');
            s.add(b.toString());
        }
        return s;
    }

    @Test
    void hostilePromptsEncodeOrAreRefused(@TempDir Path tmp) throws Exception {
        List<String> texts = hostile();
        for (var e : tokenizers(tmp).entrySet()) {
            Tokenizer t = e.getValue();
            for (String s : texts) {
                try {
                    int[] ids = Prompts.encode(t, BIG_CONTEXT, s);
                    assertTrue(ids.length > 0, e.getKey());
                    for (int id : ids) assertTrue(id >= 0 && id < t.vocabSize(), e.getKey() + ": id " + id + " for " + s);
                    t.decode(ids);
                    for (int id : ids) t.decode(id);
                } catch (InputException x) {
                    assertEquals(1, x.getMessage().lines().count());
                }
            }
        }
    }

    @Test
    void emptyAndWhitespaceOnlyPromptsAreRefusedAlike(@TempDir Path tmp) throws Exception {
        Tokenizer t = TestModels.tokenizer();
        for (String s : new String[] {"", " ", "   ", "\n", "\t\r\n ", "\u00a0", "\u2003\u3000", "\u200b", "\ufeff \n", "\u000b\u000c\u001c"}) {
            var e = assertThrows(InputException.class, () -> Prompts.encode(t, 100, s), "'" + s + "'");
            assertTrue(e.getMessage().startsWith("empty prompt: "), e.getMessage());
        }
        assertEquals(2, Prompts.encode(t, 100, " x ").length - 1);
    }

    @Test
    void loneSurrogatesAreRefusedWithTheirIndex(@TempDir Path tmp) throws Exception {
        for (var e : tokenizers(tmp).entrySet()) {
            String[] texts = {"ab\uD800cd", "\uDC00", "x\uD83D", "\uD83D\uDE00\uDE00"};
            int[] at = {2, 0, 1, 2};
            for (int i = 0; i < texts.length; i++) {
                String s = texts[i];
                var x = assertThrows(InputException.class, () -> Prompts.encode(e.getValue(), 100, s), e.getKey());
                assertTrue(x.getMessage().contains(String.format("lone UTF-16 surrogate U+%04X at character %d", (int) s.charAt(at[i]), at[i])),
                        x.getMessage());
            }
            // a surrogate pair is a character like any other
            assertTrue(Prompts.encode(e.getValue(), 100, "\uD83D\uDE00").length >= 1);
        }
    }

    @Test
    void tooLongPromptsAreRefused(@TempDir Path tmp) throws Exception {
        for (var e : tokenizers(tmp).entrySet()) {
            Tokenizer t = e.getValue();
            int max = t.maxCharsPerToken();
            if (max < Integer.MAX_VALUE) {
                // more characters than the context can hold: refused without encoding
                String huge = "a".repeat(16 * max + 1);
                var x = assertThrows(InputException.class, () -> Prompts.encode(t, 16, huge), e.getKey());
                assertEquals("prompt too long: " + huge.length() + " characters is more than 16 tokens (the model's context) can hold", x.getMessage());
            }
            var x = assertThrows(InputException.class, () -> Prompts.encode(t, 16, "a b c d e f g h i j k l m n o p q r s t"), e.getKey());
            assertTrue(x.getMessage().matches("prompt too long: \\d+ tokens, the model's context is 16"), x.getMessage());
        }
    }

    @Test
    void specialTokensSpelledInThePrompt(@TempDir Path tmp) throws Exception {
        Tokenizer hf = HfTokenizer.open(TINY.resolve("llama3/hf"));
        assertArrayEquals(new int[] {1}, Prompts.encode(hf, 100, "<|endoftext|>"));
        Tokenizer gemma = TestModels.tokenizer();
        assertArrayEquals(new int[] {2, 2, 1}, Prompts.encode(gemma, 100, "<bos><eos>"));
    }

    /** Long degenerate prompts on every tokenizer: linear time (the byte-level BPE merge loop once was quadratic). */
    @Test
    void longPromptsStayFast(@TempDir Path tmp) throws Exception {
        Random r = new Random(7);
        StringBuilder mixed = new StringBuilder();
        while (mixed.length() < 150_000) mixed.appendCodePoint(r.nextInt(3) == 0 ? ' ' : 'a' + r.nextInt(26));
        String[] inputs = {"abcdefghij".repeat(15_000), "a".repeat(150_000), "x" + " ".repeat(150_000), "x" + "\n".repeat(150_000),
                "e\u0301".repeat(60_000), "😀".repeat(60_000), "<bos>x<|endoftext|>".repeat(8_000), "!?".repeat(60_000),
                "1".repeat(150_000), mixed.toString(), "\u0000".repeat(120_000)};
        for (var e : tokenizers(tmp).entrySet()) {
            for (String s : inputs) {
                long t0 = System.nanoTime();
                int[] ids = Prompts.encode(e.getValue(), BIG_CONTEXT, s);
                double sec = (System.nanoTime() - t0) / 1e9;
                assertTrue(ids.length > 0);
                assertTrue(sec < 20, e.getKey() + ": " + s.length() + " chars starting " + s.substring(0, 12) + " took " + sec + " s");
                if (sec > 1) System.out.printf("%s: %d chars (%s...) -> %d tokens in %.2f s%n", e.getKey(), s.length(),
                        s.substring(0, 6).replace("\n", "\\n"), ids.length, sec);
            }
        }
    }
}
