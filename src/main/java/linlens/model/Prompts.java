package linlens.model;

import linlens.format.GgufFile;
import linlens.tokenizer.ChatTemplate;
import linlens.tokenizer.Tokenizer;
import linlens.tokenizer.TokenizerJsonValidator;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

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
        checkText(prompt, "prompt", "--prompt");
        return encodeChecked(tokenizer, context, prompt, true);
    }

    private static void checkText(String text, String what, String option) {
        if (text == null || text.isEmpty()) throw new InputException("empty " + what + ": give some text with " + option);
        if (text.codePoints().allMatch(Prompts::isSpace))
            throw new InputException("empty " + what + ": the " + what + " is only whitespace; give some text with " + option);
        int bad = TokenizerJsonValidator.loneSurrogate(text);
        if (bad >= 0)
            throw new InputException(String.format("%s has a lone UTF-16 surrogate U+%04X at character %d (not valid text)",
                    what, (int) text.charAt(bad), bad));
    }

    private static int[] encodeChecked(Tokenizer tokenizer, int context, String text, boolean addSpecial) {
        // refuse before encoding what cannot fit: no token stands for more than maxCharsPerToken chars
        long most = (long) context * tokenizer.maxCharsPerToken();
        if (context > 0 && text.length() > most)
            throw new InputException("prompt too long: " + text.length() + " characters is more than "
                    + context + " tokens (the model's context) can hold");
        int[] ids = tokenizer.encode(text, addSpecial, true);
        if (ids.length > context)
            throw new InputException("prompt too long: " + ids.length + " tokens, the model's context is " + context);
        return ids;
    }

    /**
     * How a prompt is made a chat: one user turn (after a system turn when {@code system} is not
     * null) in the model's chat template, or in the template of {@code templateFile} when not null
     * (a base model has none of its own).
     */
    public record Chat(String system, Path templateFile) {
        public static final Chat PLAIN = new Chat(null, null);
    }

    /** A prompt in the chat template: the text the template wrote and its tokens. */
    public record Formatted(String text, int[] ids) {}

    /**
     * The prompt as the chat template writes it (a user turn, the system turn if given, and the
     * generation prompt), and its tokens as transformers' {@code apply_chat_template(tokenize=True)}
     * gives them: special tokens written by the template are parsed, and the tokenizer adds no
     * BOS or EOS of its own (a template that writes {@code bos_token} gets exactly one).
     */
    public static Formatted chat(Transformer m, String prompt, Chat chat) {
        checkText(prompt, "prompt", "--prompt");
        if (chat.system() != null) checkText(chat.system(), "system prompt", "--system");
        ChatTemplate template = chat.templateFile() != null ? ChatTemplate.fromFile(chat.templateFile()) : template(m);
        if (template == null)
            throw new InputException("the model " + name(m) + " has no chat template (a base model?): leave out --chat, "
                    + "or give a template with --chat-template FILE");
        List<ChatTemplate.Message> messages = new ArrayList<>();
        if (chat.system() != null) messages.add(new ChatTemplate.Message("system", chat.system()));
        messages.add(new ChatTemplate.Message("user", prompt));
        String text = template.render(messages, true, ChatTemplate.specialTokens(m.tokenizer()));
        if (text.isEmpty()) throw new InputException("the chat template of " + name(m) + " wrote nothing for this prompt");
        return new Formatted(text, encodeChecked(m.tokenizer(), m.config().context(), text, false));
    }

    /** The model's own chat template (GGUF metadata, or the Hugging Face folder's files), or null. */
    public static ChatTemplate template(Transformer m) {
        Path source = Path.of(m.source());
        if (Files.isDirectory(source)) return ChatTemplate.fromHfFolder(source);
        try (GgufFile g = GgufFile.open(source)) {
            return ChatTemplate.fromGguf(g);
        }
    }

    private static String name(Transformer m) {
        Path p = Path.of(m.source()).getFileName();
        return p == null ? m.source() : p.toString();
    }

    /** Whitespace as Java's isBlank sees it, plus the invisible spaces that render as nothing. */
    private static boolean isSpace(int c) {
        return Character.isWhitespace(c) || Character.isSpaceChar(c) || c == '\u200B' || c == '\uFEFF';
    }
}
