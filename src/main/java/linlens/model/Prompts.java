package linlens.model;

import linlens.tokenizer.Tokenizer;
import linlens.tokenizer.TokenizerJsonValidator;

/**
 * Turns user text into token ids the model can take, or says why not, in one line
 * ({@link InputException}).
 *
 * <p>Accepted as written: control characters and NUL, bidi controls, combining marks, text that
 * spells special tokens (which become those tokens, as llama.cpp and transformers do). Refused:
 * empty and whitespace-only prompts (the model would see only BOS and formatting), and lone UTF-16
 * surrogates: a Java string can hold them but they are not text; the tokenizers would each turn
 * them into something else ('?' bytes, replacement characters) that the user never typed.
 */
public final class Prompts {
    private Prompts() {}

    public static int[] encode(Transformer m, String prompt) {
        return encode(m.tokenizer(), m.config().context(), prompt);
    }

    /** As {@link #encode(Transformer, String)} for a tokenizer and a context length. */
    public static int[] encode(Tokenizer tokenizer, int context, String prompt) {
        if (prompt == null || prompt.isEmpty()) throw new InputException("empty prompt: give some text with --prompt");
        if (prompt.codePoints().allMatch(Prompts::isSpace))
            throw new InputException("empty prompt: the prompt is only whitespace; give some text with --prompt");
        int bad = TokenizerJsonValidator.loneSurrogate(prompt);
        if (bad >= 0)
            throw new InputException(String.format("prompt has a lone UTF-16 surrogate U+%04X at character %d (not valid text)",
                    (int) prompt.charAt(bad), bad));
        // refuse before encoding what cannot fit: no token stands for more than maxCharsPerToken chars
        long most = (long) context * tokenizer.maxCharsPerToken();
        if (context > 0 && prompt.length() > most)
            throw new InputException("prompt too long: " + prompt.length() + " characters is more than "
                    + context + " tokens (the model's context) can hold");
        int[] ids = tokenizer.encode(prompt);
        if (ids.length > context)
            throw new InputException("prompt too long: " + ids.length + " tokens, the model's context is " + context);
        return ids;
    }

    /** Whitespace as Java's isBlank sees it, plus the invisible spaces that render as nothing. */
    private static boolean isSpace(int c) {
        return Character.isWhitespace(c) || Character.isSpaceChar(c) || c == '\u200B' || c == '\uFEFF';
    }
}
