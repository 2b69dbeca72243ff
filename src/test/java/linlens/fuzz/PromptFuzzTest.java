package linlens.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import linlens.model.ForwardPass;
import linlens.model.ModelLoader;
import linlens.model.Prompts;
import linlens.model.Transformer;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The prompt path: arbitrary text through each tiny model's tokenizer (the GGUF tokenizers, Java,
 * and the Hugging Face folders', native) and {@link Prompts#encode}, then what the CLI does with
 * the ids: decode each one, embed them, and run the forward pass for short prompts.
 *
 * <p>Input layout: byte 0 picks the model (mod the model count: the GGUF models of
 * {@link Fixtures#GGUF_FAMILIES}, then the folders of {@link Fixtures#HF_FAMILIES}); byte 1's low
 * bit picks how the rest becomes text: 0 = UTF-8 (malformed bytes become U+FFFD), 1 = raw UTF-16LE
 * code units, so lone surrogates reach the tokenizers.
 */
class PromptFuzzTest {
    private static final List<Transformer> MODELS = new ArrayList<>();

    static {
        for (String f : Fixtures.GGUF_FAMILIES) MODELS.add(ModelLoader.load(Fixtures.gguf(f)));
        for (String f : Fixtures.HF_FAMILIES) MODELS.add(ModelLoader.load(Fixtures.hf(f)));
    }

    @FuzzTest(maxDuration = "30s")
    void prompt(byte[] input) throws Exception {
        if (input.length < 2) return;
        Transformer m = MODELS.get((input[0] & 0xff) % MODELS.size());
        String text = text(input);
        FuzzContract.expectBadInputOnly(() -> {
            int[] ids = Prompts.encode(m, text);
            for (int id : ids) m.tokenizer().decode(id);
            m.tokenizer().decode(ids);
            if (ids.length <= 32) new ForwardPass(m).run(ids);
            else new ForwardPass(m).embed(ids);
        });
    }

    static String text(byte[] input) {
        if ((input[1] & 1) == 0) return new String(input, 2, input.length - 2, StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.wrap(input, 2, input.length - 2).order(ByteOrder.LITTLE_ENDIAN);
        StringBuilder sb = new StringBuilder();
        while (b.remaining() >= 2) sb.append(b.getChar());
        return sb.toString();
    }
}
