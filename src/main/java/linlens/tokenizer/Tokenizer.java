package linlens.tokenizer;

import linlens.format.GgufFile;
import linlens.format.ModelFormatException;

/**
 * Text to token ids and back, as llama.cpp does it for the model's {@code tokenizer.ggml.model}.
 * Implementations are immutable and thread-safe.
 */
public interface Tokenizer {

    /**
     * Encodes text the way llama.cpp does with {@code add_special=true, parse_special=true}: BOS
     * (and EOS) added as the model's metadata asks, and special tokens written in the text (such as
     * {@code <start_of_turn>}) recognised as single tokens.
     */
    default int[] encode(String text) { return encode(text, true, true); }

    /**
     * @param addSpecial   add BOS/EOS as the model's metadata asks
     * @param parseSpecial recognise CONTROL tokens written in the text (USER_DEFINED tokens are
     *                     always recognised, as in llama.cpp)
     */
    int[] encode(String text, boolean addSpecial, boolean parseSpecial);

    /**
     * The text of one token for display: word-boundary marks become spaces, control tokens show
     * their name (e.g. {@code <bos>}); a byte token that is not a whole character by itself shows as
     * its piece (e.g. {@code <0xE2>}).
     */
    String decode(int id);

    /** The text of a token sequence: pieces joined, byte tokens assembled into UTF-8. */
    String decode(int[] ids);

    int vocabSize();

    /**
     * The most characters of text one token can stand for, so that a text longer than
     * {@code context * maxCharsPerToken()} can be refused without encoding it;
     * {@link Integer#MAX_VALUE} where no such bound holds.
     */
    default int maxCharsPerToken() { return vocabulary().maxPieceChars(); }

    /** The beginning-of-sequence token id, or -1 if the model has none. */
    int bos();

    /** The end-of-sequence token id, or -1 if the model has none. */
    int eos();

    /** The vocabulary: raw pieces, scores, token attributes. */
    Vocabulary vocabulary();

    /** The tokenizer that the model's {@code tokenizer.ggml.model} names. */
    static Tokenizer fromGguf(GgufFile gguf) {
        if (!gguf.has("tokenizer.ggml.model"))
            throw new ModelFormatException(gguf.path() + ": no tokenizer in the model file (tokenizer.ggml.model missing)");
        String model = gguf.string("tokenizer.ggml.model");
        return switch (model) {
            case "llama" -> SpmTokenizer.fromGguf(gguf);
            case "gpt2" -> ByteBpeTokenizer.fromGguf(gguf);
            default -> throw new ModelFormatException(gguf.path() + ": unsupported tokenizer model '" + model
                    + "'; supported: 'llama' (SentencePiece BPE), 'gpt2' (byte-level BPE)");
        };
    }
}
