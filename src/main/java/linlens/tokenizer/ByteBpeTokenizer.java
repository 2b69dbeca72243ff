package linlens.tokenizer;

import linlens.format.GgufFile;
import linlens.format.ModelFormatException;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * GPT-2 style byte-level BPE ({@code tokenizer.ggml.model = "gpt2"}: Llama 3, Qwen, OLMo, Phi 4,
 * DeepSeek, StarCoder, Falcon...), as llama.cpp does it: special tokens split out first; each text
 * fragment cut into words by the pre-tokenizer that {@code tokenizer.ggml.pre} names (every name
 * llama.cpp accepts, one regex or several in sequence: {@link PreTokenizer}); each word's UTF-8
 * bytes written with GPT-2's byte-to-character map and merged pairwise by merge rank (lowest first,
 * leftmost on ties), a word that is itself a token taken whole where the pre-tokenizer asks for it
 * (Llama 3, Tekken...). Names llama.cpp runs without the byte map (gemma4, sarvam-moe,
 * whitespace: SentencePiece-style BPE over raw UTF-8) and names llama.cpp does not know are
 * refused with one line.
 */
public final class ByteBpeTokenizer implements Tokenizer {
    private static final char[] BYTE_CHAR = new char[256];
    private static final Map<Character, Integer> CHAR_BYTE = new HashMap<>();
    static {
        // GPT-2's map: printable Latin-1 bytes stand for themselves, the others for 256, 257, ...
        int next = 256;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            BYTE_CHAR[b] = (char) (printable ? b : next++);
            CHAR_BYTE.put(BYTE_CHAR[b], b);
        }
    }

    private final Vocabulary vocab;
    private final Map<String, Integer> mergeRank = new HashMap<>();
    private final PreTokenizer.Type pre;
    private final boolean ignoreMerges;
    private final SpecialSplitter splitter;
    private final int[] byteToken = new int[256]; // byte value -> the token of its GPT-2 character

    /** @param src the model file, for errors */
    ByteBpeTokenizer(Vocabulary vocab, String[] merges, PreTokenizer.Type pre, boolean ignoreMerges, String src) {
        this.vocab = vocab;
        // every byte must have its token: text the merges do not cover falls back to bytes
        for (int b = 0; b < 256; b++) {
            byteToken[b] = vocab.table.get(String.valueOf(BYTE_CHAR[b]));
            if (byteToken[b] < 0)
                throw new ModelFormatException(src + ": tokenizer.ggml.tokens lacks the token for byte "
                        + String.format("0x%02X (\"%c\")", b, BYTE_CHAR[b]) + ", which byte-level BPE needs");
        }
        for (int i = 0; i < merges.length; i++) {
            String m = merges[i];
            int space = m.indexOf(' ', 1); // as llama.cpp splits a merge
            if (space < 0 || space == m.length() - 1)
                throw new ModelFormatException(src + ": tokenizer.ggml.merges[" + i + "] " + TokenizerJsonValidator.quote(m)
                        + " is not two tokens separated by a space");
            for (String part : new String[] {m.substring(0, space), m.substring(space + 1)})
                if (vocab.table.get(part) < 0)
                    throw new ModelFormatException(src + ": tokenizer.ggml.merges[" + i + "] names "
                            + TokenizerJsonValidator.quote(part) + ", which is not in tokenizer.ggml.tokens");
            mergeRank.put(m, i);
        }
        this.pre = pre;
        this.ignoreMerges = ignoreMerges;
        this.splitter = new SpecialSplitter(vocab);
    }

    /**
     * llama.cpp's defaults for BPE vocabularies: BOS and EOS 11 where not given (no default BOS for
     * ChatGLM's names); BOS added per pre-tokenizer name; no {@code tokenizer.ggml.pre}: "default".
     */
    static ByteBpeTokenizer fromGguf(GgufFile gguf) {
        String preName = gguf.has("tokenizer.ggml.pre") ? gguf.string("tokenizer.ggml.pre") : "default";
        PreTokenizer.Name p = PreTokenizer.names().get(preName);
        if (p == null)
            throw new ModelFormatException(gguf.path() + ": unsupported BPE pre-tokenizer '" + preName
                    + "' (supported: " + String.join(", ", supportedNames()) + ")");
        if (!p.type().byteLevel)
            throw new ModelFormatException(gguf.path() + ": unsupported BPE pre-tokenizer '" + preName
                    + "': llama.cpp runs it as SentencePiece-style BPE over raw UTF-8, not byte-level BPE, which linlens does not implement");
        if (!gguf.has("tokenizer.ggml.merges"))
            throw new ModelFormatException(gguf.path() + ": BPE tokenizer without merges (tokenizer.ggml.merges)");
        Vocabulary v = Vocabulary.fromGguf(gguf, p.noDefaultBos() ? -1 : 11, 11, -1, p.addBos(), false);
        if (!(gguf.metadata().get("tokenizer.ggml.merges") instanceof String[] merges))
            throw new ModelFormatException(gguf.path() + ": tokenizer.ggml.merges is not an array of strings");
        if (merges.length > Vocabulary.MAX_TOKENS)
            throw new ModelFormatException(gguf.path() + ": tokenizer.ggml.merges has " + merges.length + " entries, more than " + Vocabulary.MAX_TOKENS);
        return new ByteBpeTokenizer(v, merges, p.type(), p.ignoreMerges(), gguf.path().toString());
    }

    /** The names of the pre-tokenizers this class runs, sorted. */
    static List<String> supportedNames() {
        return PreTokenizer.names().entrySet().stream().filter(e -> e.getValue().type().byteLevel).map(Map.Entry::getKey).toList();
    }

    @Override public int vocabSize() { return vocab.size(); }
    @Override public int bos() { return vocab.bos; }
    @Override public int eos() { return vocab.eos; }
    @Override public Vocabulary vocabulary() { return vocab; }

    @Override
    public int[] encode(String text, boolean addSpecial, boolean parseSpecial) {
        List<Integer> out = new ArrayList<>();
        if (addSpecial && vocab.addBos) out.add(vocab.bos);
        for (SpecialSplitter.Fragment f : splitter.split(text, parseSpecial)) {
            if (!f.isText()) { out.add(f.token()); continue; }
            int[] words = PreTokenizer.words(pre, text, f.start(), f.end());
            for (int i = 0; i + 1 < words.length; i++) word(text.substring(words[i], words[i + 1]), out);
        }
        if (addSpecial && vocab.addEos) out.add(vocab.eos);
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    /**
     * One pre-tokenized word: byte-mapped, then merged by rank, lowest rank first and leftmost on
     * ties. A heap of candidate pairs keyed (rank, left position) keeps a long word O(n log n);
     * a popped pair is used only if it is still adjacent with the rank it was queued with (ranks
     * are unique per merge, so that means it is the same pair).
     */
    private void word(String w, List<Integer> out) {
        byte[] bytes = w.getBytes(StandardCharsets.UTF_8);
        int n = bytes.length;
        char[] mapped = new char[n];
        for (int i = 0; i < n; i++) mapped[i] = BYTE_CHAR[bytes[i] & 0xff];
        if (ignoreMerges) {
            int id = vocab.table.get(mapped, 0, n);
            if (id >= 0) { out.add(id); return; }
        }
        if (n == 0) return;
        // symbol i starts at mapped[i]; merged-away symbols get size 0
        int[] size = new int[n], next = new int[n], prev = new int[n];
        for (int i = 0; i < n; i++) { size[i] = 1; next[i] = i + 1; prev[i] = i - 1; }
        next[n - 1] = -1;
        PriorityQueue<Long> queue = new PriorityQueue<>();
        for (int i = 0; i + 1 < n; i++) queuePair(mapped, size, i, i + 1, queue);
        while (!queue.isEmpty()) {
            long top = queue.poll();
            int left = (int) top, rank = (int) (top >>> 32);
            if (size[left] == 0 || next[left] < 0 || rank(mapped, size, left, next[left]) != rank) continue;
            int right = next[left];
            size[left] += size[right];
            size[right] = 0;
            next[left] = next[right];
            if (next[right] >= 0) prev[next[right]] = left;
            if (prev[left] >= 0) queuePair(mapped, size, prev[left], left, queue);
            if (next[left] >= 0) queuePair(mapped, size, left, next[left], queue);
        }
        for (int i = 0; i != -1; i = next[i]) {
            int id = vocab.table.get(mapped, i, size[i]);
            if (id >= 0) { out.add(id); continue; }
            for (int k = i; k < i + size[i]; k++) out.add(byteToken[CHAR_BYTE.get(mapped[k])]); // not a token: its bytes
        }
    }

    private void queuePair(char[] mapped, int[] size, int left, int right, PriorityQueue<Long> queue) {
        int r = rank(mapped, size, left, right);
        if (r >= 0) queue.add((long) r << 32 | left);
    }

    /** The merge rank of two adjacent symbols, or -1. */
    private int rank(char[] mapped, int[] size, int left, int right) {
        Integer r = mergeRank.get(new String(mapped, left, size[left]) + " " + new String(mapped, right, size[right]));
        return r == null ? -1 : r;
    }

    @Override
    public String decode(int id) {
        if (id < 0 || id >= vocab.size()) throw new IllegalArgumentException("token id " + id + " out of range");
        if ((vocab.attrs[id] & (Vocabulary.ATTR_CONTROL | Vocabulary.ATTR_USER_DEFINED)) != 0) return vocab.pieces[id];
        byte[] b = bytes(vocab.pieces[id]);
        String s = new String(b, StandardCharsets.UTF_8);
        return s.contains("\uFFFD") ? vocab.pieces[id] : s;
    }

    @Override
    public String decode(int[] ids) {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        for (int id : ids) {
            if ((vocab.attrs[id] & (Vocabulary.ATTR_CONTROL | Vocabulary.ATTR_USER_DEFINED)) != 0)
                buf.writeBytes(vocab.pieces[id].getBytes(StandardCharsets.UTF_8));
            else buf.writeBytes(bytes(vocab.pieces[id]));
        }
        return buf.toString(StandardCharsets.UTF_8);
    }

    private static byte[] bytes(String piece) {
        ByteArrayOutputStream b = new ByteArrayOutputStream(piece.length());
        for (int i = 0; i < piece.length(); i++) {
            Integer v = CHAR_BYTE.get(piece.charAt(i));
            if (v != null) b.write(v);
            else b.writeBytes(String.valueOf(piece.charAt(i)).getBytes(StandardCharsets.UTF_8));
        }
        return b.toByteArray();
    }
}
