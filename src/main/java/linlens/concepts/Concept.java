package linlens.concepts;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.regex.Pattern;

/**
 * A concept as its file states it, before any model: a name, where its words come from, and the
 * words or prompt pairs that make its directions in the output-embedding space. The directions
 * themselves depend on the model (ConceptSpace, in the analysis package).
 *
 * @param words         the concept's words: each contributes the unembedding row of its first token,
 *                      as written and with a leading space (how the word starts in running text)
 * @param versusWords   optional opposite words: the concept's readout becomes the logit difference
 *                      of the two sets (as {@code attribute --versus}); they add directions too
 * @param contrastPairs optional prompt pairs [a, b]: each adds the direction y(a) − y(b) of their
 *                      output embeddings
 * @param include       names of other concepts whose words, versus words and pairs are added
 * @param rank          how many directions span the concept's subspace (the leading singular
 *                      directions of all of them); absent: 8
 */
@JsonIgnoreProperties(ignoreUnknown = false)
@JsonInclude(JsonInclude.Include.NON_EMPTY)
public record Concept(String name, String description, String source, String licence,
                      List<String> words,
                      @JsonProperty("versus_words") List<String> versusWords,
                      @JsonProperty("contrast_pairs") List<List<String>> contrastPairs,
                      List<String> include,
                      Integer rank) {

    /** Names are file names and API values: lowercase letters, digits and dashes. */
    public static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9-]{0,63}");
    public static final int DEFAULT_RANK = 8;
    public static final int MAX_RANK = 64;
    public static final int MAX_WORDS = 5000;
    public static final int MAX_PAIRS = 256;
    public static final int MAX_TEXT = 200;
    public static final int MAX_PAIR_TEXT = 2000;

    public Concept {
        // nulls inside are kept for validated() to name (List.copyOf would throw a bare NullPointerException)
        words = copy(words);
        versusWords = copy(versusWords);
        contrastPairs = contrastPairs == null ? List.of()
                : java.util.Collections.unmodifiableList(contrastPairs.stream().map(p -> p == null ? null : copy(p)).toList());
        include = copy(include);
    }

    private static <T> List<T> copy(List<T> l) {
        return l == null ? List.of() : java.util.Collections.unmodifiableList(new ArrayList<>(l));
    }

    /** The rank to use: the file's, or the default. */
    public int effectiveRank() { return rank == null ? DEFAULT_RANK : rank; }

    /** Checks everything that needs no model; the message names the problem (a {@link ConceptException}). */
    public Concept validated() {
        if (name == null || !NAME.matcher(name).matches())
            throw new ConceptException("concept name " + quote(name) + " must be 1-64 lowercase letters, digits or dashes");
        if (rank != null && (rank < 1 || rank > MAX_RANK)) throw new ConceptException("concept " + name + ": rank " + rank + " is outside 1.." + MAX_RANK);
        if (!versusWords.isEmpty() && words.isEmpty() && include.isEmpty())
            throw new ConceptException("concept " + name + " has versus words but no words to set against them");
        if (words.isEmpty() && contrastPairs.isEmpty() && include.isEmpty())
            throw new ConceptException("concept " + name + " has no words, contrast pairs or included concepts");
        if (words.size() + versusWords.size() > MAX_WORDS)
            throw new ConceptException("concept " + name + " has " + (words.size() + versusWords.size()) + " words (at most " + MAX_WORDS + ")");
        if (contrastPairs.size() > MAX_PAIRS)
            throw new ConceptException("concept " + name + " has " + contrastPairs.size() + " contrast pairs (at most " + MAX_PAIRS + ")");
        for (List<String> list : List.of(words, versusWords))
            for (String w : list) checkText(w, MAX_TEXT, "word");
        for (List<String> p : contrastPairs) {
            if (p == null || p.size() != 2)
                throw new ConceptException("concept " + name + ": a contrast pair must be two prompts [a, b]");
            for (String s : p) checkText(s, MAX_PAIR_TEXT, "contrast prompt");
        }
        for (String i : include)
            if (i == null || !NAME.matcher(i).matches()) throw new ConceptException("concept " + name + " includes a bad name " + quote(i));
        for (String s : new String[]{description, source, licence})
            if (s != null && s.length() > 4000) throw new ConceptException("concept " + name + ": a description field is over 4000 characters");
        return this;
    }

    private void checkText(String s, int max, String what) {
        if (s == null || s.isBlank()) throw new ConceptException("concept " + name + " has an empty " + what);
        if (s.length() > max) throw new ConceptException("concept " + name + " has a " + what + " over " + max + " characters");
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isSurrogate(c) && !(Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(++i))))
                throw new ConceptException("concept " + name + " has a " + what + " that is not valid Unicode (a lone surrogate)");
        }
    }

    /** This concept with another's words, versus words and pairs added (duplicates dropped). */
    public Concept plus(Concept other) {
        return new Concept(name, description, source, licence, union(words, other.words), union(versusWords, other.versusWords),
                union(contrastPairs, other.contrastPairs), List.of(), rank);
    }

    private static <T> List<T> union(List<T> a, List<T> b) {
        var s = new LinkedHashSet<T>(a);
        s.addAll(b);
        return new ArrayList<>(s);
    }

    static String quote(String s) {
        return s == null ? "(none)" : "\"" + (s.length() > 80 ? s.substring(0, 80) + "…" : s) + "\"";
    }
}
