package linlens.tokenizer;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import linlens.format.ModelFormatException;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

/**
 * A Hugging Face folder's {@code tokenizer.json}, run by the Hugging Face tokenizers library (DJL's
 * binding, native library bundled). Special tokens are added by the tokenizer's own
 * post-processor, as transformers does; the BOS/EOS ids come from {@code tokenizer_config.json}
 * ({@code bos_token}, {@code eos_token}).
 *
 * <p>The native library aborts the JVM on some malformed files, so the file is first checked in
 * Java ({@link TokenizerJsonValidator}) and then tried in a child JVM ({@link TokenizerProbe});
 * only then is it loaded here.
 */
public final class HfTokenizer implements Tokenizer {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final HuggingFaceTokenizer tok;
    private final Vocabulary vocab;
    private final int maxCharsPerToken;
    private final String file;

    private HfTokenizer(HuggingFaceTokenizer tok, Vocabulary vocab, int maxCharsPerToken, String file) {
        this.tok = tok;
        this.vocab = vocab;
        this.maxCharsPerToken = maxCharsPerToken;
        this.file = file;
    }

    public static HfTokenizer open(Path folder) { return open(folder, -1); }

    /**
     * @param embeddingRows the model's embedding row count: every token id must be below it
     *                      ({@code <= 0} where not known)
     */
    public static HfTokenizer open(Path folder, int embeddingRows) {
        Path file = folder.resolve("tokenizer.json");
        if (!Files.exists(file)) throw new ModelFormatException(file + ": tokenizer missing (the folder has no tokenizer.json)");
        byte[] bytes;
        try {
            if (Files.size(file) > TokenizerJsonValidator.MAX_BYTES)
                throw new ModelFormatException(file + ": " + Files.size(file) + " bytes, more than the "
                        + TokenizerJsonValidator.MAX_BYTES + " a tokenizer.json may have");
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new ModelFormatException(file + ": cannot read (" + e.getMessage() + ")", e);
        }
        TokenizerJsonValidator.Result checked = TokenizerJsonValidator.validate(bytes, embeddingRows, file.toString());
        Path cfgFile = folder.resolve("tokenizer_config.json");
        JsonNode cfg = Files.exists(cfgFile) ? read(cfgFile) : JSON.createObjectNode();
        int size = checked.size();
        String[] pieces = new String[size];
        int[] attrs = new int[size];
        for (int i = 0; i < size; i++) {
            pieces[i] = checked.pieces()[i];
            attrs[i] = pieces[i] == null ? Vocabulary.ATTR_UNUSED : !checked.added()[i] ? Vocabulary.ATTR_NORMAL
                    : checked.special()[i] ? Vocabulary.ATTR_CONTROL : Vocabulary.ATTR_USER_DEFINED;
            if (pieces[i] == null) pieces[i] = "[UNUSED_" + i + "]";
        }
        int bos = special(cfg.path("bos_token"), pieces), eos = special(cfg.path("eos_token"), pieces);
        Vocabulary v = new Vocabulary(pieces, new float[size], attrs, bos, eos, -1, false, false);
        TokenizerProbe.check(checked, file.toString());
        try {
            HuggingFaceTokenizer t = HuggingFaceTokenizer.newInstance(
                    new ByteArrayInputStream(checked.libraryJson().getBytes(StandardCharsets.UTF_8)), Map.of("addSpecialTokens", "true"));
            return new HfTokenizer(t, v, checked.piecesBoundText() ? checked.maxPieceChars() : Integer.MAX_VALUE, file.toString());
        } catch (IOException | RuntimeException e) {
            String m = String.valueOf(e.getMessage()).lines().findFirst().orElse("");
            throw new ModelFormatException(file + ": cannot load the tokenizer (" + m + ")", e);
        }
    }

    private static JsonNode read(Path p) {
        try {
            return JSON.readTree(p.toFile());
        } catch (IOException e) {
            throw new ModelFormatException(p + ": cannot read JSON (" + String.valueOf(e.getMessage()).lines().findFirst().orElse("") + ")", e);
        }
    }

    /** The id of a special token given as a string or as {"content": ...}, or -1. */
    private static int special(JsonNode node, String[] pieces) {
        String s = node.isTextual() ? node.asText() : node.path("content").asText(null);
        if (s == null) return -1;
        for (int i = 0; i < pieces.length; i++) if (s.equals(pieces[i])) return i;
        return -1;
    }

    /**
     * Special tokens written in the text are always recognised (the tokenizers library's behaviour); {@code parseSpecial} has no effect.
     *
     * @throws IllegalArgumentException for a lone UTF-16 surrogate: the JNI string conversion would
     *         turn it into replacement characters the user never typed (the model package's prompt check
     *         refuses such prompts before they get here)
     */
    @Override
    public int[] encode(String text, boolean addSpecial, boolean parseSpecial) {
        int bad = TokenizerJsonValidator.loneSurrogate(text);
        if (bad >= 0) throw new IllegalArgumentException("lone UTF-16 surrogate at char " + bad);
        long[] ids;
        try {
            ids = tok.encode(text, addSpecial, false).getIds();
        } catch (RuntimeException libraryError) {
            throw cannot("encode", libraryError);
        }
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            // the checks keep every id the library can give inside the vocabulary
            if (ids[i] < 0 || ids[i] >= vocab.size()) throw new IllegalStateException("tokenizer gave id " + ids[i] + " outside its vocabulary");
            out[i] = (int) ids[i];
        }
        return out;
    }

    @Override
    public String decode(int id) {
        if (id < 0 || id >= vocab.size()) throw new IllegalArgumentException("token id " + id + " out of range");
        if ((vocab.attrs[id] & (Vocabulary.ATTR_CONTROL | Vocabulary.ATTR_USER_DEFINED | Vocabulary.ATTR_UNUSED)) != 0)
            return vocab.pieces[id];
        String s;
        try {
            s = tok.decode(new long[] {id}, false);
        } catch (RuntimeException libraryError) {
            throw cannot("decode", libraryError);
        }
        return s.contains("\uFFFD") ? vocab.pieces[id] : s;
    }

    @Override
    public String decode(int[] ids) {
        for (int id : ids) if (id < 0 || id >= vocab.size()) throw new IllegalArgumentException("token id " + id + " out of range");
        try {
            return tok.decode(Arrays.stream(ids).asLongStream().toArray(), false);
        } catch (RuntimeException libraryError) {
            throw cannot("decode", libraryError);
        }
    }

    /**
     * An error the library returns (not a panic) while encoding or decoding, e.g. a Unigram model
     * without {@code unk_id} meeting a character it lacks: a defect of the file that shows only on
     * some texts, so it is reported as one about the file.
     */
    private ModelFormatException cannot(String what, RuntimeException libraryError) {
        String m = String.valueOf(libraryError.getMessage()).lines().findFirst().orElse("");
        return new ModelFormatException(file + ": the tokenizers library cannot " + what + " this text with it (" + m + ")", libraryError);
    }

    @Override public int maxCharsPerToken() { return maxCharsPerToken; }
    @Override public int vocabSize() { return vocab.size(); }
    @Override public int bos() { return vocab.bos; }
    @Override public int eos() { return vocab.eos; }
    @Override public Vocabulary vocabulary() { return vocab; }
}
