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
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * GPT-2 style byte-level BPE ({@code tokenizer.ggml.model = "gpt2"}: Llama 3, Qwen, OLMo, Phi 4...),
 * as llama.cpp does it: special tokens split out first; each text fragment cut into words by the
 * pre-tokenizer regex that {@code tokenizer.ggml.pre} names; each word's UTF-8 bytes written with
 * GPT-2's byte-to-character map and merged pairwise by merge rank (lowest first, leftmost on ties),
 * a word that is itself a token taken whole where the pre-tokenizer asks for it (Llama 3).
 * Not reproduced: llama.cpp's multi-regex pre-tokenizers (such as "default"), which are refused.
 */
public final class ByteBpeTokenizer implements Tokenizer {
    /** llama.cpp's pre-tokenizers (regexes as llama.cpp adapts them), by {@code tokenizer.ggml.pre}. */
    enum Pre {
        LLAMA3("(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}"
                + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"),
        QWEN2("(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}"
                + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"),
        GPT2("'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)"),
        GPT4O("[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+"
                + "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?"
                + "|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*"
                + "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?"
                + "|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+");

        final Pattern pattern;

        Pre(String regex) { pattern = Pattern.compile(regex, Pattern.UNICODE_CHARACTER_CLASS); }
    }

    /** A {@code tokenizer.ggml.pre} name: its regex, whether whole-word tokens skip the merges, BOS by default. */
    record PreName(Pre pre, boolean ignoreMerges, boolean addBos) {}

    private static final Map<String, PreName> PRE_NAMES = Map.ofEntries(
            Map.entry("llama3", new PreName(Pre.LLAMA3, true, true)),
            Map.entry("llama-v3", new PreName(Pre.LLAMA3, true, true)),
            Map.entry("llama-bpe", new PreName(Pre.LLAMA3, true, true)),
            Map.entry("dbrx", new PreName(Pre.LLAMA3, false, false)),
            Map.entry("smaug-bpe", new PreName(Pre.LLAMA3, false, false)),
            Map.entry("qwen2", new PreName(Pre.QWEN2, false, false)),
            Map.entry("deepseek-r1-qwen", new PreName(Pre.QWEN2, false, false)),
            Map.entry("gpt-2", new PreName(Pre.GPT2, false, false)),
            Map.entry("phi-2", new PreName(Pre.GPT2, false, false)),
            Map.entry("olmo", new PreName(Pre.GPT2, false, false)),
            Map.entry("gpt-4o", new PreName(Pre.GPT4O, false, false)),
            Map.entry("llama4", new PreName(Pre.GPT4O, false, false)));

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
    private final Pattern pre;
    private final boolean ignoreMerges;
    private final SpecialSplitter splitter;
    private final int[] byteToken = new int[256]; // byte value -> the token of its GPT-2 character

    /** @param src the model file, for errors */
    ByteBpeTokenizer(Vocabulary vocab, String[] merges, Pre pre, boolean ignoreMerges, String src) {
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
        this.pre = pre.pattern;
        this.ignoreMerges = ignoreMerges;
        this.splitter = new SpecialSplitter(vocab);
    }

    /** llama.cpp's defaults for BPE vocabularies: BOS and EOS 11 where not given; BOS added per pre-tokenizer. */
    static ByteBpeTokenizer fromGguf(GgufFile gguf) {
        String preName = gguf.has("tokenizer.ggml.pre") ? gguf.string("tokenizer.ggml.pre") : "(none)";
        PreName p = PRE_NAMES.get(preName);
        if (p == null)
            throw new ModelFormatException(gguf.path() + ": unsupported BPE pre-tokenizer '" + preName
                    + "' (supported: " + String.join(", ", new java.util.TreeSet<>(PRE_NAMES.keySet())) + ")");
        if (!gguf.has("tokenizer.ggml.merges"))
            throw new ModelFormatException(gguf.path() + ": BPE tokenizer without merges (tokenizer.ggml.merges)");
        Vocabulary v = Vocabulary.fromGguf(gguf, 11, 11, -1, p.addBos(), false);
        if (!(gguf.metadata().get("tokenizer.ggml.merges") instanceof String[] merges))
            throw new ModelFormatException(gguf.path() + ": tokenizer.ggml.merges is not an array of strings");
        if (merges.length > Vocabulary.MAX_TOKENS)
            throw new ModelFormatException(gguf.path() + ": tokenizer.ggml.merges has " + merges.length + " entries, more than " + Vocabulary.MAX_TOKENS);
        return new ByteBpeTokenizer(v, merges, p.pre(), p.ignoreMerges(), gguf.path().toString());
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
            // text between regex matches is a word of its own, as in llama.cpp's split
            Matcher m = pre.matcher(text).region(f.start(), f.end());
            int at = f.start();
            while (m.find()) {
                if (m.start() > at) word(text.substring(at, m.start()), out);
                word(m.group(), out);
                at = m.end();
            }
            if (at < f.end()) word(text.substring(at, f.end()), out);
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
