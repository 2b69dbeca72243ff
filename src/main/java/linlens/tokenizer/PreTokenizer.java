package linlens.tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * llama.cpp's pre-tokenizers for byte-level BPE, by {@code tokenizer.ggml.pre}. Each is a list of
 * regexes applied in sequence, every regex splitting each word the previous one produced: its
 * matches become words, and so does the text between them. Each regex runs the way llama.cpp runs
 * it, because the ways differ in what they call a letter or a space:
 * <ul>
 * <li>the GPT-2, Llama 3, Qwen 2 and Qwen 3.5 regexes (and the newline split), which llama.cpp runs
 *     with hand-written code over Unicode categories: the regex itself with Unicode classes;</li>
 * <li>a regex naming Unicode categories ({@code \p{L}}, {@code \p{N}}, {@code \p{P}}, {@code \p{M}},
 *     {@code \p{S}}, {@code \p{Lu}}...): llama.cpp's std::regex runs it over the text with every
 *     non-ASCII code point replaced by one stand-in per category (so beyond ASCII {@code \p{Lu}} and
 *     {@code \p{Ll}} both mean any letter) and non-ASCII white space by \v, {@code \s} and
 *     {@code \d} being ASCII-only; done here the same way ({@link #collapse});</li>
 * <li>any other regex: over code points, non-ASCII white space replaced by \v;</li>
 * <li>Kimi K2's {@code \p{Han}+} and the digit-grouping regexes of AFMoE and Tiny Aya, which
 *     llama.cpp replaces by its own splitting code: that code's results, reproduced.</li>
 * </ul>
 */
final class PreTokenizer {

    /** One regex of a list, as llama.cpp runs it. */
    private sealed interface Split {
        /** Splits the segment [start, end) of the text; appends the word boundaries (ends) to out. */
        void split(Text t, int start, int end, IntList out);
    }

    /** The regexes llama.cpp replaces by hand-written code with the same results over Unicode categories. */
    private static final String GPT2_RX = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";
    private static final String CONTRACTIONS = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])";
    private static final String LLAMA3_RX = CONTRACTIONS + "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}"
            + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    private static final String QWEN2_RX = CONTRACTIONS + "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}"
            + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    private static final String QWEN35_RX = CONTRACTIONS + "|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}"
            + "| ?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    private static final String NEWLINE_RUNS = "[^\\n]+|[\\n]+";
    private static final List<String> UNICODE_FAST_PATHS = List.of(GPT2_RX, LLAMA3_RX, QWEN2_RX, QWEN35_RX, NEWLINE_RUNS);
    /** Kimi K2's regex list is this one name; llama.cpp's code stands for the whole tiktoken pattern. */
    private static final String HAN_RUNS = "\\p{Han}+";
    private static final String AFMOE_DIGITS = "\\p{AFMoE_digits}";
    private static final String TINY_AYA_DIGITS = "\\d{1,3}(?=(?:\\d{3})*\\b)";

    private static final String GPT4O_WORDS = "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+"
            + CONTRACTIONS + "?|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*" + CONTRACTIONS + "?";
    private static final String CASED_WORDS = "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+"
            + CONTRACTIONS + "?|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*" + CONTRACTIONS + "?";
    private static final String SPACES = "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    private static final String ASCII_PUNCT_WORDS = "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+"
            + "|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+";
    private static final String CJK_KANA = "[\\x{4E00}-\\x{9FA5}\\x{3040}-\\x{309F}\\x{30A0}-\\x{30FF}]+";
    private static final String SENTENCE_PIECES = " ?[^(\\s|.,!?\\x{2026}\\x{3002}\\x{FF0C}\\x{3001}\\x{964}\\x{6D4}\\x{60C})]+";

    /** llama.cpp's pre-tokenizer types (LLAMA_VOCAB_PRE_TYPE_*) that differ in their regexes. */
    enum Type {
        DEFAULT("[\\p{P}\\$\\+<=>\\^~\\|]+", GPT2_RX, "\\p{N}+", "[0-9][0-9][0-9]"),
        LLAMA3(LLAMA3_RX),
        JAIS2(CONTRACTIONS + "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+"
                + "|\\s{512}(?!\\S)|\\s{256}(?!\\S)|\\s{128}(?!\\S)|\\s{64}(?!\\S)|\\s{32}(?!\\S)|\\s{16}(?!\\S)"
                + "|\\s{8}(?!\\S)|\\s{4}(?!\\S)|\\s{1,2}(?!\\S)|\\s{1}"),
        DEEPSEEK_LLM("[\r\n]",
                "\\s?[A-Za-z\\x{B5}\\x{C0}-\\x{D6}\\x{D8}-\\x{F6}\\x{F8}-\\x{1BA}\\x{1BC}-\\x{1BF}\\x{1C4}-\\x{293}\\x{295}-\\x{2AF}\\x{370}-\\x{373}\\x{376}\\x{377}\\x{37B}-\\x{37D}\\x{37F}\\x{386}\\x{388}-\\x{38A}\\x{38C}\\x{38E}-\\x{3A1}\\x{3A3}-\\x{3F5}\\x{3F7}-\\x{481}\\x{48A}-\\x{52F}\\x{531}-\\x{556}\\x{10A0}-\\x{10C5}\\x{13A0}-\\x{13F5}\\x{13F8}-\\x{13FD}\\x{1C90}-\\x{1CBA}\\x{1CBD}-\\x{1CBF}\\x{1D00}-\\x{1D2B}\\x{1D6B}-\\x{1D77}\\x{1D79}-\\x{1D9A}\\x{1E00}-\\x{1F15}\\x{1F18}-\\x{1F1D}\\x{1F20}-\\x{1F45}\\x{1F48}-\\x{1F4D}\\x{1F50}-\\x{1F57}\\x{1F59}\\x{1F5B}\\x{1F5D}\\x{1F5F}-\\x{1F7D}\\x{1F80}-\\x{1FB4}\\x{1FB6}-\\x{1FBC}\\x{1FBE}\\x{1FC2}-\\x{1FC4}\\x{1FC6}-\\x{1FCC}\\x{1FD0}-\\x{1FD3}\\x{1FD6}-\\x{1FDB}\\x{1FE0}-\\x{1FEC}\\x{1FF2}-\\x{1FF4}\\x{1FF6}-\\x{1FFC}\\x{2102}\\x{2107}\\x{210A}-\\x{2113}\\x{2115}\\x{2119}-\\x{211D}\\x{2124}\\x{2126}\\x{2128}\\x{212A}-\\x{212D}\\x{212F}-\\x{2134}\\x{2139}\\x{213C}-\\x{213F}\\x{2145}-\\x{2149}\\x{214E}\\x{2183}\\x{2184}\\x{2C00}-\\x{2C7B}\\x{2C7E}-\\x{2CE4}\\x{2CEB}-\\x{2CEE}\\x{2CF2}\\x{2CF3}\\x{A640}-\\x{A66D}\\x{A680}-\\x{A69B}\\x{A722}-\\x{A76F}\\x{A771}-\\x{A787}\\x{A78B}-\\x{A78E}\\x{AB70}-\\x{ABBF}\\x{FB00}-\\x{FB06}\\x{FB13}-\\x{FB17}\\x{FF21}-\\x{FF3A}\\x{FF41}-\\x{FF5A}\\x{10400}-\\x{1044F}\\x{104B0}-\\x{104D3}\\x{104D8}-\\x{104FB}\\x{10C80}-\\x{10CB2}\\x{10CC0}-\\x{10CF2}\\x{118A0}-\\x{118DF}\\x{1E900}-\\x{1E943}]+",
                "\\s?[!-/:-~\\x{FF01}-\\x{FF0F}\\x{FF1A}-\\x{FF5E}\\x{2018}-\\x{201F}\\x{3000}-\\x{3002}]+", "\\s+$", "[\\x{4E00}-\\x{9FA5}\\x{800}-\\x{4E00}\\x{AC00}-\\x{D7FF}]+", "\\p{N}+"),
        DEEPSEEK3_LLM("\\p{N}{1,3}", CJK_KANA, ASCII_PUNCT_WORDS + "[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+"),
        SPARK2_5("\\p{N}{1,3}", CJK_KANA, ASCII_PUNCT_WORDS + "|[\r\n]|\\s+(?!\\S)|\\s+", "\\p{N}"),
        YOUTU("[\\x{AC00}-\\x{D7A3}\\x{3131}-\\x{318E}]+|[\\x{FF01}\\x{2026}\\x{201C}\\x{201D}\\x{2018}\\x{2019}\\x{2014}\\x{FF1A}\\x{FF1B}\\x{FF0C}\\x{3001}-\\x{303F}\\x{FE30}-\\x{FE4F}]+|[\\x{3105}-\\x{312F}]+|[\\x{4E00}-\\x{9FA5}\\x{3040}-\\x{309F}\\x{30A0}-\\x{30FF}]+",
                CASED_WORDS + "|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*" + SPACES),
        DEEPSEEK_CODER("[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", "[\\x{4E00}-\\x{9FA5}\\x{800}-\\x{4E00}\\x{AC00}-\\x{D7FF}]+", "\\p{N}"),
        FALCON("[\\p{P}\\$\\+<=>\\^~\\|`]+", GPT2_RX, "[0-9][0-9][0-9]"),
        STARCODER("\\p{N}", GPT2_RX),
        GPT2(GPT2_RX),
        QWEN2(QWEN2_RX),
        QWEN35(QWEN35_RX),
        PORO(SENTENCE_PIECES),
        VIKING(SENTENCE_PIECES, "\\p{N}"),
        TEKKEN("[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+"
                + "|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*"
                + "|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*" + SPACES),
        CHAMELEON("<sentinel:[0-9]+>", "(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z", "([\\t\\n]|    |  )", "\\p{N}",
                "[\\p{P}!-/:-@\\[-`{-~]", GPT2_RX),
        GPT4O(GPT4O_WORDS + "|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*" + SPACES),
        GRANITE_EMB_MULTI(GPT4O_WORDS.replace("(?=[\\p{L}])", "(?=[\\p{L}\\p{M}])")
                + "|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*" + SPACES),
        TINY_AYA(TINY_AYA_DIGITS, CASED_WORDS + "|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*" + SPACES),
        KIMI_K2(HAN_RUNS),
        SUPERBPE("\\p{N}+", "(?=(\\d{3})+(?!\\d))"),
        BAILINGMOE("'(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}"
                + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+"),
        SEED_CODER(CONTRACTIONS + "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1}| ?[^\\s\\p{L}\\p{N}\\r\\n]+" + SPACES),
        UFAKZEKA("[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*" + SPACES),
        AFMOE(AFMOE_DIGITS, "[\\x{4E00}-\\x{9FFF}\\x{3400}-\\x{4DBF}\\x{8C48}-\\x{FAFF}\\x{3040}-\\x{309F}\\x{30A0}-\\x{30FF}\\x{FF65}-\\x{FF9F}\\x{2F00}-\\x{2FDF}\\x{E40}-\\x{E7F}\\x{E80}-\\x{EFF}\\x{1780}-\\x{17FF}\\x{1000}-\\x{109F}\\x{AA60}-\\x{AA7F}\\x{A9E0}-\\x{A9FF}\\x{AC00}-\\x{D7AF}\\x{1100}-\\x{11FF}]+",
                ASCII_PUNCT_WORDS + "[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"),
        LAGUNA(NEWLINE_RUNS, QWEN2_RX),
        EXAONE_MOE(CONTRACTIONS + "|[^\\r\\n\\p{L}\\p{N}]?(?:\\p{L}\\p{M}*(?: \\p{L}\\p{M}*)*)+|\\p{N}"
                + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]?|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+"),
        MINICPM5("\\p{N}{1,3}", CONTRACTIONS + "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}+| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*" + SPACES),
        /** Not byte-level: spaces become U+2581 and BPE runs over raw UTF-8 (SentencePiece style). */
        GEMMA4(false, NEWLINE_RUNS),
        SARVAM_MOE(false, NEWLINE_RUNS),
        /** Not byte-level: words are the runs of non-space over raw UTF-8. */
        WHITESPACE(false, "\\S+");

        final List<String> regexes;
        /** Whether words are BPE'd over GPT-2's byte-to-character map, as linlens does; false: raw UTF-8. */
        final boolean byteLevel;
        private final List<Split> splits;

        Type(String... regexes) { this(true, regexes); }

        Type(boolean byteLevel, String... regexes) {
            this.regexes = List.of(regexes);
            this.byteLevel = byteLevel;
            List<Split> s = new ArrayList<>();
            for (String r : regexes) s.add(split(r));
            this.splits = List.copyOf(s);
        }
    }

    /**
     * A {@code tokenizer.ggml.pre} name: its type; whether a word that is itself a token skips the
     * merges; BOS added by default; and whether llama.cpp's default BOS id (11 for BPE) is dropped.
     */
    record Name(Type type, boolean ignoreMerges, boolean addBos, boolean noDefaultBos) {}

    /** Every name llama.cpp (as vendored by llama-cpp-python 0.3.36) accepts for a "gpt2" vocabulary. */
    static Map<String, Name> names() { return NameTable.NAMES; }

    /** Its own class: the types' regexes compile when first used, not while this class initializes. */
    private static final class NameTable {
        static final Map<String, Name> NAMES;
        static {
            Map<String, Name> m = new TreeMap<>();
            java.util.function.BiConsumer<Type, String> plain = (t, names) -> {
                for (String n : names.split(" ")) m.put(n, new Name(t, false, false, false));
            };
            plain.accept(Type.DEFAULT, "default");
            for (String n : "llama3 llama-v3 llama-bpe falcon3 falcon-h1 pixtral midm-2.0 lfm2 jina-v5-nano".split(" "))
                m.put(n, new Name(Type.LLAMA3, true, true, false));
            m.put("minicpm5", new Name(Type.MINICPM5, true, false, false));
            plain.accept(Type.DEEPSEEK_LLM, "deepseek-llm");
            plain.accept(Type.DEEPSEEK_CODER, "deepseek-coder");
            plain.accept(Type.DEEPSEEK3_LLM, "deepseek-v3 hunyuan-dense hy_v4 joyai-llm");
            plain.accept(Type.SPARK2_5, "spark2_5");
            m.put("youtu", new Name(Type.YOUTU, true, false, false));
            plain.accept(Type.FALCON, "falcon");
            plain.accept(Type.STARCODER, "starcoder refact command-r smollm codeshell exaone minerva-7b mellum2");
            plain.accept(Type.GPT2, "gpt-2 phi-2 jina-es jina-de gigachat jina-v2-es jina-v2-de a.x-4.0 mellum modern-bert"
                    + " jina-v1-en jina-v2-code roberta-bpe exaone4 mpt olmo jais trillion granite-docling");
            plain.accept(Type.JAIS2, "jais-2");
            plain.accept(Type.GEMMA4, "gemma4 granite-embed-multi-311m");
            plain.accept(Type.SARVAM_MOE, "sarvam-moe");
            plain.accept(Type.WHITESPACE, "whitespace");
            plain.accept(Type.QWEN2, "qwen2 deepseek-r1-qwen kormo f2llmv2 megrez stablelm2 hunyuan solar-open grok-2");
            plain.accept(Type.QWEN35, "qwen35");
            plain.accept(Type.LLAMA3, "dbrx smaug-bpe");
            plain.accept(Type.PORO, "poro-chat bloom gpt3-finnish");
            m.put("chatglm-bpe", new Name(Type.LLAMA3, false, false, true));
            m.put("glm4", new Name(Type.LLAMA3, true, false, true));
            m.put("glm5", new Name(Type.LLAMA3, true, false, true));
            plain.accept(Type.VIKING, "viking");
            m.put("tekken", new Name(Type.TEKKEN, true, true, false));
            m.put("chameleon", new Name(Type.CHAMELEON, false, true, false));
            plain.accept(Type.EXAONE_MOE, "exaone-moe");
            plain.accept(Type.GPT4O, "gpt-4o llama4 kanana2 talkie minimax-m2");
            m.put("granite-embed-multi-97m", new Name(Type.GRANITE_EMB_MULTI, true, false, false));
            plain.accept(Type.TINY_AYA, "tiny_aya cohere2moe");
            plain.accept(Type.SUPERBPE, "superbpe");
            plain.accept(Type.BAILINGMOE, "bailingmoe bailingmoe2 llada-moe");
            plain.accept(Type.SEED_CODER, "seed-coder");
            plain.accept(Type.KIMI_K2, "kimi-k2");
            plain.accept(Type.UFAKZEKA, "ufakzeka");
            plain.accept(Type.AFMOE, "afmoe");
            plain.accept(Type.LAGUNA, "laguna");
            NAMES = java.util.Collections.unmodifiableMap(m);
        }
    }

    private PreTokenizer() {}

    /**
     * The words of text[start, end) (a fragment between special tokens), as ascending char offsets:
     * word i is text[b[i], b[i+1]) with b[0] = start; empty words are dropped (they give no tokens).
     */
    static int[] words(Type type, String text, int start, int end) {
        Text t = new Text(text, start, end);
        IntList bounds = new IntList();
        bounds.add(start);
        bounds.add(end);
        for (Split s : type.splits) {
            IntList next = new IntList();
            next.add(start);
            for (int i = 0; i + 1 < bounds.size; i++)
                if (bounds.a[i + 1] > bounds.a[i]) s.split(t, bounds.a[i], bounds.a[i + 1], next);
            bounds = next;
        }
        return bounds.toArray();
    }

    /** How llama.cpp runs one regex of a list (see the class comment). */
    private static Split split(String regex) {
        if (UNICODE_FAST_PATHS.contains(regex))
            return new RegexSplit(Pattern.compile(regex, Pattern.UNICODE_CHARACTER_CLASS), View.ORIGINAL);
        if (regex.equals(HAN_RUNS)) return new KimiK2Split();
        if (regex.equals(AFMOE_DIGITS) || regex.equals(TINY_AYA_DIGITS)) return new DigitGroupSplit();
        if (usesCategories(regex)) return new RegexSplit(Pattern.compile(categoriesCollapsed(regex)), View.COLLAPSED);
        return new RegexSplit(Pattern.compile(javaAnchors(regex)), View.SPACES_AS_VT);
    }

    // ---- the category-collapsed view (llama.cpp's std::regex path) ----

    /** The categories llama.cpp collapses: name, stand-in character, the ASCII members (Java class syntax). */
    private static final String[][] CATEGORIES = {
            {"N", "\\x{D1}", "0-9"},
            {"L", "\\x{D2}", "A-Za-z"},
            {"P", "\\x{D3}", "!-#%-*,-/:-;?-@\\[-\\]_\\{\\}"},
            {"M", "\\x{D4}", ""},
            {"S", "\\x{D5}", "\\$\\+<->\\^`\\|~"},
    };
    private static final Map<String, Integer> CATEGORY_OF = Map.of(
            "N", 0, "L", 1, "P", 2, "M", 3, "S", 4, "Lu", 1, "Ll", 1, "Lt", 1, "Lm", 1, "Lo", 1);
    private static final char OTHER = 0xD0, NUMBER = 0xD1, LETTER = 0xD2, PUNCT = 0xD3, MARK = 0xD4, SYMBOL = 0xD5;

    private static boolean usesCategories(String regex) {
        for (String c : CATEGORY_OF.keySet()) if (regex.contains("\\p{" + c + "}")) return true;
        return false;
    }

    /**
     * The regex over the collapsed text: each category class becomes its stand-in plus its ASCII
     * members, bracketed unless already inside a class (tracked by unescaped brackets, as llama.cpp does).
     */
    static String categoriesCollapsed(String regex) {
        StringBuilder out = new StringBuilder();
        boolean inside = false;
        for (int i = 0; i < regex.length(); i++) {
            char c = regex.charAt(i);
            if (c > 127) throw new IllegalStateException("category regex with non-ASCII text: " + regex);
            boolean escaped = i > 0 && regex.charAt(i - 1) == '\\';
            if (c == '[' && !escaped) { inside = true; out.append(c); continue; }
            if (c == ']' && inside && !escaped) { inside = false; out.append(c); continue; }
            if (c == '\\' && regex.startsWith("p{", i + 1)) {
                int close = regex.indexOf('}', i + 3);
                Integer cat = close < 0 ? null : CATEGORY_OF.get(regex.substring(i + 3, close));
                if (cat == null) throw new IllegalStateException("unknown category in " + regex);
                String[] k = CATEGORIES[cat];
                out.append(inside ? "" : "[").append(k[1]).append(k[2]).append(inside ? "" : "]");
                i = close;
                continue;
            }
            if (c == '\\' && i + 1 < regex.length()) { out.append(c).append(regex.charAt(++i)); continue; }
            out.append(c == '$' && !inside ? "\\z" : String.valueOf(c));
        }
        return out.toString();
    }

    /** ECMAScript's $ (end of the text only) in Java syntax; escapes and classes kept. */
    private static String javaAnchors(String regex) {
        StringBuilder out = new StringBuilder();
        boolean inside = false;
        for (int i = 0; i < regex.length(); i++) {
            char c = regex.charAt(i);
            if (c == '\\' && i + 1 < regex.length()) { out.append(c).append(regex.charAt(++i)); continue; }
            if (c == '[') inside = true;
            else if (c == ']') inside = false;
            out.append(c == '$' && !inside ? "\\z" : String.valueOf(c));
        }
        return out.toString();
    }

    /** llama.cpp's category of a code point ({@code unicode_cpt_flags}), from Java's Unicode data. */
    static boolean isLetter(int cp) {
        return switch (Character.getType(cp)) {
            case Character.UPPERCASE_LETTER, Character.LOWERCASE_LETTER, Character.TITLECASE_LETTER,
                 Character.MODIFIER_LETTER, Character.OTHER_LETTER -> true;
            default -> false;
        };
    }

    static boolean isNumber(int cp) {
        return switch (Character.getType(cp)) {
            case Character.DECIMAL_DIGIT_NUMBER, Character.LETTER_NUMBER, Character.OTHER_NUMBER -> true;
            default -> false;
        };
    }

    private static final Pattern WHITE_SPACE = Pattern.compile("\\p{IsWhite_Space}");

    /** Unicode's White_Space property, which is llama.cpp's whitespace set. */
    static boolean isSpace(int cp) {
        return cp < 128 ? (cp == ' ' || (cp >= 9 && cp <= 13)) : WHITE_SPACE.matcher(Character.toString(cp)).matches();
    }

    private static char standIn(int cp) {
        if (cp < 128) return (char) cp;
        if (isSpace(cp)) return 0x0B;
        return switch (Character.getType(cp)) {
            case Character.DECIMAL_DIGIT_NUMBER, Character.LETTER_NUMBER, Character.OTHER_NUMBER -> NUMBER;
            case Character.UPPERCASE_LETTER, Character.LOWERCASE_LETTER, Character.TITLECASE_LETTER,
                 Character.MODIFIER_LETTER, Character.OTHER_LETTER -> LETTER;
            case Character.CONNECTOR_PUNCTUATION, Character.DASH_PUNCTUATION, Character.START_PUNCTUATION,
                 Character.END_PUNCTUATION, Character.INITIAL_QUOTE_PUNCTUATION, Character.FINAL_QUOTE_PUNCTUATION,
                 Character.OTHER_PUNCTUATION -> PUNCT;
            case Character.NON_SPACING_MARK, Character.ENCLOSING_MARK, Character.COMBINING_SPACING_MARK -> MARK;
            case Character.MATH_SYMBOL, Character.CURRENCY_SYMBOL, Character.MODIFIER_SYMBOL, Character.OTHER_SYMBOL -> SYMBOL;
            default -> OTHER;
        };
    }

    private enum View { ORIGINAL, COLLAPSED, SPACES_AS_VT }

    /** The fragment and the views of it the regexes run over, built when first needed. */
    private static final class Text {
        final String s;
        final int start, end;
        private String collapsed, spacesAsVt;
        private int[] cpOfChar, charOfCp; // collapsed index <-> char offset (relative to start)

        Text(String s, int start, int end) { this.s = s; this.start = start; this.end = end; }

        /** The string a view runs over, with the offset of the fragment's start in it. */
        String view(View v) {
            switch (v) {
                case ORIGINAL: return s;
                case SPACES_AS_VT:
                    if (spacesAsVt == null) {
                        char[] c = s.substring(start, end).toCharArray();
                        for (int i = 0; i < c.length; i++) if (c[i] > 127 && isSpace(c[i])) c[i] = 0x0B;
                        spacesAsVt = new String(c);
                    }
                    return spacesAsVt;
                default:
                    if (collapsed == null) {
                        int n = end - start;
                        cpOfChar = new int[n + 1];
                        charOfCp = new int[n + 1];
                        StringBuilder b = new StringBuilder(n);
                        int k = 0;
                        for (int i = start; i < end; ) {
                            int cp = s.codePointAt(i), len = Character.charCount(cp);
                            for (int j = 0; j < len; j++) cpOfChar[i - start + j] = k;
                            charOfCp[k++] = i - start;
                            b.append(standIn(cp));
                            i += len;
                        }
                        cpOfChar[n] = k;
                        charOfCp[k] = n;
                        collapsed = b.toString();
                    }
                    return collapsed;
            }
        }

        /** A char offset of the text in a view's index, and back. */
        int toView(View v, int off) {
            return v == View.ORIGINAL ? off : v == View.SPACES_AS_VT ? off - start : cpOfChar[off - start];
        }

        int fromView(View v, int idx) {
            return v == View.ORIGINAL ? idx : v == View.SPACES_AS_VT ? idx + start : charOfCp[idx] + start;
        }
    }

    /** A regex's matches are words, and so is the text between them (llama.cpp's unicode_regex_split). */
    private record RegexSplit(Pattern pattern, View view) implements Split {
        @Override
        public void split(Text t, int start, int end, IntList out) {
            String v = t.view(view);
            int from = t.toView(view, start), to = t.toView(view, end);
            Matcher m = pattern.matcher(v).region(from, to);
            int at = from;
            while (m.find()) {
                if (m.start() > at) out.add(t.fromView(view, m.start()));
                if (m.end() > m.start()) out.add(t.fromView(view, m.end()));
                at = m.end();
            }
            if (at < to) out.add(end);
        }
    }

    /**
     * llama.cpp's code for Kimi K2's tiktoken pattern: runs of Han; a letter word (Han excluded) with
     * an optional leading non-letter, non-digit and an optional contraction (any case); digits in
     * threes; punctuation runs with an optional space before and newlines after; white space.
     */
    private static final class KimiK2Split implements Split {
        static boolean isHan(int cp) {
            return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF)
                    || (cp >= 0x2A700 && cp <= 0x2EBEF) || (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
        }

        @Override
        public void split(Text t, int start, int end, IntList out) {
            int[] cps = t.s.substring(start, end).codePoints().toArray();
            int n = cps.length;
            int[] off = new int[n + 1]; // char offset of each code point
            for (int i = 0, o = start; i < n; i++) { off[i] = o; o += Character.charCount(cps[i]); }
            off[n] = end;
            java.util.function.IntUnaryOperator cp = p -> p < n ? cps[p] : -1;
            java.util.function.IntPredicate letter = p -> p < n && isLetter(cps[p]);
            java.util.function.IntPredicate letterNotHan = p -> p < n && isLetter(cps[p]) && !isHan(cps[p]);
            java.util.function.IntPredicate number = p -> p < n && isNumber(cps[p]);
            java.util.function.IntPredicate space = p -> p < n && isSpace(cps[p]);
            int pos = 0, prevEnd = 0;
            while (pos < n) {
                int c = cps[pos];
                if (isHan(c)) {
                    while (pos < n && isHan(cps[pos])) pos++;
                    prevEnd = add(out, off, prevEnd, pos);
                    continue;
                }
                boolean lead = !(c == '\r' || c == '\n' || letter.test(pos) || number.test(pos));
                if (letterNotHan.test(pos) || (lead && letterNotHan.test(pos + 1))) {
                    if (lead) pos++;
                    while (letterNotHan.test(pos)) pos++;
                    if (pos < n && cps[pos] == '\'' && pos + 1 < n) {
                        int a = Character.toLowerCase(cps[pos + 1]);
                        if (a == 's' || a == 't' || a == 'm' || a == 'd') pos += 2;
                        else if (pos + 2 < n) {
                            int b = Character.toLowerCase(cps[pos + 2]);
                            if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) pos += 3;
                        }
                    }
                    prevEnd = add(out, off, prevEnd, pos);
                    continue;
                }
                if (number.test(pos)) {
                    int ini = pos;
                    while (number.test(pos)) {
                        if (++pos - ini >= 3) { prevEnd = add(out, off, prevEnd, pos); ini = pos; }
                    }
                    prevEnd = add(out, off, prevEnd, pos);
                    continue;
                }
                int p2 = c == ' ' ? pos + 1 : pos;
                if (p2 < n && !space.test(p2) && !letter.test(p2) && !number.test(p2)) {
                    pos = p2;
                    while (pos < n && !space.test(pos) && !letter.test(pos) && !number.test(pos)) pos++;
                    while (cp.applyAsInt(pos) == '\r' || cp.applyAsInt(pos) == '\n') pos++;
                    prevEnd = add(out, off, prevEnd, pos);
                    continue;
                }
                int spaces = 0, lastNewline = 0;
                while (space.test(pos + spaces)) {
                    int s = cps[pos + spaces];
                    if (s == '\r' || s == '\n') lastNewline = pos + spaces + 1;
                    spaces++;
                }
                if (lastNewline > 0) pos = lastNewline;
                else if (spaces > 1 && pos + spaces < n) pos += spaces - 1;
                else if (spaces > 0) pos += spaces;
                else pos++;
                prevEnd = add(out, off, prevEnd, pos);
            }
        }
    }

    /**
     * llama.cpp's digit grouping for AFMoE and Tiny Aya: a run of digits splits into a leading 1 or
     * 2 (its length mod 3) and threes; the text before the run goes with its first group, as in
     * llama.cpp; what follows the last run is one word.
     */
    private static final class DigitGroupSplit implements Split {
        @Override
        public void split(Text t, int start, int end, IntList out) {
            int[] cps = t.s.substring(start, end).codePoints().toArray();
            int n = cps.length;
            int[] off = new int[n + 1];
            for (int i = 0, o = start; i < n; i++) { off[i] = o; o += Character.charCount(cps[i]); }
            off[n] = end;
            int pos = 0, prevEnd = 0;
            while (pos < n) {
                if (!isNumber(cps[pos])) { pos++; continue; }
                int first = pos;
                while (pos < n && isNumber(cps[pos])) pos++;
                int at = first, lead = (pos - first) % 3;
                if (lead > 0) prevEnd = add(out, off, prevEnd, at += lead);
                while (at < pos) prevEnd = add(out, off, prevEnd, at += 3);
            }
            if (prevEnd < n) add(out, off, prevEnd, n);
        }
    }

    /** Ends a word at code point {@code end} if it is not empty; returns the new word start. */
    private static int add(IntList out, int[] off, int prevEnd, int end) {
        if (end > prevEnd) out.add(off[end]);
        return end;
    }

    /** A growable int array. */
    static final class IntList {
        int[] a = new int[16];
        int size;

        void add(int v) {
            if (size == a.length) a = java.util.Arrays.copyOf(a, size * 2);
            a[size++] = v;
        }

        int[] toArray() { return java.util.Arrays.copyOf(a, size); }
    }
}
