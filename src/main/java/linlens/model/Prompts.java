package linlens.model;

/** Turns user text into token ids the model can take, or says why not. */
public final class Prompts {
    private Prompts() {}

    public static int[] encode(Transformer m, String prompt) {
        if (prompt == null || prompt.isEmpty()) throw new InputException("empty prompt: give some text with --prompt");
        int[] ids = m.tokenizer().encode(prompt);
        int context = m.config().context();
        if (ids.length > context)
            throw new InputException("prompt too long: " + ids.length + " tokens, the model's context is " + context);
        return ids;
    }
}
