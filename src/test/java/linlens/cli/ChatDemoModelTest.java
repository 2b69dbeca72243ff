package linlens.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import linlens.model.Prompts;
import linlens.model.Transformer;
import linlens.testing.InProcessCli;
import linlens.testing.RealModel;
import linlens.testing.TestModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The demo model (a base model: no template of its own) with Gemma's chat template: the token ids
 * equal transformers' apply_chat_template(tokenize=True) on the same tokenizer
 * (reference/make_chat_templates.py), one BOS included; and decompose --chat shows the formatted
 * prompt in its JSON.
 */
@RealModel
class ChatDemoModelTest {
    static final Path FIXTURE = Path.of("src/test/resources/reference/chat_templates.json");
    static final Path GEMMA_TEMPLATE = Path.of("src/test/resources/reference/chat_templates/google-gemma-2-2b-it.jinja");

    @TempDir Path dir;

    static JsonNode cases() throws Exception {
        JsonNode demo = new ObjectMapper().readTree(FIXTURE.toFile()).get("demo_model");
        assertEquals("google-gemma-2-2b-it.jinja", demo.get("template").textValue());
        return demo.get("cases");
    }

    static int[] ids(JsonNode array, String field) {
        int[] ids = new int[array.size()];
        for (int i = 0; i < ids.length; i++) ids[i] = field == null ? array.get(i).intValue() : array.get(i).get(field).intValue();
        return ids;
    }

    @Test
    void tokenIdsEqualTransformers() throws Exception {
        Transformer m = TestModels.gemma();
        InProcessCli.assertBadInput(InProcessCli.run("predict", "--model", TestModels.gemmaPath().toString(), "--chat"),
                "has no chat template");
        int n = 0;
        for (JsonNode c : cases()) {
            Prompts.Formatted f = Prompts.chat(m, c.get("user").textValue(), new Prompts.Chat(null, GEMMA_TEMPLATE));
            assertEquals(c.get("text").textValue(), f.text());
            assertArrayEquals(ids(c.get("ids"), null), f.ids(), c.get("user").textValue());
            n++;
        }
        assertTrue(n >= 4, "cases: " + n);
    }

    @Test
    void decomposeChatShowsTheFormattedPrompt() throws Exception {
        JsonNode first = cases().get(0);
        Path out = dir.resolve("d.json");
        var r = InProcessCli.run("decompose", "--quiet", "--model", TestModels.gemmaPath().toString(), "--chat",
                "--chat-template", GEMMA_TEMPLATE.toString(), "--prompt", first.get("user").textValue(),
                "--matrix-free", "--k", "1", "--components", "1", "--top", "1", "--json", out.toString());
        assertEquals(0, r.code(), r.err());
        JsonNode j = new ObjectMapper().readTree(out.toFile());
        assertEquals(first.get("user").textValue(), j.get("prompt").textValue());
        assertEquals(first.get("text").textValue(), j.get("formatted_prompt").textValue());
        assertArrayEquals(ids(first.get("ids"), null), ids(j.get("tokens"), "id"));
    }
}
