package linlens.tokenizer;

import linlens.format.GgufFile;
import linlens.format.ModelFormatException;

import java.util.Set;

/**
 * The token list of a model as GGUF stores it ({@code tokenizer.ggml.*}): pieces, scores, token
 * types turned into attribute bits as llama.cpp does, and the special token ids. Shared by every
 * tokenizer algorithm.
 */
public final class Vocabulary {
    // Attribute bits, as llama.cpp's llama_token_attr.
    public static final int ATTR_UNKNOWN = 1;
    public static final int ATTR_UNUSED = 1 << 1;
    public static final int ATTR_NORMAL = 1 << 2;
    public static final int ATTR_CONTROL = 1 << 3;
    public static final int ATTR_USER_DEFINED = 1 << 4;
    public static final int ATTR_BYTE = 1 << 5;

    // GGUF tokenizer.ggml.token_type values.
    static final int TYPE_UNDEFINED = 0, TYPE_NORMAL = 1, TYPE_UNKNOWN = 2, TYPE_CONTROL = 3,
            TYPE_USER_DEFINED = 4, TYPE_UNUSED = 5, TYPE_BYTE = 6;

    /**
     * Pieces that llama.cpp forces to CONTROL when a model file marks them otherwise (its
     * end-of-turn / end-of-generation detection by text), so they are matched as special tokens.
     */
    private static final Set<String> FORCED_CONTROL = Set.of(
            "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>",
            "<EOT>", "_<EOT>", "<|eom_id|>", "<end_of_utterance>", "</s>");

    final String[] pieces;
    final float[] scores;
    final int[] attrs;
    final PieceTable table;
    final int bos, eos, unk;
    final boolean addBos, addEos;
    private final int maxPieceChars;

    Vocabulary(String[] pieces, float[] scores, int[] attrs, int bos, int eos, int unk, boolean addBos, boolean addEos) {
        this.pieces = pieces;
        this.scores = scores;
        this.attrs = attrs;
        this.table = new PieceTable(pieces);
        this.bos = bos;
        this.eos = eos;
        this.unk = unk;
        this.addBos = addBos;
        this.addEos = addEos;
        int longest = 1;
        for (String p : pieces) longest = Math.max(longest, p.length());
        this.maxPieceChars = longest;
    }

    /** More tokens than any real vocabulary (~262k), few enough that per-token tables stay small. */
    static final int MAX_TOKENS = 1 << 22;

    /**
     * Reads the vocabulary. {@code defaultBos}/{@code defaultEos}/{@code defaultUnk} apply where the
     * file gives no id (llama.cpp's per-model defaults), as do the add_bos/add_eos defaults. Arrays
     * that do not match the token list and special ids outside it are refused, naming the file and
     * the key.
     */
    static Vocabulary fromGguf(GgufFile gguf, int defaultBos, int defaultEos, int defaultUnk,
                               boolean defaultAddBos, boolean defaultAddEos) {
        String src = gguf.path() + ": ";
        if (!gguf.has("tokenizer.ggml.tokens")) throw new ModelFormatException(src + "no tokenizer vocabulary (tokenizer.ggml.tokens)");
        if (!(gguf.metadata().get("tokenizer.ggml.tokens") instanceof String[] stored))
            throw new ModelFormatException(src + "tokenizer.ggml.tokens is not an array of strings");
        String[] pieces = stored.clone();
        int n = pieces.length;
        if (n == 0) throw new ModelFormatException(src + "tokenizer.ggml.tokens is empty (an empty tokenizer vocabulary)");
        if (n > MAX_TOKENS) throw new ModelFormatException(src + "tokenizer.ggml.tokens has " + n + " tokens, more than " + MAX_TOKENS);
        for (int i = 0; i < n; i++) if (pieces[i].isEmpty()) pieces[i] = "[EMPTY_" + i + "]"; // as llama.cpp

        float[] scores = new float[n];
        if (gguf.has("tokenizer.ggml.scores")) {
            Object s = gguf.metadata().get("tokenizer.ggml.scores");
            if (s instanceof float[] f && f.length == n) System.arraycopy(f, 0, scores, 0, n);
            else if (s instanceof int[] a && a.length == n) for (int i = 0; i < n; i++) scores[i] = a[i];
            else throw new ModelFormatException(src + "tokenizer.ggml.scores is not a float or int array of " + n
                    + " entries, one per token" + (s instanceof float[] f ? " (it has " + f.length + ")" : s instanceof int[] a ? " (it has " + a.length + ")" : ""));
            // NaN has no order: the merge queue would pick pairs arbitrarily
            for (int i = 0; i < n; i++)
                if (Float.isNaN(scores[i])) throw new ModelFormatException(src + "tokenizer.ggml.scores[" + i + "] is NaN");
        }

        int[] attrs = new int[n];
        if (gguf.has("tokenizer.ggml.token_type")) {
            Object t = gguf.metadata().get("tokenizer.ggml.token_type");
            if (!(t instanceof int[] types) || types.length != n)
                throw new ModelFormatException(src + "tokenizer.ggml.token_type is not an int array of " + n
                        + " entries, one per token" + (t instanceof int[] a ? " (it has " + a.length + ")" : ""));
            for (int i = 0; i < n; i++) attrs[i] = attrOfType(types[i]);
        } else {
            java.util.Arrays.fill(attrs, ATTR_NORMAL);
        }
        for (int i = 0; i < n; i++) if (FORCED_CONTROL.contains(pieces[i])) attrs[i] |= ATTR_CONTROL;

        int bos = specialId(gguf, "tokenizer.ggml.bos_token_id", defaultBos, n);
        int eos = specialId(gguf, "tokenizer.ggml.eos_token_id", defaultEos, n);
        int unk = specialId(gguf, "tokenizer.ggml.unknown_token_id", defaultUnk, n);
        specialId(gguf, "tokenizer.ggml.padding_token_id", -1, n);
        boolean addBos = gguf.bool("tokenizer.ggml.add_bos_token", defaultAddBos);
        boolean addEos = gguf.bool("tokenizer.ggml.add_eos_token", defaultAddEos);
        if (addBos && bos < 0) throw new ModelFormatException(src + "tokenizer.ggml.add_bos_token is true but there is no BOS token id");
        if (addEos && eos < 0) throw new ModelFormatException(src + "tokenizer.ggml.add_eos_token is true but there is no EOS token id");
        return new Vocabulary(pieces, scores, attrs, bos, eos, unk, addBos, addEos);
    }

    /**
     * A special token id: the file's, else the default where it is in range. An id of -1 (or
     * 0xFFFFFFFF, its unsigned form) means none is given; any other id outside the vocabulary is
     * refused (llama.cpp would warn and use the default, silently changing every prompt).
     */
    private static int specialId(GgufFile gguf, String key, int fallback, int n) {
        int id = fallback >= 0 && fallback < n ? fallback : -1;
        if (gguf.has(key)) {
            long v;
            try {
                v = gguf.integer(key);
            } catch (ModelFormatException e) {
                throw new ModelFormatException(gguf.path() + ": " + key + " is not an integer");
            }
            if (v == -1 || v == 0xFFFF_FFFFL) return id;
            if (v < 0 || v >= n)
                throw new ModelFormatException(gguf.path() + ": " + key + " is " + v + ", outside the vocabulary of " + n + " tokens");
            id = (int) v;
        }
        return id;
    }

    static int attrOfType(int type) {
        return switch (type) {
            case TYPE_NORMAL -> ATTR_NORMAL;
            case TYPE_UNKNOWN -> ATTR_UNKNOWN;
            case TYPE_CONTROL -> ATTR_CONTROL;
            case TYPE_USER_DEFINED -> ATTR_USER_DEFINED;
            case TYPE_UNUSED -> ATTR_UNUSED;
            case TYPE_BYTE -> ATTR_BYTE;
            default -> 0; // undefined
        };
    }

    public int size() { return pieces.length; }

    /** The longest piece in UTF-16 chars: no token stands for more characters of text (at least 1). */
    public int maxPieceChars() { return maxPieceChars; }

    /** The raw piece as stored in the model (e.g. "▁the", "<0x0A>", "<start_of_turn>"). */
    public String piece(int id) { return pieces[id]; }

    public float score(int id) { return scores[id]; }

    /** llama.cpp-style attribute bits ({@link #ATTR_NORMAL} etc.). */
    public int attrs(int id) { return attrs[id]; }

    /** The id of an exact piece, or -1. */
    public int id(String piece) { return table.get(piece); }

    /** For a byte token {@code <0xNN>} the byte value 0..255, else -1. */
    public int byteValue(int id) {
        if ((attrs[id] & ATTR_BYTE) == 0) return -1;
        String p = pieces[id];
        if (p.length() == 6 && p.startsWith("<0x") && p.endsWith(">")) {
            try {
                return Integer.parseInt(p.substring(3, 5), 16);
            } catch (NumberFormatException e) {
                return -1;
            }
        }
        return p.length() == 1 && p.charAt(0) < 0x80 ? p.charAt(0) : -1;
    }
}
