package linlens.tokenizer;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import linlens.format.ModelFormatException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

/**
 * A Hugging Face folder's {@code tokenizer.json}, run by the Hugging Face tokenizers library (DJL's
 * binding, native library bundled). Special tokens are added by the tokenizer's own
 * post-processor, as transformers does; the BOS/EOS ids come from {@code tokenizer_config.json}
 * ({@code bos_token}, {@code eos_token}).
 */
public final class HfTokenizer implements Tokenizer {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final HuggingFaceTokenizer tok;
    private final Vocabulary vocab;

    private HfTokenizer(HuggingFaceTokenizer tok, Vocabulary vocab) {
        this.tok = tok;
        this.vocab = vocab;
    }

    public static HfTokenizer open(Path folder) {
        Path file = folder.resolve("tokenizer.json");
        if (!Files.exists(file)) throw new ModelFormatException(file + ": tokenizer missing (the folder has no tokenizer.json)");
        JsonNode json = read(file), cfg = Files.exists(folder.resolve("tokenizer_config.json"))
                ? read(folder.resolve("tokenizer_config.json")) : JSON.createObjectNode();
        JsonNode model = json.path("model").path("vocab");
        int size = 0;
        for (var e : model.properties()) size = Math.max(size, e.getValue().asInt() + 1);
        for (JsonNode a : json.path("added_tokens")) size = Math.max(size, a.path("id").asInt() + 1);
        String[] pieces = new String[size];
        int[] attrs = new int[size];
        Arrays.fill(attrs, Vocabulary.ATTR_NORMAL);
        for (var e : model.properties()) pieces[e.getValue().asInt()] = e.getKey();
        for (JsonNode a : json.path("added_tokens")) {
            int id = a.path("id").asInt();
            pieces[id] = a.path("content").asText();
            attrs[id] = a.path("special").asBoolean() ? Vocabulary.ATTR_CONTROL : Vocabulary.ATTR_USER_DEFINED;
        }
        for (int i = 0; i < size; i++) if (pieces[i] == null) { pieces[i] = "[UNUSED_" + i + "]"; attrs[i] = Vocabulary.ATTR_UNUSED; }
        int bos = special(cfg.path("bos_token"), pieces), eos = special(cfg.path("eos_token"), pieces);
        Vocabulary v = new Vocabulary(pieces, new float[size], attrs, bos, eos, -1, false, false);
        try {
            return new HfTokenizer(HuggingFaceTokenizer.newInstance(file, Map.of("addSpecialTokens", "true")), v);
        } catch (IOException | RuntimeException e) {
            throw new ModelFormatException(file + ": cannot load the tokenizer (" + e.getMessage() + ")", e);
        }
    }

    private static JsonNode read(Path p) {
        try {
            return JSON.readTree(p.toFile());
        } catch (IOException e) {
            throw new ModelFormatException(p + ": cannot read JSON", e);
        }
    }

    /** The id of a special token given as a string or as {"content": ...}, or -1. */
    private static int special(JsonNode node, String[] pieces) {
        String s = node.isTextual() ? node.asText() : node.path("content").asText(null);
        if (s == null) return -1;
        for (int i = 0; i < pieces.length; i++) if (s.equals(pieces[i])) return i;
        return -1;
    }

    /** Special tokens written in the text are always recognised (the tokenizers library's behaviour); {@code parseSpecial} has no effect. */
    @Override
    public int[] encode(String text, boolean addSpecial, boolean parseSpecial) {
        Encoding e = tok.encode(text, addSpecial, false);
        return Arrays.stream(e.getIds()).mapToInt(Math::toIntExact).toArray();
    }

    @Override
    public String decode(int id) {
        if (id < 0 || id >= vocab.size()) throw new IllegalArgumentException("token id " + id + " out of range");
        if ((vocab.attrs[id] & (Vocabulary.ATTR_CONTROL | Vocabulary.ATTR_USER_DEFINED | Vocabulary.ATTR_UNUSED)) != 0)
            return vocab.pieces[id];
        String s = tok.decode(new long[] {id}, false);
        return s.contains("\uFFFD") ? vocab.pieces[id] : s;
    }

    @Override
    public String decode(int[] ids) {
        return tok.decode(Arrays.stream(ids).asLongStream().toArray(), false);
    }

    @Override public int vocabSize() { return vocab.size(); }
    @Override public int bos() { return vocab.bos; }
    @Override public int eos() { return vocab.eos; }
    @Override public Vocabulary vocabulary() { return vocab; }
}
