package linlens.analysis;

import linlens.model.ForwardPass;
import linlens.model.ForwardTrace;
import linlens.model.Prompts;
import linlens.model.Transformer;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What every analysis of one prompt shares: the model, the prompt and its tokens, the forward
 * pass that fixed the frozen factors, and the prediction. Made once per prompt, so that several
 * analyses (a dataset scan's, the app's) reuse one forward pass.
 */
public final class PromptContext {
    /** The paper's example prompt. */
    public static final String DEFAULT_PROMPT = "The bridge out of Marin is the";

    private final Transformer model;
    private final String prompt;
    private final String formattedPrompt;
    private final int[] ids;
    private final Map<String, Double> times;
    private ForwardTrace trace;
    private Prediction prediction;

    private PromptContext(Transformer model, String prompt, String formattedPrompt, int[] ids, ForwardTrace trace,
                          Map<String, Double> times) {
        this.model = model;
        this.prompt = prompt;
        this.formattedPrompt = formattedPrompt;
        this.ids = ids;
        this.trace = trace;
        this.times = times;
    }

    /**
     * Encodes the prompt (refusing one the model cannot take) and runs the forward pass.
     * {@code loadMs} (the model's load time, or a negative number when not measured) opens the timings.
     */
    public static PromptContext of(Transformer model, String prompt, double loadMs) {
        return of(model, prompt, Prompts.encode(model, prompt), loadMs);
    }

    /** As above, on the prompt's tokens already encoded (a caller that checks their number first). */
    public static PromptContext of(Transformer model, String prompt, int[] ids, double loadMs) {
        return of(model, prompt, null, ids, loadMs);
    }

    /**
     * As above for a prompt put in the model's chat template ({@code --chat}): {@code formattedPrompt}
     * is the text the template wrote, which {@code ids} encode; null for a plain prompt.
     */
    public static PromptContext of(Transformer model, String prompt, String formattedPrompt, int[] ids, double loadMs) {
        Map<String, Double> times = new LinkedHashMap<>();
        if (loadMs >= 0) times.put("load", loadMs);
        long t0 = System.nanoTime();
        ForwardTrace tr = new ForwardPass(model).run(ids);
        times.put("forward", Vectors.ms(t0));
        return new PromptContext(model, prompt, formattedPrompt, ids, tr, times);
    }

    /** A context on a forward pass already run (tests, benchmarks). */
    public static PromptContext of(Transformer model, String prompt, ForwardTrace trace) {
        return new PromptContext(model, prompt, null, trace.ids(), trace, new LinkedHashMap<>());
    }

    public Transformer model() { return model; }

    public String prompt() { return prompt; }

    /** The prompt as the chat template wrote it (what {@link #ids} encode), or null for a plain prompt. */
    public String formattedPrompt() { return formattedPrompt; }

    /** The prompt's token ids, BOS included when the model adds one. */
    public int[] ids() { return ids; }

    /** Number of tokens. */
    public int n() { return ids.length; }

    /** The forward pass: activations, the frozen factors, y and the logits. */
    public ForwardTrace trace() { return trace; }

    /**
     * The forward pass with the activations the ordinary Jacobian needs (run again once, keeping
     * them, when the first run did not: the pass is deterministic, so its numbers are the same).
     */
    public synchronized ForwardTrace traceWithActivations() {
        if (trace.activations() == null) {
            long t0 = System.nanoTime();
            trace = new ForwardPass(model).keepActivations(true).run(ids);
            times.merge("forward", Vectors.ms(t0), Double::sum);
        }
        return trace;
    }

    /** The prediction's top 5. */
    public synchronized Prediction prediction() {
        if (prediction == null) prediction = Prediction.of(model, trace, 5);
        return prediction;
    }

    public ModelInfo modelInfo() { return ModelInfo.of(model); }

    public List<TokenInfo> tokens() { return TokenInfo.of(model, ids); }

    /**
     * The timings so far (load, forward); an analysis copies them into its own and adds its stages.
     */
    public Map<String, Double> times() { return new LinkedHashMap<>(times); }
}
