package linlens.fuzz;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.code_intelligence.jazzer.junit.FuzzTest;
import linlens.format.ModelFormatException;
import linlens.tokenizer.TokenizerJsonValidator;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/**
 * tokenizer.json handling: any bytes through {@link TokenizerJsonValidator#validate}, and what it
 * accepts straight into the native tokenizers library in this JVM, without the child-JVM probe
 * that guards the real load path. The validator is meant to refuse everything that makes the
 * library panic, so a panic here (the fuzzing process aborts) or an outcome after a
 * successful load that HfTokenizer would not turn into one line (an id outside the checked
 * vocabulary) is a finding: the probe would then be the only defence. Seeds: a byte-level BPE
 * (the tiny fixtures'), a WordPiece with a template post-processor, a Unigram with Metaspace.
 */
class TokenizerJsonFuzzTest {
    private static final List<String> TEXTS = List.of("", " ", "Hello world", "The bridge out of Marin is the",
            "naïve café 日本語 😀", "\u0000\t\n\r\u007f", "  a  b  ", "[CLS] <s> </s> <|endoftext|>", "aaaaaaaaaaaaaaaaaaaa!");

    @FuzzTest(maxDuration = "30s")
    void tokenizerJson(byte[] input) throws Exception {
        TokenizerJsonValidator.Result checked;
        try {
            checked = TokenizerJsonValidator.validate(input, -1, "tokenizer.json");
        } catch (ModelFormatException refused) {
            return; // the documented outcome for a bad file
        }
        HuggingFaceTokenizer tok;
        try {
            tok = HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(checked.libraryJson().getBytes(StandardCharsets.UTF_8)),
                    Map.of("addSpecialTokens", "true"));
        } catch (IOException | RuntimeException loadError) {
            return; // HfTokenizer.open turns a load error into one ModelFormatException line
        }
        try (tok) {
            for (String text : TEXTS) {
                for (boolean special : new boolean[] {true, false}) {
                    long[] ids;
                    try {
                        ids = tok.encode(text, special, false).getIds();
                        tok.decode(ids, false);
                    } catch (RuntimeException libraryError) {
                        continue; // an error the library returns: HfTokenizer reports it as one ModelFormatException line
                    }
                    for (long id : ids)
                        if (id < 0 || id >= checked.size())
                            throw new AssertionError("the library gave id " + id + " outside the checked vocabulary of " + checked.size());
                }
            }
        }
    }
}
