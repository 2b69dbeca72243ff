package linlens.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import linlens.model.ModelLoader;
import linlens.model.Prompts;
import linlens.model.Transformer;
import linlens.testing.GgufEdit;
import linlens.testing.InProcessCli;
import linlens.testing.TinyModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * --chat, --system and --chat-template on a tiny model whose GGUF (or Hugging Face folder) carries
 * a chat template: the JSON shows the formatted prompt next to the prompt, the tokens are the
 * formatted prompt's with the template's one BOS, and a missing or hostile template is one line.
 */
class ChatCliTest {
    /** A template in the style of the real ones: BOS, turns, the generation prompt. */
    static final String TEMPLATE = "{{ bos_token }}{% for m in messages %}<{{ m['role'] }}>{{ m['content'] | trim }}\n{% endfor %}"
            + "{% if add_generation_prompt %}<assistant>{% endif %}";

    @TempDir Path dir;

    Path ggufWith(String template) throws Exception {
        return GgufEdit.read(TinyModels.named("llama3").gguf()).str("tokenizer.chat_template", template).write(dir.resolve("model.gguf"));
    }

    static JsonNode json(Path p) throws Exception { return new ObjectMapper().readTree(p.toFile()); }

    static List<String> fieldNames(JsonNode n) {
        List<String> names = new ArrayList<>();
        n.fieldNames().forEachRemaining(names::add);
        return names;
    }

    @Test
    void chatPutsThePromptInTheTemplateAndTheJsonShowsIt() throws Exception {
        Path model = ggufWith(TEMPLATE);
        Path out = dir.resolve("p.json");
        var r = InProcessCli.run("predict", "--quiet", "--model", model.toString(), "--chat", "--system", " Be brief. ",
                "--prompt", "The bridge out of Marin is the", "--json", out.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().startsWith("Chat prompt  "), r.out());
        JsonNode j = json(out);
        String formatted = "<|begin_of_text|><system>Be brief.\n<user>The bridge out of Marin is the\n<assistant>";
        assertEquals("The bridge out of Marin is the", j.get("prompt").textValue());
        assertEquals(formatted, j.get("formatted_prompt").textValue());
        List<String> names = fieldNames(j);
        assertEquals(names.indexOf("prompt") + 1, names.indexOf("formatted_prompt"), names.toString());

        Transformer m = ModelLoader.load(model);
        int[] ids = new int[j.get("tokens").size()];
        for (int i = 0; i < ids.length; i++) ids[i] = j.get("tokens").get(i).get("id").intValue();
        // transformers' apply_chat_template(tokenize=True): special tokens parsed, nothing added: one BOS
        assertArrayEquals(m.tokenizer().encode(formatted, false, true), ids);
        assertEquals(m.tokenizer().bos(), ids[0]);
        assertTrue(ids[1] != m.tokenizer().bos(), "one BOS");
        assertArrayEquals(ids, Prompts.chat(m, "The bridge out of Marin is the", new Prompts.Chat(" Be brief. ", null)).ids());
    }

    @Test
    void tokenizeShowsTheChatTokens() throws Exception {
        Path model = ggufWith(TEMPLATE);
        var r = InProcessCli.run("tokenize", "--model", model.toString(), "--chat", "--prompt", "Hi");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().startsWith("Chat prompt  \"<|begin_of_text|><user>Hi\\n<assistant>\"\n"), r.out());
        assertTrue(r.out().contains("<|begin_of_text|>"), r.out());
    }

    @Test
    void withoutChatTheJsonIsAsBefore() throws Exception {
        Path model = ggufWith(TEMPLATE);
        Path out = dir.resolve("plain.json");
        var r = InProcessCli.run("predict", "--quiet", "--model", model.toString(), "--prompt", "Hi there", "--json", out.toString());
        assertEquals(0, r.code(), r.err());
        assertFalse(json(out).has("formatted_prompt"));
        assertFalse(r.out().contains("Chat prompt"), r.out());
    }

    @Test
    void decomposeReportShowsTheFormattedPrompt() throws Exception {
        Path model = ggufWith(TEMPLATE);
        Path out = dir.resolve("d.json"), report = dir.resolve("d.html");
        var r = InProcessCli.run("decompose", "--quiet", "--model", model.toString(), "--chat", "--prompt", "Hi",
                "--components", "1", "--top", "1", "--json", out.toString(), "--report", report.toString());
        assertEquals(0, r.code(), r.err());
        assertEquals("<|begin_of_text|><user>Hi\n<assistant>", json(out).get("formatted_prompt").textValue());
        assertTrue(Files.readString(report).contains("\"formatted_prompt\":\"\\u003c|begin_of_text|\\u003e\\u003cuser\\u003eHi\\n\\u003cassistant\\u003e\""),
                "the report's data has the formatted prompt");
    }

    @Test
    void theTemplateOfAHuggingFaceFolder() throws Exception {
        Path hf = dir.resolve("hf");
        Files.createDirectories(hf);
        try (var files = Files.list(TinyModels.named("llama3").hf())) {
            for (Path f : files.toList()) Files.copy(f, hf.resolve(f.getFileName()));
        }
        Path out = dir.resolve("hf.json");
        InProcessCli.assertBadInput(InProcessCli.run("predict", "--model", hf.toString(), "--chat", "--prompt", "Hi"),
                "has no chat template");
        Files.writeString(hf.resolve("chat_template.jinja"), TEMPLATE);
        var r = InProcessCli.run("predict", "--quiet", "--model", hf.toString(), "--chat", "--prompt", "Hi", "--json", out.toString());
        assertEquals(0, r.code(), r.err());
        assertEquals("<|begin_of_text|><user>Hi\n<assistant>", json(out).get("formatted_prompt").textValue());
    }

    @Test
    void aModelWithoutTemplateOrAHostileTemplateIsOneLine() throws Exception {
        Path plain = TinyModels.named("llama3").gguf();
        InProcessCli.assertBadInput(InProcessCli.run("predict", "--model", plain.toString(), "--chat"),
                "has no chat template (a base model?)");
        InProcessCli.assertBadInput(InProcessCli.run("predict", "--model", plain.toString(), "--system", "x"), "--system needs --chat");
        InProcessCli.assertBadInput(InProcessCli.run("predict", "--model", plain.toString(), "--chat-template", "x.jinja"),
                "--chat-template needs --chat");
        InProcessCli.assertBadInput(InProcessCli.run("predict", "--model", plain.toString(), "--chat", "--chat-template",
                dir.resolve("none.jinja").toString()), "no such chat template file");
        Path evil = ggufWith("{{ ''.getClass().forName('java.lang.Runtime') }}");
        InProcessCli.assertBadInput(InProcessCli.run("predict", "--model", evil.toString(), "--chat"),
                "chat template of model.gguf (tokenizer.chat_template) failed: the template calls 'getClass'");
        Path broken = ggufWith("{% for m in messages %}{{ m.content }");
        InProcessCli.assertBadInput(InProcessCli.run("predict", "--model", broken.toString(), "--chat"),
                "chat template of model.gguf (tokenizer.chat_template) failed");
        Path empty = ggufWith("{% if false %}x{% endif %}");
        InProcessCli.assertBadInput(InProcessCli.run("predict", "--model", empty.toString(), "--chat"), "wrote nothing");
    }
}
