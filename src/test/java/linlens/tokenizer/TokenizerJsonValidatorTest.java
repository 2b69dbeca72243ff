package linlens.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import linlens.format.ModelFormatException;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Malformed tokenizer.json variants of the tiny fixture (vocab 0..299, added tokens 0 and 1), each
 * refused in Java with one line naming the field. Those marked "aborts" made the tokenizers native
 * library abort the JVM when loaded or used unchecked (tokenizers 0.21.4 through DJL 0.36.0).
 */
class TokenizerJsonValidatorTest {
    static final Path FIXTURE = Path.of("src/test/resources/reference/tiny/llama3/hf/tokenizer.json");
    static final ObjectMapper JSON = new ObjectMapper();

    static ObjectNode base() throws Exception { return (ObjectNode) JSON.readTree(FIXTURE.toFile()); }

    static ObjectNode json(String s) throws Exception { return (ObjectNode) JSON.readTree(s); }

    static String variant(Consumer<ObjectNode> edit) throws Exception {
        ObjectNode j = base();
        edit.accept(j);
        return j.toString();
    }

    static void refused(String json, String expected) {
        var e = assertThrows(ModelFormatException.class, () -> TokenizerJsonValidator.validate(json, -1, "x/tokenizer.json"));
        assertTrue(e.getMessage().startsWith("x/tokenizer.json: "), e.getMessage());
        assertTrue(e.getMessage().contains(expected), "expected '" + expected + "' in: " + e.getMessage());
        assertEquals(1, e.getMessage().lines().count(), e.getMessage());
    }

    static void refused(Consumer<ObjectNode> edit, String expected) throws Exception { refused(variant(edit), expected); }

    static ObjectNode template(String single, String specials) throws Exception {
        return json("{\"type\":\"TemplateProcessing\",\"single\":" + single + ",\"pair\":[{\"Sequence\":{\"id\":\"A\",\"type_id\":0}}],"
                + "\"special_tokens\":" + specials + "}");
    }

    static final String BOS_SPECIAL = "{\"<|begin_of_text|>\":{\"id\":\"<|begin_of_text|>\",\"ids\":[0],\"tokens\":[\"<|begin_of_text|>\"]}}";

    static ObjectNode added(int id, String content) {
        return JSON.createObjectNode().put("id", id).put("content", content).put("single_word", false).put("lstrip", false)
                .put("rstrip", false).put("normalized", false).put("special", true);
    }

    @Test
    void everyFixtureTokenizerPasses() throws Exception {
        try (var dirs = Files.list(Path.of("src/test/resources/reference/tiny"))) {
            for (Path d : dirs.filter(Files::isDirectory).toList()) {
                var r = TokenizerJsonValidator.validate(Files.readAllBytes(d.resolve("hf/tokenizer.json")), 300, d.toString());
                assertEquals(300, r.size());
                assertEquals("<|endoftext|>", r.pieces()[1]);
                assertTrue(r.special()[0] && r.added()[1] && !r.added()[2]);
            }
        }
    }

    @Test
    void truncationAndPaddingAreDroppedForTheLibrary() throws Exception {
        String j = variant(t -> t.set("truncation", JSON.createObjectNode().put("direction", "Right").put("max_length", 2)
                .put("strategy", "LongestFirst").put("stride", 5)));  // aborts when used: stride >= max_length
        JsonNode lib = JSON.readTree(TokenizerJsonValidator.validate(j, -1, "t").libraryJson());
        assertTrue(lib.get("truncation").isNull() && lib.get("padding").isNull());
    }

    @Test
    void postProcessorTemplates() throws Exception {
        // aborts: a template naming a special token that special_tokens lacks, alone or inside a Sequence
        refused(t -> t.set("post_processor", uncheck(() -> template(
                "[{\"SpecialToken\":{\"id\":\"[CLS]\",\"type_id\":0}},{\"Sequence\":{\"id\":\"A\",\"type_id\":0}}]", BOS_SPECIAL))),
                "post_processor.special_tokens lacks \"[CLS]\" used by its template");
        refused(t -> t.set("post_processor", uncheck(() -> json("{\"type\":\"Sequence\",\"processors\":[{\"type\":\"ByteLevel\"},"
                + template("[{\"SpecialToken\":{\"id\":\"[CLS]\",\"type_id\":0}}]", "{}") + "]}"))),
                "post_processor.processors[1].special_tokens lacks \"[CLS]\" used by its template");
        // aborts: $B in the single-sentence template
        refused(t -> t.set("post_processor", uncheck(() -> template("[{\"Sequence\":{\"id\":\"B\",\"type_id\":0}}]", "{}"))),
                "post_processor.single[0] uses sequence B");
        refused(t -> t.set("post_processor", uncheck(() -> template("[{\"SpecialToken\":{\"id\":\"<|begin_of_text|>\",\"type_id\":0}}]",
                "{\"<|begin_of_text|>\":{\"id\":\"<|begin_of_text|>\",\"ids\":[4294967295],\"tokens\":[\"<|begin_of_text|>\"]}}"))),
                "post_processor.special_tokens[\"<|begin_of_text|>\"].ids[0] is 4294967295, not below the limit");
        refused(t -> t.set("post_processor", uncheck(() -> template("[{\"SpecialToken\":{\"id\":\"<|begin_of_text|>\",\"type_id\":0}}]",
                "{\"<|begin_of_text|>\":{\"id\":\"<|begin_of_text|>\",\"ids\":[400],\"tokens\":[\"<|begin_of_text|>\"]}}"))),
                "ids[0] is 400, but the tokenizer's ids end at 299");
        refused(t -> t.set("post_processor", uncheck(() -> template("[{\"SpecialToken\":{\"id\":\"<|begin_of_text|>\",\"type_id\":0}}]",
                "{\"<|begin_of_text|>\":{\"id\":\"<|begin_of_text|>\",\"ids\":[0,1],\"tokens\":[\"<|begin_of_text|>\"]}}"))),
                "has 2 ids but 1 tokens");
        refused(t -> t.set("post_processor", uncheck(() -> json("{\"type\":\"BertProcessing\",\"sep\":[\"[SEP]\",999999],\"cls\":[\"[CLS]\",0]}"))),
                "post_processor.sep[1] is 999999");
        refused(t -> t.set("post_processor", uncheck(() -> json("{\"type\":\"Nope\"}"))), "post_processor.type 'Nope' is not supported");
        // aborts (found by fuzzing): the library reads post-processors by shape, so a "ByteLevel" carrying a
        // template's fields runs as that template, here one whose special token is undefined
        refused(t -> t.set("post_processor", uncheck(() -> json("{\"type\":\"Sequence\",\"processors\":[{\"type\":\"ByteLevel\","
                + "\"single\":[{\"SpecialToken\":{\"id\":\"[CLS]\",\"type_id\":0}}],\"pair\":[],\"special_tokens\":{}}]}"))),
                "post_processor.processors[0].single belongs to a TemplateProcessing, not to a ByteLevel");
        refused(t -> t.set("post_processor", uncheck(() -> json("{\"type\":\"BertProcessing\",\"sep\":[\"a\",0],\"cls\":[\"b\",1],"
                + "\"trim_offsets\":true}"))), "post_processor.trim_offsets belongs to a");
        // a correct template passes
        TokenizerJsonValidator.validate(variant(t -> t.set("post_processor", uncheck(() -> template(
                "[{\"SpecialToken\":{\"id\":\"<|begin_of_text|>\",\"type_id\":0}},{\"Sequence\":{\"id\":\"A\",\"type_id\":0}}]", BOS_SPECIAL)))),
                300, "t");
    }

    @Test
    void vocabularyIds() throws Exception {
        refused(t -> ((ObjectNode) t.path("model").path("vocab")).put("zzz", -1), "model.vocab[\"zzz\"] is -1, a negative token id");
        refused(t -> ((ObjectNode) t.path("model").path("vocab")).put("zzz", 2_000_000_000), "model.vocab[\"zzz\"] is 2000000000, not below");
        refused(t -> ((ObjectNode) t.path("model").path("vocab")).put("zzz", 4294967295L), "is 4294967295");
        refused(t -> ((ObjectNode) t.path("model").path("vocab")).put("zzz", 5.5), "model.vocab[\"zzz\"] is 5.5, not a token id");
        refused(t -> ((ObjectNode) t.path("model").path("vocab")).put("zzz", 5), "model.vocab gives id 5 to both");
        refused(t -> ((ObjectNode) t.path("model")).set("vocab", JSON.createObjectNode()), "model.vocab is empty");
        refused(variant(t -> ((ObjectNode) t.path("model").path("vocab")).put("SURROGATE", 300)).replace("SURROGATE", "\\ud800"),
                "model.vocab[\"\\ud800\"] has a lone UTF-16 surrogate at char 0");
        refused(t -> ((ObjectNode) t.path("model").path("vocab")).put("x".repeat(5000), 300), "more than 4096");
        // the embedding's row count is the bound where the caller knows it
        var e = assertThrows(ModelFormatException.class,
                () -> TokenizerJsonValidator.validate(Files.readAllBytes(FIXTURE), 200, "t.json"));
        assertTrue(e.getMessage().contains("model.vocab has 300 entries, more than the embedding's 200 rows"), e.getMessage());
        refused(t -> ((ObjectNode) t.path("model").path("vocab")).put("zzz", 5_000_000), "is 5000000, not below the limit of 4194304 tokens");
        var e2 = assertThrows(ModelFormatException.class, () -> TokenizerJsonValidator.validate(
                variant(t -> ((ObjectNode) t.path("model").path("vocab")).put("zzz", 305)), 302, "t.json"));
        assertTrue(e2.getMessage().contains("model.vocab[\"zzz\"] is 305, not below the embedding's 302 rows"), e2.getMessage());
    }

    @Test
    void addedTokens() throws Exception {
        refused(t -> ((ArrayNode) t.get("added_tokens")).add(added(2_000_000_000, "<x>")), "added_tokens[2].id is 2000000000");
        // the library would give it 300 whatever the file says
        refused(t -> ((ArrayNode) t.get("added_tokens")).add(added(5, "<x>")),
                "added_tokens[2].id is 5 but the tokenizers library gives \"<x>\" id 300");
        refused(t -> ((ArrayNode) t.get("added_tokens")).add(added(300, "")), "added_tokens[2].content is empty");
        refused(t -> ((ArrayNode) t.get("added_tokens")).add(added(300, "<|endoftext|>")), "repeats added_tokens[1]");
        refused(t -> ((ArrayNode) t.get("added_tokens")).add(added(-3, "<x>")), "added_tokens[2].id is -3");
        refused(t -> ((ArrayNode) t.get("added_tokens")).add(added(73, "x!")), "gives \"x!\" id 300");
        refused(t -> ((ObjectNode) t.get("added_tokens").get(0)).put("special", "yes"), "added_tokens[0].special is not true or false");
        // in the vocabulary: its vocabulary id; new: the next ids in order
        var r = TokenizerJsonValidator.validate(variant(t -> ((ArrayNode) t.get("added_tokens"))
                .add(added(300, "<x>")).add(added(301, "<y>")).add(added(73, "h"))), -1, "t");
        assertEquals(302, r.size());
        assertEquals("<y>", r.pieces()[301]);
    }

    @Test
    void mergesAndModel() throws Exception {
        refused(t -> ((ArrayNode) t.path("model").path("merges")).add(JSON.createArrayNode().add("qqq").add("rrr")),
                "model.merges[42] names \"qqq\", which is not in model.vocab");
        refused(t -> ((ArrayNode) t.path("model").path("merges")).add(JSON.createArrayNode().add("!").add("\"")),
                "model.merges[42] makes \"!\\\"\", which is not in model.vocab");
        refused(t -> ((ArrayNode) t.path("model").path("merges")).add("onlyone"), "is not two pieces separated by one space");
        // aborts: the library cuts continuing_subword_prefix off the right part by bytes
        refused(t -> ((ObjectNode) t.path("model")).put("continuing_subword_prefix", "##"),
                "model.merges[0] has \"e\", which does not start with model.continuing_subword_prefix \"##\"");
        refused(t -> ((ObjectNode) t.path("model")).put("unk_token", "<unk>"), "model.unk_token \"<unk>\" is not in model.vocab");
        refused(t -> ((ObjectNode) t.path("model")).put("dropout", 1.5), "model.dropout is 1.5");
        refused(t -> ((ObjectNode) t.path("model")).put("type", "Foo"), "model.type 'Foo' is not supported");
        refused(t -> t.remove("model"), "model is missing");
        refused(t -> t.put("version", "9.9"), "version is \"9.9\"");
        refused(t -> t.set("model", uncheck(() -> json("{\"type\":\"Unigram\",\"unk_id\":50,\"vocab\":[[\"a\",-1.0],[\"b\",-2.0]]}"))),
                "model.unk_id is 50 but model.vocab has 2 entries");
        refused(t -> t.set("model", uncheck(() -> json("{\"type\":\"Unigram\",\"unk_id\":0,\"vocab\":[[\"a\",-1.0],[\"a\",-2.0]]}"))),
                "model.vocab[1] repeats the piece \"a\"");
    }

    @Test
    void normalizersPreTokenizersDecoders() throws Exception {
        // aborts when used: Replace patterns that match the empty string, an empty Prepend
        refused(t -> t.set("normalizer", uncheck(() -> json("{\"type\":\"Replace\",\"pattern\":{\"String\":\"\"},\"content\":\"x\"}"))),
                "normalizer.pattern.String is empty");
        refused(t -> t.set("normalizer", uncheck(() -> json("{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"NFC\"},"
                + "{\"type\":\"Replace\",\"pattern\":{\"Regex\":\"x*\"},\"content\":\"y\"}]}"))),
                "normalizer.normalizers[1].pattern.Regex \"x*\" can match the empty string");
        refused(t -> t.set("normalizer", uncheck(() -> json("{\"type\":\"Replace\",\"pattern\":{\"Regex\":\"(?=a)\"},\"content\":\"y\"}"))),
                "can match the empty string");
        refused(t -> t.set("normalizer", uncheck(() -> json("{\"type\":\"Prepend\",\"prepend\":\"\"}"))), "normalizer.prepend is empty");
        // aborts at load: a charsmap that does not parse
        refused(t -> t.set("normalizer", uncheck(() -> json("{\"type\":\"Precompiled\",\"precompiled_charsmap\":\"AAAA\"}"))),
                "normalizer.precompiled_charsmap");
        refused(t -> t.set("normalizer", uncheck(() -> json("{\"type\":\"Precompiled\",\"precompiled_charsmap\":\"/////wAAAAAAAAAA\"}"))),
                "declares a trie of 4294967295 bytes");
        refused(t -> t.set("normalizer", uncheck(() -> json("{\"type\":\"Replace\",\"pattern\":{\"Regex\":\"((\"},\"content\":\"y\"}"))),
                "normalizer.pattern.Regex \"((\" is not a regex");
        refused(t -> t.set("normalizer", uncheck(() -> json("{\"type\":\"Foo\"}"))), "normalizer.type 'Foo' is not supported");
        refused(t -> t.set("pre_tokenizer", uncheck(() -> json("{\"type\":\"Foo\"}"))), "pre_tokenizer.type 'Foo' is not supported");
        refused(t -> t.set("decoder", uncheck(() -> json("{\"type\":\"Sequence\",\"decoders\":[{\"type\":\"Foo\"}]}"))),
                "decoder.decoders[0].type 'Foo' is not supported");
        // a Replace that cannot match empty passes (SentencePiece-style folders have one)
        TokenizerJsonValidator.validate(variant(t -> t.set("normalizer", uncheck(() -> json(
                "{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"Prepend\",\"prepend\":\"▁\"},"
                        + "{\"type\":\"Replace\",\"pattern\":{\"String\":\" \"},\"content\":\"▁\"}]}")))), -1, "t");
    }

    @Test
    void regexesWithNestedRepeatsAreRefused() throws Exception {
        // aborts mid-encode: Oniguruma's retry limit on "aaa...a!" panics the library
        refused(t -> ((ObjectNode) t.path("pre_tokenizer").path("pretokenizers").get(0).path("pattern")).put("Regex", "(a+)+b"),
                "pre_tokenizer.pretokenizers[0].pattern.Regex \"(a+)+b\" repeats a group that itself repeats (at char 4)");
        refused(t -> t.set("normalizer", uncheck(() -> json("{\"type\":\"Replace\",\"pattern\":{\"Regex\":\"(?:\\\\s*x)*y\"},\"content\":\"z\"}"))),
                "normalizer.pattern.Regex");
        String[] used = {  // GPT-2, Llama 3, Qwen 2, GPT-4o / Llama 4, DeepSeek V3 pre-tokenizer regexes
                "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
                "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
                "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
                "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
                        + "|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
                        + "|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
                "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\\r\\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
                "(?:\\r\\n|\\n)+", "([a-z]+)?", "(x{3})+", "[(a+)+]", "\\(a+\\)+"};
        for (String re : used) assertEquals(-1, TokenizerJsonValidator.nestedQuantifier(re), re);
        for (String re : new String[] {"(a+)+b", "(a*)*", "(?:\\s*x)+", "((ab)+c)*", "(x{1,3})+", "(a+){2,}", "(?<n>\\p{L}+)+"})
            assertTrue(TokenizerJsonValidator.nestedQuantifier(re) > 0, re);
    }

    @Test
    void jsonItself() {
        refused("{\"model\": ", "not valid JSON");
        refused("[1, 2]", "not a JSON object");
        refused("{\"a\": 1, \"a\": 2}", "not valid JSON (Duplicate field 'a'");
        refused("{\"a\":" + "[".repeat(200) + "]".repeat(200) + "}", "not valid JSON");
        refused("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}}, \"x\": NaN}", "not valid JSON");
        assertThrows(ModelFormatException.class, () -> TokenizerJsonValidator.validate("{}".getBytes(StandardCharsets.UTF_8), -1, "t"));
    }

    interface Supplier<T> { T get() throws Exception; }

    static <T> T uncheck(Supplier<T> s) {
        try {
            return s.get();
        } catch (Exception e) {
            throw new RuntimeException(e);
        }
    }
}
