package linlens.tokenizer;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import linlens.format.ModelFormatException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Checks a Hugging Face {@code tokenizer.json} in Java before the tokenizers native library sees it.
 * The library (Rust, through DJL's JNI binding) panics on some malformed files, and a panic
 * aborts the whole JVM; it also accepts token ids the model cannot have. Found by experiment with
 * tokenizers 0.21.4 (DJL 0.36.0); each of these aborted the JVM:
 * <ul>
 * <li>a TemplateProcessing template naming a special token missing from its {@code special_tokens}
 *     (also inside a Sequence post-processor), or a single template using sequence {@code $B};</li>
 * <li>a BPE merge whose right part is shorter than {@code continuing_subword_prefix};</li>
 * <li>a Precompiled normalizer whose {@code precompiled_charsmap} does not parse;</li>
 * <li>a Replace normalizer whose pattern can match the empty string, a Prepend normalizer with an
 *     empty string;</li>
 * <li>a truncation stride not below its max_length;</li>
 * <li>a regex that runs into Oniguruma's backtracking limit on some text (such as {@code (a+)+b} on
 *     a run of "a"; a repeated group that itself repeats is refused).</li>
 * </ul>
 * Truncation and padding are dropped from the copy given to the library: transformers does neither
 * unless asked, and DJL would otherwise truncate prompts silently. What the checks cannot foresee
 * (a regex's backtracking on some text, a corrupt charsmap trie) is left to {@link TokenizerProbe}.
 */
public final class TokenizerJsonValidator {
    /** Larger than any real tokenizer.json (Gemma 3's is 33 MB). */
    public static final long MAX_BYTES = 256L << 20;
    /** Token ids must stay below this where the embedding's row count is not known (real vocabularies: up to ~262k). */
    public static final int MAX_VOCAB = 1 << 22;
    /** Longest token piece accepted, in UTF-16 chars (real ones: a few hundred at most). */
    public static final int MAX_PIECE_CHARS = 4096;
    static final int MAX_NESTING = 64;

    private static final Set<String> MODELS = Set.of("BPE", "WordPiece", "WordLevel", "Unigram");
    private static final Set<String> NORMALIZERS = Set.of("BertNormalizer", "Strip", "StripAccents", "NFC", "NFD",
            "NFKC", "NFKD", "Sequence", "Lowercase", "Nmt", "Precompiled", "Replace", "Prepend", "ByteLevel");
    private static final Set<String> PRE_TOKENIZERS = Set.of("BertPreTokenizer", "ByteLevel", "CharDelimiterSplit",
            "Metaspace", "Whitespace", "Sequence", "Split", "Punctuation", "WhitespaceSplit", "Digits",
            "UnicodeScripts", "FixedLength");
    private static final Set<String> DECODERS = Set.of("BPEDecoder", "ByteLevel", "WordPiece", "Metaspace", "CTC",
            "Sequence", "Replace", "Fuse", "Strip", "ByteFallback");
    /**
     * The post-processor kinds the library handles, with their fields. The library reads a
     * post-processor by its shape, not by its "type" (an untagged union): a "ByteLevel" that
     * carries a template's fields is run as a template, unchecked, and panics on a special token
     * it lacks (found by fuzzing). So a component may not carry another kind's fields.
     */
    private static final Map<String, List<String>> POST_PROCESSOR_FIELDS = orderedFields(
            "TemplateProcessing", List.of("type", "single", "pair", "special_tokens"),
            "BertProcessing", List.of("type", "sep", "cls"),
            "RobertaProcessing", List.of("type", "sep", "cls", "trim_offsets", "add_prefix_space"),
            "ByteLevel", List.of("type", "add_prefix_space", "trim_offsets", "use_regex"),
            "Sequence", List.of("type", "processors"));

    /** A map in the order given (Map.of's order changes from run to run, and so would the message). */
    private static Map<String, List<String>> orderedFields(Object... kindsAndFields) {
        Map<String, List<String>> m = new java.util.LinkedHashMap<>();
        for (int i = 0; i < kindsAndFields.length; i += 2) {
            @SuppressWarnings("unchecked") List<String> fields = (List<String>) kindsAndFields[i + 1];
            m.put((String) kindsAndFields[i], fields);
        }
        return java.util.Collections.unmodifiableMap(m);
    }

    /** Texts a Replace pattern is tried on: a pattern that matches empty on any of them is refused. */
    private static final String[] EMPTY_MATCH_SAMPLES = {"", " ", "a", "ab", "Hello world", "a b\n c", "\t1 2",
            "é", "日本", "😀", "  ", "x\u0301", "<s>", "\u0000"};

    private static final ObjectMapper JSON = new ObjectMapper(JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(MAX_NESTING)
                    .maxNumberLength(64).maxStringLength((int) MAX_BYTES).build())
            .enable(com.fasterxml.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            // vocabularies are objects with ~10^5 keys: interning them costs seconds
            .disable(JsonFactory.Feature.INTERN_FIELD_NAMES)
            .disable(JsonFactory.Feature.CANONICALIZE_FIELD_NAMES)
            .build());

    /**
     * A checked tokenizer.json: the JSON for the library (truncation and padding removed), and the
     * token list with the ids the library gives (an added token not in the model's vocabulary gets
     * the next free id whatever the file says, so the file's id must be that one).
     *
     * @param pieces  piece by id; null where no token has that id
     * @param added   ids listed in added_tokens
     * @param special ids of added tokens marked special
     * @param maxPieceChars the longest piece, in UTF-16 chars
     * @param piecesBoundText whether no token stands for more characters than its piece has: a BPE
     *        model with no normalizer (which may delete or compose characters) and no unknown
     *        token (which may stand for a run of them)
     */
    public record Result(String libraryJson, String[] pieces, boolean[] added, boolean[] special, int maxPieceChars,
                         boolean piecesBoundText) {
        public int size() { return pieces.length; }
    }

    private TokenizerJsonValidator() {}

    /**
     * Validates {@code json} (a tokenizer.json's bytes). Token ids must be below {@code vocabBound}
     * (the model's embedding row count; {@code <= 0} where unknown: {@link #MAX_VOCAB} applies).
     * Throws {@link ModelFormatException} with one line: {@code name + ": " + field + problem}.
     */
    public static Result validate(byte[] json, int vocabBound, String name) {
        return new TokenizerJsonValidator.Run(name, vocabBound).run(json);
    }

    /** As {@link #validate(byte[], int, String)} for JSON text. */
    public static Result validate(String json, int vocabBound, String name) {
        return validate(json.getBytes(StandardCharsets.UTF_8), vocabBound, name);
    }

    private static final class Run {
        final String name;
        final int bound;
        final String boundWhy;
        final Map<String, Integer> vocab = new HashMap<>();   // model vocabulary piece -> id
        final Map<Integer, String> byId = new HashMap<>();
        String modelType;
        int modelCount;                                      // the library's get_vocab_size(): entries, not max id + 1
        int maxPieceChars = 1;

        Run(String name, int vocabBound) {
            this.name = name;
            this.bound = vocabBound > 0 ? Math.min(vocabBound, MAX_VOCAB) : MAX_VOCAB;
            this.boundWhy = vocabBound > 0 && vocabBound <= MAX_VOCAB ? "the embedding's " + vocabBound + " rows"
                    : "the limit of " + MAX_VOCAB + " tokens";
        }

        ModelFormatException bad(String field, String problem) {
            return new ModelFormatException(name + ": " + field + " " + problem);
        }

        Result run(byte[] bytes) {
            if (bytes.length > MAX_BYTES)
                throw new ModelFormatException(name + ": " + bytes.length + " bytes, more than the " + MAX_BYTES + " a tokenizer.json may have");
            JsonNode root;
            try {
                root = JSON.readTree(bytes);
            } catch (IOException | RuntimeException e) {
                String m = String.valueOf(e.getMessage()).lines().findFirst().orElse("");
                throw new ModelFormatException(name + ": not valid JSON (" + m + ")", e);
            }
            if (root == null || !root.isObject()) throw new ModelFormatException(name + ": not a JSON object");
            ObjectNode top = (ObjectNode) root;
            JsonNode version = top.get("version");
            if (version != null && !"1.0".equals(version.asText(null)))
                throw bad("version", "is " + version + "; the tokenizers library reads version \"1.0\"");

            model(top.path("model"));
            addedTokens(top.get("added_tokens"));
            int size = 0;
            for (int id : byId.keySet()) size = Math.max(size, id + 1);
            String[] pieces = new String[size];
            boolean[] added = new boolean[size], special = new boolean[size];
            for (var e : byId.entrySet()) pieces[e.getKey()] = e.getValue();
            for (JsonNode a : top.path("added_tokens")) {
                int id = a.get("id").asInt();
                added[id] = true;
                special[id] = a.path("special").asBoolean(false);
            }
            component(top.get("normalizer"), "normalizer", NORMALIZERS, "normalizers");
            component(top.get("pre_tokenizer"), "pre_tokenizer", PRE_TOKENIZERS, "pretokenizers");
            component(top.get("decoder"), "decoder", DECODERS, "decoders");
            postProcessor(top.get("post_processor"), "post_processor", size);
            top.putNull("truncation");
            top.putNull("padding");
            JsonNode m = top.path("model");
            boolean bound = modelType.equals("BPE") && top.path("normalizer").isNull() && m.path("unk_token").isNull()
                    && !m.path("fuse_unk").asBoolean(false);
            return new Result(top.toString(), pieces, added, special, maxPieceChars, bound);
        }

        /** An id from the file: an integer in [0, bound). */
        int id(JsonNode n, String field) {
            if (n == null || !n.isIntegralNumber() || !n.canConvertToLong())
                throw bad(field, "is " + (n == null ? "missing" : n.toString()) + ", not a token id");
            long v = n.asLong();
            if (v < 0) throw bad(field, "is " + v + ", a negative token id");
            if (v >= bound) throw bad(field, "is " + v + ", not below " + boundWhy);
            return (int) v;
        }

        String piece(JsonNode n, String field) {
            if (n == null || !n.isTextual()) throw bad(field, "is " + (n == null ? "missing" : n.getNodeType().toString().toLowerCase()) + ", not a string");
            String s = n.asText();
            checkPiece(s, field);
            return s;
        }

        void checkPiece(String s, String field) {
            if (s.length() > MAX_PIECE_CHARS) throw bad(field, "is a piece of " + s.length() + " chars, more than " + MAX_PIECE_CHARS);
            int bad = loneSurrogate(s);
            if (bad >= 0) throw bad(field, "has a lone UTF-16 surrogate at char " + bad);
            maxPieceChars = Math.max(maxPieceChars, s.length());
        }

        void model(JsonNode m) {
            if (!m.isObject()) throw bad("model", m.isMissingNode() ? "is missing" : "is not an object");
            modelType = m.path("type").asText("");
            if (!MODELS.contains(modelType))
                throw bad("model.type", (m.has("type") ? "'" + modelType + "' is not supported" : "is missing")
                        + " (supported: " + String.join(", ", new java.util.TreeSet<>(MODELS)) + ")");
            JsonNode v = m.path("vocab");
            if (modelType.equals("Unigram")) {
                if (!v.isArray()) throw bad("model.vocab", "is not an array of [piece, score] pairs");
                if (v.size() > bound) throw bad("model.vocab", "has " + v.size() + " entries, more than " + boundWhy);
                for (int i = 0; i < v.size(); i++) {
                    JsonNode e = v.get(i);
                    String f = "model.vocab[" + i + "]";
                    if (!e.isArray() || e.size() != 2) throw bad(f, "is not a [piece, score] pair");
                    String p = piece(e.get(0), f + "[0]");
                    if (!e.get(1).isNumber() || !Double.isFinite(e.get(1).asDouble())) throw bad(f + "[1]", "is not a finite score");
                    if (vocab.putIfAbsent(p, i) != null) throw bad(f, "repeats the piece " + quote(p) + " of model.vocab[" + vocab.get(p) + "]");
                    byId.put(i, p);
                }
                JsonNode unk = m.get("unk_id");
                if (unk != null && !unk.isNull()) {
                    int u = id(unk, "model.unk_id");
                    if (u >= v.size()) throw bad("model.unk_id", "is " + u + " but model.vocab has " + v.size() + " entries");
                }
            } else {
                if (!v.isObject()) throw bad("model.vocab", "is not an object of piece: id");
                if (v.size() > bound) throw bad("model.vocab", "has " + v.size() + " entries, more than " + boundWhy);
                for (var e : v.properties()) {
                    String f = "model.vocab[" + quote(e.getKey()) + "]";
                    checkPiece(e.getKey(), f);
                    int id = id(e.getValue(), f);
                    String other = byId.putIfAbsent(id, e.getKey());
                    if (other != null) throw bad("model.vocab", "gives id " + id + " to both " + quote(other) + " and " + quote(e.getKey()));
                    vocab.put(e.getKey(), id);
                }
                for (String key : new String[] {"unk_token"}) {
                    JsonNode u = m.get(key);
                    if (u != null && !u.isNull()) {
                        String s = piece(u, "model." + key);
                        if (!vocab.containsKey(s)) throw bad("model." + key, quote(s) + " is not in model.vocab");
                    }
                }
            }
            if (vocab.isEmpty()) throw bad("model.vocab", "is empty");
            modelCount = vocab.size();
            if (modelType.equals("BPE")) bpe(m);
            if (modelType.equals("WordPiece") && m.has("max_input_chars_per_word")) {
                JsonNode x = m.get("max_input_chars_per_word");
                if (!x.isIntegralNumber() || x.asLong() < 0) throw bad("model.max_input_chars_per_word", "is not a non-negative integer");
            }
        }

        void bpe(JsonNode m) {
            JsonNode d = m.get("dropout");
            if (d != null && !d.isNull() && (!d.isNumber() || !(d.asDouble() >= 0 && d.asDouble() <= 1)))
                throw bad("model.dropout", "is " + d + ", not a probability in [0, 1]");
            String prefix = optionalString(m, "continuing_subword_prefix");
            optionalString(m, "end_of_word_suffix");
            int prefixBytes = prefix == null ? 0 : prefix.getBytes(StandardCharsets.UTF_8).length;
            JsonNode merges = m.path("merges");
            if (merges.isMissingNode() || merges.isNull()) return;
            if (!merges.isArray()) throw bad("model.merges", "is not an array");
            if (merges.size() > bound) throw bad("model.merges", "has " + merges.size() + " entries, more than " + boundWhy);
            for (int i = 0; i < merges.size(); i++) {
                JsonNode e = merges.get(i);
                String f = "model.merges[" + i + "]";
                String a, b;
                if (e.isTextual()) {
                    String[] parts = e.asText().split(" ", -1);
                    if (parts.length != 2) throw bad(f, quote(e.asText()) + " is not two pieces separated by one space");
                    a = parts[0];
                    b = parts[1];
                } else if (e.isArray() && e.size() == 2 && e.get(0).isTextual() && e.get(1).isTextual()) {
                    a = e.get(0).asText();
                    b = e.get(1).asText();
                } else {
                    throw bad(f, "is not a pair of pieces");
                }
                if (!vocab.containsKey(a)) throw bad(f, "names " + quote(a) + ", which is not in model.vocab");
                if (!vocab.containsKey(b)) throw bad(f, "names " + quote(b) + ", which is not in model.vocab");
                byte[] bb = b.getBytes(StandardCharsets.UTF_8);
                // the library cuts the prefix off b by byte count: shorter, or mid-character, panics
                if (bb.length < prefixBytes || (prefixBytes < bb.length && (bb[prefixBytes] & 0xC0) == 0x80))
                    throw bad(f, "has " + quote(b) + ", which does not start with model.continuing_subword_prefix " + quote(prefix));
                String merged = a + new String(bb, prefixBytes, bb.length - prefixBytes, StandardCharsets.UTF_8);
                if (!vocab.containsKey(merged)) throw bad(f, "makes " + quote(merged) + ", which is not in model.vocab");
            }
        }

        String optionalString(JsonNode m, String key) {
            JsonNode n = m.get(key);
            if (n == null || n.isNull()) return null;
            if (!n.isTextual()) throw bad("model." + key, "is not a string");
            return n.asText();
        }

        /** added_tokens: the ids must be the ones the library gives (its AddedVocabulary::add_tokens). */
        void addedTokens(JsonNode list) {
            if (list == null || list.isNull()) return;
            if (!list.isArray()) throw bad("added_tokens", "is not an array");
            if (list.size() > bound) throw bad("added_tokens", "has " + list.size() + " entries, more than " + boundWhy);
            Map<String, Integer> byContent = new HashMap<>();
            int maxAdded = -1;
            for (int i = 0; i < list.size(); i++) {
                JsonNode a = list.get(i);
                String f = "added_tokens[" + i + "]";
                if (!a.isObject()) throw bad(f, "is not an object");
                String content = piece(a.get("content"), f + ".content");
                if (content.isEmpty()) throw bad(f + ".content", "is empty");
                int id = id(a.get("id"), f + ".id");
                for (String flag : new String[] {"special", "single_word", "lstrip", "rstrip", "normalized"})
                    if (a.has(flag) && !a.get(flag).isBoolean()) throw bad(f + "." + flag, "is not true or false");
                Integer before = byContent.putIfAbsent(content, i);
                if (before != null) throw bad(f + ".content", quote(content) + " repeats added_tokens[" + before + "]");
                Integer inVocab = vocab.get(content);
                int given;
                if (inVocab != null) {
                    given = inVocab;
                } else {
                    given = maxAdded < 0 ? modelCount : (maxAdded >= modelCount ? maxAdded + 1 : modelCount);
                    if (byId.containsKey(given))
                        throw bad(f, quote(content) + " would get id " + given + ", which model.vocab already gives to "
                                + quote(byId.get(given)) + " (model.vocab has gaps)");
                }
                if (given != id)
                    throw bad(f + ".id", "is " + id + " but the tokenizers library gives " + quote(content) + " id " + given
                            + (inVocab != null ? " (its model.vocab id)" : " (the next id after model.vocab)"));
                if (given >= bound) throw bad(f + ".id", "is " + given + ", not below " + boundWhy);
                maxAdded = Math.max(maxAdded, given);
                byId.put(given, content);
            }
        }

        /** A normalizer / pre-tokenizer / decoder, recursing into Sequences. */
        /** The "type" of an optional component, one of {@code types}; null when the component is absent. */
        String typeOf(JsonNode n, String field, Set<String> types) {
            if (n == null || n.isNull()) return null;
            if (!n.isObject()) throw bad(field, "is not an object");
            String type = n.path("type").asText("");
            if (!types.contains(type))
                throw bad(field + ".type", (n.has("type") ? "'" + type + "' is not supported" : "is missing")
                        + " (supported: " + String.join(", ", new java.util.TreeSet<>(types)) + ")");
            return type;
        }

        void component(JsonNode n, String field, Set<String> types, String seqKey) {
            String type = typeOf(n, field, types);
            if (type == null) return;
            if (type.equals("Sequence")) {
                JsonNode list = n.path(seqKey);
                if (!list.isArray()) throw bad(field + "." + seqKey, "is not an array");
                for (int i = 0; i < list.size(); i++) component(list.get(i), field + "." + seqKey + "[" + i + "]", types, seqKey);
                return;
            }
            boolean normalizer = types == NORMALIZERS;
            switch (type) {
                case "Replace" -> replacePattern(n, field, normalizer);
                case "Split" -> {
                    String re = n.path("pattern").path("Regex").asText(null);
                    if (re != null) {
                        compiles(re, field + ".pattern.Regex");
                        notNested(re, field + ".pattern.Regex");
                    }
                }
                case "Prepend" -> {
                    if (!n.path("prepend").isTextual() || n.path("prepend").asText().isEmpty())
                        throw bad(field + ".prepend", "is empty or not a string");
                }
                case "Precompiled" -> precompiled(n, field);
                default -> { }
            }
        }

        void replacePattern(JsonNode n, String field, boolean normalizer) {
            JsonNode p = n.path("pattern");
            if (!n.path("content").isTextual()) throw bad(field + ".content", "is not a string");
            if (p.has("String")) {
                if (!p.get("String").isTextual()) throw bad(field + ".pattern.String", "is not a string");
                if (normalizer && p.get("String").asText().isEmpty()) throw bad(field + ".pattern.String", "is empty");
            } else if (p.has("Regex")) {
                if (!p.get("Regex").isTextual()) throw bad(field + ".pattern.Regex", "is not a string");
                String re = p.get("Regex").asText();
                notNested(re, field + ".pattern.Regex");
                Pattern compiled = compiles(re, field + ".pattern.Regex");
                if (normalizer && compiled == null)
                    throw bad(field + ".pattern.Regex", quote(re) + " is not a regex that can be checked (Java cannot read it)");
                // an empty match makes the library's normalizer index past the end of the text
                if (normalizer && matchesEmpty(compiled))
                    throw bad(field + ".pattern.Regex", quote(re) + " can match the empty string");
            } else {
                throw bad(field + ".pattern", "is neither {\"String\": ...} nor {\"Regex\": ...}");
            }
        }

        /** The regex as Java reads it (Oniguruma's syntax is close), or null when Java cannot read it. */
        Pattern compiles(String re, String field) {
            if (re.length() > 65536) throw bad(field, "is a regex of " + re.length() + " chars");
            try {
                return Pattern.compile(re);
            } catch (PatternSyntaxException | StackOverflowError e) {
                return null;
            }
        }

        /**
         * Refuses a repeated group that itself repeats, such as {@code (a+)+}: on some text its
         * backtracking reaches Oniguruma's retry limit, and the library panics mid-encode (seen
         * with {@code (a+)+b} on a run of "a"). No tokenizer regex in use is written that way.
         */
        void notNested(String re, String field) {
            int at = nestedQuantifier(re);
            if (at >= 0)
                throw bad(field, quote(re) + " repeats a group that itself repeats (at char " + at
                        + "): its backtracking can crash the tokenizers library");
        }

        static boolean matchesEmpty(Pattern p) {
            for (String s : EMPTY_MATCH_SAMPLES) {
                try {
                    Matcher m = p.matcher(s);
                    while (m.find()) if (m.end() == m.start()) return true;
                } catch (RuntimeException | StackOverflowError e) {
                    return true;
                }
            }
            return false;
        }

        /** The layout SentencePiece's charsmap parser expects: u32 trie size, the trie (u32s), then the strings. */
        void precompiled(JsonNode n, String field) {
            JsonNode c = n.get("precompiled_charsmap");
            String f = field + ".precompiled_charsmap";
            if (c == null || !c.isTextual()) throw bad(f, "is not a base64 string");
            byte[] blob;
            try {
                blob = Base64.getDecoder().decode(c.asText());
            } catch (IllegalArgumentException e) {
                throw bad(f, "is not valid base64");
            }
            if (blob.length < 4) throw bad(f, "is " + blob.length + " bytes, too short for a charsmap");
            long trie = (blob[0] & 0xffL) | (blob[1] & 0xffL) << 8 | (blob[2] & 0xffL) << 16 | (blob[3] & 0xffL) << 24;
            if (trie == 0 || trie % 4 != 0 || trie > blob.length - 4)
                throw bad(f, "declares a trie of " + trie + " bytes in a charsmap of " + blob.length);
            try {
                StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(blob, 4 + (int) trie, blob.length - 4 - (int) trie));
            } catch (java.nio.charset.CharacterCodingException e) {
                throw bad(f, "has normalized strings that are not UTF-8");
            }
        }

        void postProcessor(JsonNode n, String field, int size) {
            String type = typeOf(n, field, POST_PROCESSOR_FIELDS.keySet());
            if (type == null) return;
            List<String> own = POST_PROCESSOR_FIELDS.get(type);
            for (String key : (Iterable<String>) n::fieldNames) // in the file's order: the first stray field is named
                if (!own.contains(key))
                    for (var kind : POST_PROCESSOR_FIELDS.entrySet())
                        if (kind.getValue().contains(key))
                            throw bad(field + "." + key, "belongs to a " + kind.getKey() + ", not to a " + type
                                    + " (the library would read this post-processor as another kind)");
            switch (type) {
                case "Sequence" -> {
                    JsonNode list = n.path("processors");
                    if (!list.isArray()) throw bad(field + ".processors", "is not an array");
                    for (int i = 0; i < list.size(); i++) postProcessor(list.get(i), field + ".processors[" + i + "]", size);
                }
                case "BertProcessing", "RobertaProcessing" -> {
                    for (String key : new String[] {"sep", "cls"}) {
                        JsonNode t = n.path(key);
                        if (!t.isArray() || t.size() != 2 || !t.get(0).isTextual())
                            throw bad(field + "." + key, "is not a [token, id] pair");
                        inVocabulary(id(t.get(1), field + "." + key + "[1]"), field + "." + key + "[1]", size);
                    }
                }
                case "TemplateProcessing" -> template(n, field, size);
                default -> { }
            }
        }

        void inVocabulary(int id, String field, int size) {
            if (id >= size) throw bad(field, "is " + id + ", but the tokenizer's ids end at " + (size - 1));
        }

        void template(JsonNode n, String field, int size) {
            JsonNode specials = n.path("special_tokens");
            if (!specials.isObject() && !specials.isMissingNode() && !specials.isNull())
                throw bad(field + ".special_tokens", "is not an object");
            for (var e : specials.properties()) {
                String f = field + ".special_tokens[" + quote(e.getKey()) + "]";
                JsonNode s = e.getValue();
                if (!s.isObject()) throw bad(f, "is not an object");
                JsonNode ids = s.path("ids"), tokens = s.path("tokens");
                if (!ids.isArray()) throw bad(f + ".ids", "is not an array");
                if (!tokens.isArray()) throw bad(f + ".tokens", "is not an array");
                if (ids.size() != tokens.size())
                    throw bad(f, "has " + ids.size() + " ids but " + tokens.size() + " tokens");
                for (int i = 0; i < ids.size(); i++) inVocabulary(id(ids.get(i), f + ".ids[" + i + "]"), f + ".ids[" + i + "]", size);
                for (int i = 0; i < tokens.size(); i++) piece(tokens.get(i), f + ".tokens[" + i + "]");
            }
            for (String which : new String[] {"single", "pair"}) {
                JsonNode t = n.get(which);
                String f = field + "." + which;
                if (t == null || t.isNull()) throw bad(f, "is missing");
                if (!t.isArray()) throw bad(f, "is not an array");
                for (int i = 0; i < t.size(); i++) {
                    JsonNode piece = t.get(i);
                    String pf = f + "[" + i + "]";
                    if (piece.has("SpecialToken")) {
                        JsonNode st = piece.get("SpecialToken");
                        typeId(st, pf + ".SpecialToken");
                        String id = st.path("id").asText(null);
                        if (!st.path("id").isTextual()) throw bad(pf + ".SpecialToken.id", "is not a string");
                        if (!specials.has(id)) throw bad(field + ".special_tokens", "lacks " + quote(id) + " used by its template");
                    } else if (piece.has("Sequence")) {
                        JsonNode sq = piece.get("Sequence");
                        typeId(sq, pf + ".Sequence");
                        String id = sq.path("id").asText("");
                        if (!id.equals("A") && !id.equals("B")) throw bad(pf + ".Sequence.id", "is " + sq.path("id") + ", not \"A\" or \"B\"");
                        // a single sentence has only A: the library indexes past its one sequence for B
                        if (id.equals("B") && which.equals("single")) throw bad(pf, "uses sequence B in the single-sentence template");
                    } else {
                        throw bad(pf, "is neither a SpecialToken nor a Sequence");
                    }
                }
            }
        }

        void typeId(JsonNode n, String field) {
            if (!n.isObject()) throw bad(field, "is not an object");
            JsonNode t = n.get("type_id");
            if (t == null || !t.isIntegralNumber() || t.asLong() < 0 || t.asLong() > 0xFFFF_FFFFL)
                throw bad(field + ".type_id", "is not a non-negative integer");
        }
    }

    /**
     * Where a group with a repeating quantifier inside ({@code *}, {@code +}, {@code {n,m}}) is
     * itself repeated by one of those, or -1. A scan, not a parser: escapes, {@code \p{..}}-style
     * braces and character classes are skipped; {@code ?} and exact counts do not count as repeating.
     */
    static int nestedQuantifier(String re) {
        java.util.ArrayDeque<boolean[]> groups = new java.util.ArrayDeque<>();
        int n = re.length();
        for (int i = 0; i < n; i++) {
            char c = re.charAt(i);
            if (c == '\\') {
                if (i + 2 < n && "pPxku".indexOf(re.charAt(i + 1)) >= 0 && re.charAt(i + 2) == '{') {
                    int close = re.indexOf('}', i + 2);
                    i = close < 0 ? n : close;
                } else {
                    i++;
                }
                continue;
            }
            if (c == '[') {
                i = classEnd(re, i);
                continue;
            }
            if (c == '(') {
                groups.push(new boolean[1]);
                if (i + 1 < n && re.charAt(i + 1) == '?') i++; // (?:, (?=, (?i) ...: that ? is no quantifier
                continue;
            }
            int q = repeats(re, i);
            if (c == ')') {
                boolean[] inner = groups.isEmpty() ? new boolean[1] : groups.pop();
                int after = repeats(re, i + 1);
                if (inner[0] && after > 0) return i + 1;
                if (!groups.isEmpty() && (inner[0] || after > 0)) groups.peek()[0] = true;
                continue;
            }
            if (q > 0 && !groups.isEmpty()) groups.peek()[0] = true;
        }
        return -1;
    }

    /** The length of a repeating quantifier ({@code *}, {@code +}, {@code {n,}}, {@code {n,m}} with m > n) at i, else 0. */
    private static int repeats(String re, int i) {
        if (i >= re.length()) return 0;
        char c = re.charAt(i);
        if (c == '*' || c == '+') return 1;
        if (c != '{') return 0;
        Matcher m = COUNT.matcher(re).region(i, re.length());
        if (!m.lookingAt()) return 0;
        boolean open = m.group(2) != null && m.group(3) == null;
        boolean range = m.group(3) != null && Long.parseLong(m.group(3)) > (m.group(1).isEmpty() ? 0 : Long.parseLong(m.group(1)));
        return open || range ? m.end() - i : 0;
    }

    private static final Pattern COUNT = Pattern.compile("\\{(\\d{0,9})(,)?(\\d{1,9})?}");

    /** The index of the ']' closing the class opened at {@code start} (nested classes allowed). */
    private static int classEnd(String re, int start) {
        int depth = 0, n = re.length();
        for (int i = start; i < n; i++) {
            char c = re.charAt(i);
            if (c == '\\') { i++; continue; }
            if (c == '[') {
                depth++;
                if (i + 1 < n && re.charAt(i + 1) == '^') i++;
                if (i + 1 < n && re.charAt(i + 1) == ']') i++; // a leading ] is literal
            } else if (c == ']' && --depth == 0) {
                return i;
            }
        }
        return n;
    }

    /** The index of the first lone UTF-16 surrogate in {@code s}, or -1. */
    public static int loneSurrogate(CharSequence s) {
        for (int i = 0, n = s.length(); i < n; i++) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c)) {
                if (i + 1 < n && Character.isLowSurrogate(s.charAt(i + 1))) i++;
                else return i;
            } else if (Character.isLowSurrogate(c)) {
                return i;
            }
        }
        return -1;
    }

    /** A piece quoted for a message: JSON-style, control characters escaped, long pieces cut. */
    static String quote(String s) {
        StringBuilder b = new StringBuilder("\"");
        int limit = Math.min(s.length(), 60);
        for (int i = 0; i < limit; i++) {
            char c = s.charAt(i);
            if (c == '"' || c == '\\') b.append('\\').append(c);
            else if (c < 0x20 || c == 0x7f || Character.isSurrogate(c) || c == '\u2028' || c == '\u2029'
                    || Character.getType(c) == Character.FORMAT)
                b.append(String.format("\\u%04x", (int) c));
            else b.append(c);
        }
        if (s.length() > limit) b.append("...");
        return b.append('"').toString();
    }
}
