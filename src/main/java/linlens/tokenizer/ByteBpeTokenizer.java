package linlens.tokenizer;

import linlens.format.GgufFile;
import linlens.format.ModelFormatException;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
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

    ByteBpeTokenizer(Vocabulary vocab, String[] merges, Pre pre, boolean ignoreMerges) {
        this.vocab = vocab;
        for (int i = 0; i < merges.length; i++) mergeRank.put(merges[i], i);
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
        return new ByteBpeTokenizer(v, gguf.array("tokenizer.ggml.merges", String[].class), p.pre(), p.ignoreMerges());
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

    /** One pre-tokenized word: byte-mapped, then merged by rank. */
    private void word(String w, List<Integer> out) {
        byte[] bytes = w.getBytes(StandardCharsets.UTF_8);
        StringBuilder mapped = new StringBuilder(bytes.length);
        for (byte b : bytes) mapped.append(BYTE_CHAR[b & 0xff]);
        if (ignoreMerges) {
            int id = vocab.table.get(mapped.toString());
            if (id >= 0) { out.add(id); return; }
        }
        List<String> sym = new ArrayList<>();
        for (int i = 0; i < mapped.length(); i++) sym.add(String.valueOf(mapped.charAt(i)));
        while (sym.size() > 1) {
            int best = -1, bestRank = Integer.MAX_VALUE;
            for (int i = 0; i + 1 < sym.size(); i++) {
                Integer r = mergeRank.get(sym.get(i) + " " + sym.get(i + 1));
                if (r != null && r < bestRank) { bestRank = r; best = i; }
            }
            if (best < 0) break;
            sym.set(best, sym.get(best) + sym.remove(best + 1));
        }
        for (String s : sym) {
            int id = vocab.table.get(s);
            if (id >= 0) { out.add(id); continue; }
            for (int i = 0; i < s.length(); i++) {  // not in the vocabulary: its bytes one by one
                int b = vocab.table.get(String.valueOf(s.charAt(i)));
                if (b < 0) throw new IllegalStateException("vocabulary has no token for byte " + CHAR_BYTE.get(s.charAt(i)));
                out.add(b);
            }
        }
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
