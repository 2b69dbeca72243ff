package linlens.tokenizer;

import linlens.format.GgufFile;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * SentencePiece-style BPE with scores ({@code tokenizer.ggml.model = "llama"}), giving the same
 * ids as llama.cpp's SPM tokenizer:
 * <ol>
 * <li>special tokens written in the text are split out first ({@link SpecialSplitter});</li>
 * <li>each text fragment gets a leading space if {@code add_space_prefix} is set and it follows a
 *     special token or starts the text; spaces become ▁ (U+2581);</li>
 * <li>the fragment is cut into characters, and the adjacent pair whose concatenation is a
 *     vocabulary piece with the highest score (ties: leftmost) is merged, again and again, using a
 *     priority queue of candidate pairs;</li>
 * <li>each final symbol is its vocabulary token, or else its UTF-8 bytes as {@code <0xNN>} byte
 *     tokens.</li>
 * </ol>
 */
public final class SpmTokenizer implements Tokenizer {
    private static final char SPACE_MARK = '\u2581';

    private final Vocabulary vocab;
    private final boolean addSpacePrefix;
    private final SpecialSplitter splitter;
    private final int[] byteTokens = new int[256]; // byte value -> token id, -1 if none

    SpmTokenizer(Vocabulary vocab, boolean addSpacePrefix) {
        this.vocab = vocab;
        this.addSpacePrefix = addSpacePrefix;
        this.splitter = new SpecialSplitter(vocab);
        for (int b = 0; b < 256; b++) {
            int id = vocab.table.get(String.format("<0x%02X>", b));
            if (id < 0 && b < 0x80) id = vocab.table.get(String.valueOf((char) b)); // as llama.cpp's fallback
            byteTokens[b] = id;
        }
    }

    /** llama.cpp's defaults for "llama" models: BOS 1, EOS 2, UNK 0, add BOS, space prefix. */
    static SpmTokenizer fromGguf(GgufFile gguf) {
        Vocabulary v = Vocabulary.fromGguf(gguf, 1, 2, 0, true, false);
        return new SpmTokenizer(v, gguf.bool("tokenizer.ggml.add_space_prefix", true));
    }

    @Override public int vocabSize() { return vocab.size(); }
    @Override public int bos() { return vocab.bos; }
    @Override public int eos() { return vocab.eos; }
    @Override public Vocabulary vocabulary() { return vocab; }

    public boolean addSpacePrefix() { return addSpacePrefix; }

    @Override
    public int[] encode(String text, boolean addSpecial, boolean parseSpecial) {
        IntList out = new IntList(Math.max(16, text.length() / 3));
        if (addSpecial && vocab.addBos) out.add(vocab.bos);
        boolean prevSpecial = true; // a space prefix goes before the first fragment too
        char[] work = new char[0];
        for (SpecialSplitter.Fragment f : splitter.split(text, parseSpecial)) {
            if (!f.isText()) {
                out.add(f.token());
                prevSpecial = true;
                continue;
            }
            int prefix = addSpacePrefix && prevSpecial ? 1 : 0;
            int len = prefix + f.end() - f.start();
            if (work.length < len) work = new char[Math.max(len, work.length * 2)];
            if (prefix == 1) work[0] = SPACE_MARK;
            text.getChars(f.start(), f.end(), work, prefix);
            for (int i = prefix; i < len; i++) if (work[i] == ' ') work[i] = SPACE_MARK;
            tokenize(work, len, out);
            prevSpecial = false;
        }
        if (addSpecial && vocab.addEos) out.add(vocab.eos);
        return out.toArray();
    }

    /** The BPE merge loop over {@code s[0 .. len)}, appending token ids to {@code out}. */
    private void tokenize(char[] s, int len, IntList out) {
        // symbols = characters (code points); merged-away symbols get length 0
        int[] start = new int[len], size = new int[len], prev = new int[len], next = new int[len];
        int count = 0;
        for (int i = 0; i < len; ) {
            int cl = Character.isHighSurrogate(s[i]) && i + 1 < len && Character.isLowSurrogate(s[i + 1]) ? 2 : 1;
            start[count] = i;
            size[count] = cl;
            prev[count] = count - 1;
            next[count] = count + 1;
            count++;
            i += cl;
        }
        if (count == 0) return;
        next[count - 1] = -1;

        PairQueue queue = new PairQueue(count);
        for (int i = 1; i < count; i++) tryPair(s, start, size, i - 1, i, queue);
        while (!queue.isEmpty()) {
            int left = queue.topLeft(), right = queue.topRight(), pairSize = queue.topSize();
            queue.pop();
            // stale: one side merged away or grown since the pair was queued
            if (size[left] == 0 || size[right] == 0 || size[left] + size[right] != pairSize) continue;
            size[left] += size[right];
            size[right] = 0;
            next[left] = next[right];
            if (next[right] >= 0) prev[next[right]] = left;
            if (prev[left] >= 0) tryPair(s, start, size, prev[left], left, queue);
            if (next[left] >= 0) tryPair(s, start, size, left, next[left], queue);
        }

        for (int i = 0; i != -1; i = next[i]) {
            int id = vocab.table.get(s, start[i], size[i]);
            if (id >= 0) out.add(id);
            else byteFallback(s, start[i], size[i], out);
        }
    }

    private void tryPair(char[] s, int[] start, int[] size, int left, int right, PairQueue queue) {
        int n = size[left] + size[right];
        int id = vocab.table.get(s, start[left], n);
        if (id >= 0) queue.push(vocab.scores[id], left, right, n);
    }

    private void byteFallback(char[] s, int from, int n, IntList out) {
        byte[] bytes = new String(s, from, n).getBytes(StandardCharsets.UTF_8);
        for (byte b : bytes) {
            int id = byteTokens[b & 0xff];
            if (id < 0) id = vocab.unk;
            if (id < 0) throw new IllegalStateException(String.format("vocabulary has no byte token <0x%02X> and no unknown token", b & 0xff));
            out.add(id);
        }
    }

    @Override
    public String decode(int id) {
        checkId(id);
        int b = vocab.byteValue(id);
        if (b >= 0) return b < 0x80 ? String.valueOf((char) b) : vocab.pieces[id];
        return displayPiece(id);
    }

    @Override
    public String decode(int[] ids) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        boolean first = true;
        for (int i = 0; i < ids.length; i++) {
            int id = ids[i];
            checkId(id);
            int b = vocab.byteValue(id);
            if (b >= 0) {
                bytes.write(b);
            } else {
                String piece = displayPiece(id);
                // the space that add_space_prefix put before the text is not part of it
                if (first && addSpacePrefix && (vocab.attrs[id] & Vocabulary.ATTR_NORMAL) != 0 && piece.startsWith(" "))
                    piece = piece.substring(1);
                bytes.writeBytes(piece.getBytes(StandardCharsets.UTF_8));
            }
            if (!(i == 0 && id == vocab.bos)) first = false;
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }

    /** Normal pieces with ▁ as space; every other kind shown as stored. */
    private String displayPiece(int id) {
        String p = vocab.pieces[id];
        return (vocab.attrs[id] & Vocabulary.ATTR_NORMAL) != 0 ? p.replace(SPACE_MARK, ' ') : p;
    }

    private void checkId(int id) {
        if (id < 0 || id >= vocab.size())
            throw new IllegalArgumentException("token id " + id + " outside the vocabulary of " + vocab.size());
    }

    /**
     * A binary max-heap of candidate pairs on primitive arrays: highest score first, then the
     * leftmost (lowest left symbol index), as llama.cpp's llm_bigram_spm comparator orders them.
     */
    private static final class PairQueue {
        private float[] score;
        private int[] left, right, size;
        private int n;

        PairQueue(int capacity) {
            capacity = Math.max(4, capacity);
            score = new float[capacity];
            left = new int[capacity];
            right = new int[capacity];
            size = new int[capacity];
        }

        boolean isEmpty() { return n == 0; }
        int topLeft() { return left[0]; }
        int topRight() { return right[0]; }
        int topSize() { return size[0]; }

        private boolean before(int a, int b) {
            return score[a] > score[b] || (score[a] == score[b] && left[a] < left[b]);
        }

        void push(float sc, int l, int r, int sz) {
            if (n == score.length) {
                int cap = n * 2;
                score = Arrays.copyOf(score, cap);
                left = Arrays.copyOf(left, cap);
                right = Arrays.copyOf(right, cap);
                size = Arrays.copyOf(size, cap);
            }
            int i = n++;
            set(i, sc, l, r, sz);
            while (i > 0) {
                int p = (i - 1) >>> 1;
                if (!before(i, p)) break;
                swap(i, p);
                i = p;
            }
        }

        void pop() {
            n--;
            if (n == 0) return;
            set(0, score[n], left[n], right[n], size[n]);
            int i = 0;
            while (true) {
                int l = 2 * i + 1, r = l + 1, best = i;
                if (l < n && before(l, best)) best = l;
                if (r < n && before(r, best)) best = r;
                if (best == i) break;
                swap(i, best);
                i = best;
            }
        }

        private void set(int i, float sc, int l, int r, int sz) {
            score[i] = sc;
            left[i] = l;
            right[i] = r;
            size[i] = sz;
        }

        private void swap(int a, int b) {
            float s = score[a]; score[a] = score[b]; score[b] = s;
            int t = left[a]; left[a] = left[b]; left[b] = t;
            t = right[a]; right[a] = right[b]; right[b] = t;
            t = size[a]; size[a] = size[b]; size[b] = t;
        }
    }

    /** A growable int array. */
    private static final class IntList {
        private int[] a;
        private int n;

        IntList(int capacity) { a = new int[capacity]; }

        void add(int v) {
            if (n == a.length) a = Arrays.copyOf(a, n * 2);
            a[n++] = v;
        }

        int[] toArray() { return Arrays.copyOf(a, n); }
    }
}
