package linlens.tokenizer;

import linlens.format.GgufFile;
import linlens.format.ModelFormatException;
import linlens.testing.TinyGguf;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.*;

/** Malformed GGUF tokenizer metadata: one line naming the file and the key. */
class GgufVocabularyErrorsTest {
    @TempDir Path dir;
    int serial;

    /** A small SPM vocabulary: unk, bos, eos, 256 byte tokens, "a", "b", "ab". */
    TinyGguf spm() {
        int n = 3 + 256 + 3;
        String[] p = new String[n];
        float[] s = new float[n];
        int[] t = new int[n];
        p[0] = "<unk>"; p[1] = "<s>"; p[2] = "</s>";
        t[0] = 2; t[1] = 3; t[2] = 3;
        for (int b = 0; b < 256; b++) { p[3 + b] = String.format("<0x%02X>", b); t[3 + b] = 6; }
        p[259] = "a"; p[260] = "b"; p[261] = "ab";
        t[259] = t[260] = t[261] = 1;
        s[261] = 1;
        return TinyGguf.spm(p, s, t);
    }

    /** The tiny Llama 3 byte-level BPE vocabulary, with {@code edit} applied. */
    TinyGguf bpe(Consumer<TinyGguf> edit) throws Exception {
        try (GgufFile g = GgufFile.open(ByteBpeTokenizerTest.TINY.resolve("llama3/model.gguf"))) {
            TinyGguf t = new TinyGguf().put("general.architecture", "llama")
                    .put("tokenizer.ggml.model", "gpt2").put("tokenizer.ggml.pre", "llama-bpe")
                    .put("tokenizer.ggml.tokens", g.array("tokenizer.ggml.tokens", String[].class))
                    .put("tokenizer.ggml.token_type", g.array("tokenizer.ggml.token_type", int[].class))
                    .put("tokenizer.ggml.merges", g.array("tokenizer.ggml.merges", String[].class))
                    .put("tokenizer.ggml.bos_token_id", 0).put("tokenizer.ggml.eos_token_id", 1);
            edit.accept(t);
            return t;
        }
    }

    String refused(TinyGguf t, String expected) throws Exception {
        Path p = t.write(dir.resolve("v" + serial++ + ".gguf"));
        try (GgufFile f = GgufFile.open(p)) {
            var e = assertThrows(ModelFormatException.class, () -> Tokenizer.fromGguf(f));
            assertTrue(e.getMessage().startsWith(p + ": "), e.getMessage());
            assertTrue(e.getMessage().contains(expected), "expected '" + expected + "' in: " + e.getMessage());
            assertEquals(1, e.getMessage().lines().count());
            return e.getMessage();
        }
    }

    Tokenizer accepted(TinyGguf t) throws Exception {
        try (GgufFile f = GgufFile.open(t.write(dir.resolve("v" + serial++ + ".gguf")))) {
            return Tokenizer.fromGguf(f);
        }
    }

    @Test
    void theBaseVocabulariesWork() throws Exception {
        assertArrayEquals(new int[] {1, 261}, accepted(spm().put("tokenizer.ggml.add_space_prefix", false)).encode("ab"));
        assertEquals(300, accepted(bpe(t -> {})).vocabSize());
    }

    @Test
    void specialIdsOutsideTheVocabulary() throws Exception {
        refused(spm().put("tokenizer.ggml.bos_token_id", 262), "tokenizer.ggml.bos_token_id is 262, outside the vocabulary of 262 tokens");
        refused(spm().put("tokenizer.ggml.eos_token_id", 100000), "tokenizer.ggml.eos_token_id is 100000");
        refused(spm().put("tokenizer.ggml.unknown_token_id", 999), "tokenizer.ggml.unknown_token_id is 999");
        refused(spm().put("tokenizer.ggml.padding_token_id", 70000), "tokenizer.ggml.padding_token_id is 70000");
        refused(bpe(t -> t.put("tokenizer.ggml.bos_token_id", 300)), "tokenizer.ggml.bos_token_id is 300");
        refused(spm().put("tokenizer.ggml.bos_token_id", "one"), "tokenizer.ggml.bos_token_id is not an integer");
        // -1 (0xFFFFFFFF as GGUF's unsigned ids) means "none": the default stands
        assertEquals(1, accepted(spm().put("tokenizer.ggml.bos_token_id", -1)).bos());
    }

    @Test
    void arraysOfTheWrongLength() throws Exception {
        refused(spm().put("tokenizer.ggml.token_type", new int[10]), "tokenizer.ggml.token_type is not an int array of 262 entries, one per token (it has 10)");
        refused(spm().put("tokenizer.ggml.token_type", new int[300]), "(it has 300)");
        refused(spm().put("tokenizer.ggml.token_type", new float[262]), "tokenizer.ggml.token_type is not an int array");
        refused(spm().put("tokenizer.ggml.scores", new float[5]), "tokenizer.ggml.scores is not a float or int array of 262 entries, one per token (it has 5)");
        refused(spm().put("tokenizer.ggml.scores", new float[263]), "(it has 263)");
        float[] nan = new float[262];
        nan[100] = Float.NaN;
        refused(spm().put("tokenizer.ggml.scores", nan), "tokenizer.ggml.scores[100] is NaN");
        refused(spm().put("tokenizer.ggml.tokens", new String[0]), "tokenizer.ggml.tokens is empty");
        refused(spm().put("tokenizer.ggml.tokens", new int[3]), "tokenizer.ggml.tokens is not an array of strings");
    }

    @Test
    void bpeMergesAndBytes() throws Exception {
        refused(bpe(t -> t.put("tokenizer.ggml.merges", new String[] {"h e", "qq zz"})),
                "tokenizer.ggml.merges[1] names \"qq\", which is not in tokenizer.ggml.tokens");
        refused(bpe(t -> t.put("tokenizer.ggml.merges", new String[] {"he"})), "tokenizer.ggml.merges[0] \"he\" is not two tokens separated by a space");
        refused(bpe(t -> t.put("tokenizer.ggml.merges", new int[] {1})), "tokenizer.ggml.merges is not an array of strings");
        try (GgufFile g = GgufFile.open(ByteBpeTokenizerTest.TINY.resolve("llama3/model.gguf"))) {
            String[] tokens = g.array("tokenizer.ggml.tokens", String[].class).clone();
            int a = Arrays.asList(tokens).indexOf("a");
            tokens[a] = "not-a";
            refused(bpe(t -> t.put("tokenizer.ggml.tokens", tokens).put("tokenizer.ggml.merges", new String[0])),
                    "tokenizer.ggml.tokens lacks the token for byte 0x61");
        }
    }
}
