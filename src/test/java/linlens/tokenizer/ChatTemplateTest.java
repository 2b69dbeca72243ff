package linlens.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import linlens.format.ModelFormatException;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every fixture template (real templates of the families we support, llama.cpp's copies)
 * renders in Java exactly as transformers renders it (reference/make_chat_templates.py), for
 * conversations with and without a system turn, quotes, newlines and non-ASCII text.
 */
class ChatTemplateTest {
    static final Path DIR = Path.of("src/test/resources/reference/chat_templates");
    static final Path FIXTURE = Path.of("src/test/resources/reference/chat_templates.json");

    static JsonNode fixture() throws IOException {
        return new ObjectMapper().readTree(FIXTURE.toFile());
    }

    static List<ChatTemplate.Message> messages(JsonNode conv) {
        List<ChatTemplate.Message> m = new ArrayList<>();
        if (conv.has("system")) m.add(new ChatTemplate.Message("system", conv.get("system").textValue()));
        m.add(new ChatTemplate.Message("user", conv.get("user").textValue()));
        return m;
    }

    static Clock clock(JsonNode fixture) {
        return Clock.fixed(LocalDateTime.parse(fixture.get("fixed_now").textValue()).toInstant(ZoneOffset.UTC), ZoneOffset.UTC);
    }

    @TestFactory
    List<DynamicTest> everyFixtureTemplateRendersAsTransformers() throws IOException {
        JsonNode f = fixture();
        Clock clock = clock(f);
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode t : f.get("templates")) {
            String name = t.get("name").textValue();
            ChatTemplate template = new ChatTemplate(Files.readString(DIR.resolve(t.get("file").textValue())), name);
            Map<String, Object> special = new LinkedHashMap<>();
            t.get("special_tokens").properties().forEach(e -> special.put(e.getKey(), e.getValue().textValue()));
            tests.add(DynamicTest.dynamicTest(name, () -> {
                int checked = 0;
                for (JsonNode r : t.get("renders")) {
                    JsonNode conv = f.get("conversations").get(r.get("conversation").intValue());
                    boolean gen = r.get("add_generation_prompt").booleanValue();
                    String what = name + " conversation " + r.get("conversation") + " generation prompt " + gen;
                    if (r.has("error")) {
                        String raised = r.get("error").textValue().replaceFirst("^\\w+: ", "");
                        ModelFormatException e = assertThrows(ModelFormatException.class,
                                () -> template.render(messages(conv), gen, special, clock), what);
                        assertTrue(e.getMessage().contains(raised), what + ": " + e.getMessage());
                        assertEquals(1, e.getMessage().lines().count(), e.getMessage());
                    } else {
                        assertEquals(r.get("text").textValue(), template.render(messages(conv), gen, special, clock), what);
                    }
                    checked++;
                }
                assertTrue(checked >= 12, name + ": " + checked);
            }));
        }
        assertTrue(tests.size() >= 10, "templates: " + tests.size());
        return tests;
    }

    @Test
    void huggingFaceSources(@org.junit.jupiter.api.io.TempDir Path dir) throws IOException {
        assertEquals(null, ChatTemplate.fromHfFolder(dir));
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"bos_token\": \"<s>\"}");
        assertEquals(null, ChatTemplate.fromHfFolder(dir));
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"chat_template\": \"A{{ bos_token }}\"}");
        assertEquals("A<s>", ChatTemplate.fromHfFolder(dir).render(List.of(), true, Map.of("bos_token", "<s>")));
        Files.writeString(dir.resolve("tokenizer_config.json"),
                "{\"chat_template\": [{\"name\": \"tool_use\", \"template\": \"T\"}, {\"name\": \"default\", \"template\": \"D\"}]}");
        assertEquals("D", ChatTemplate.fromHfFolder(dir).render(List.of(), true, Map.of()));
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"chat_template\": [{\"name\": \"tool_use\", \"template\": \"T\"}]}");
        assertThrows(ModelFormatException.class, () -> ChatTemplate.fromHfFolder(dir));
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"chat_template\": 3}");
        assertThrows(ModelFormatException.class, () -> ChatTemplate.fromHfFolder(dir));
        // chat_template.jinja comes first, as in transformers
        Files.writeString(dir.resolve("chat_template.jinja"), "J\n");
        assertEquals("J", ChatTemplate.fromHfFolder(dir).render(List.of(), true, Map.of()));
    }

    /** Python's json.dumps(x, ensure_ascii=False, indent=..., sort_keys=...), as transformers' tojson. */
    @Test
    void tojsonAsPython() {
        ChatTemplate t = new ChatTemplate("{% set x = {'b': [1, 2.5, none, true], 'a': 'é\"\\n'} %}{{ x | tojson }}|{{ x | tojson(indent=2) }}"
                + "|{{ x | tojson(sort_keys=true) }}|{{ [] | tojson(indent=2) }}", "test");
        assertEquals("{\"b\": [1, 2.5, null, true], \"a\": \"é\\\"\\n\"}"
                + "|{\n  \"b\": [\n    1,\n    2.5,\n    null,\n    true\n  ],\n  \"a\": \"é\\\"\\n\"\n}"
                + "|{\"a\": \"é\\\"\\n\", \"b\": [1, 2.5, null, true]}|[]", t.render(List.of(), false, Map.of()));
    }

    @Test
    void pythonStringMethods() {
        ChatTemplate t = new ChatTemplate("{{ '  a b  '.strip() }}|{{ 'a,b,,c'.split(',') | join('/') }}|{{ ' x  y '.split() | length }}"
                + "|{{ 'abc'.startswith('ab') }}|{{ 'abc'.endswith(('x', 'c')) }}|{{ 'xxhixx'.strip('x') }}|{{ 'a</think>b'.split('</think>')[-1] }}"
                + "|{{ '\\n\\nz'.lstrip('\\n') }}|{{ 'AbC'.lower() }}{{ 'AbC'.upper() }}|{{ {'k': 1}.items() | list | length }}", "test");
        assertEquals("a b|a/b//c|2|true|true|hi|b|z|abcABC|1", t.render(List.of(), false, Map.of()));
    }
}
