package linlens.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import linlens.format.ModelFormatException;
import linlens.tokenizer.ChatTemplate;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;

/**
 * Chat templates as hostile input: any bytes as a model's Jinja chat template, rendered on a
 * system and a user turn through {@link ChatTemplate#render}. The contract is the sandbox's: a
 * template either renders to at most {@link ChatTemplate#MAX_OUTPUT_CHARS} characters or is
 * refused with one {@link ModelFormatException} line naming it, within the time limit; anything
 * else (another exception, an error, a hang) is a finding. Seeds: the real templates of the
 * fixtures (llama.cpp's copies) and a few hostile ones.
 */
class ChatTemplateFuzzTest {
    private static final List<ChatTemplate.Message> CONVERSATION = List.of(
            new ChatTemplate.Message("system", "Be brief."), new ChatTemplate.Message("user", "Hi \"there\"\n"));
    private static final Clock CLOCK = Clock.fixed(Instant.parse("2026-03-07T14:05:09Z"), ZoneOffset.UTC);

    @FuzzTest(maxDuration = "30s")
    void chatTemplate(byte[] input) {
        String text = new String(input, StandardCharsets.UTF_8);
        long t0 = System.nanoTime();
        try {
            String out = new ChatTemplate(text, "fuzz.gguf").render(CONVERSATION, true,
                    Map.of("bos_token", "<s>", "eos_token", "</s>"), CLOCK);
            if (out.length() > ChatTemplate.MAX_OUTPUT_CHARS) throw new AssertionError("output of " + out.length() + " characters");
        } catch (ModelFormatException refused) {
            String m = refused.getMessage();
            if (m == null || m.isBlank() || m.contains("\n") || m.contains("\r"))
                throw new AssertionError("a refusal is not one line: " + m);
            if (!m.startsWith("chat template of fuzz.gguf")) throw new AssertionError("a refusal does not name the template: " + m);
        }
        double s = (System.nanoTime() - t0) / 1e9;
        if (s > ChatTemplate.TIME_LIMIT.toSeconds() + 5) throw new AssertionError("took " + s + " s");
    }
}
