package linlens.cli;

import linlens.model.InputException;
import linlens.model.Transformer;

/**
 * Range checks of numeric options, each failing with one line that names the option, the value
 * and the allowed range. Bounds that need the model (width, vocabulary, depth) are checked right
 * after it loads, before any computation.
 */
final class Bounds {
    private Bounds() {}

    /** A lower bound known before the model loads. */
    static void atLeast(String option, long value, long min) {
        if (value < min) throw new InputException(option + " must be at least " + min + " (got " + value + ")");
    }

    static void within(String option, long value, long min, long max, String what) {
        if (value < min || value > max)
            throw new InputException(option + " " + value + " out of range " + min + ".." + max + (what == null ? "" : " (" + what + ")"));
    }

    /** Counts of singular pairs or top-k: J is d×d, so at most the hidden size d. */
    static void width(String option, long value, Transformer m) {
        within(option, value, 1, m.config().dim(), "the model's hidden size");
    }

    /** Tokens listed per vector: at most the whole vocabulary. */
    static void vocabCount(String option, long value, Transformer m) {
        within(option, value, 1, m.config().vocab(), "the model's vocabulary size");
    }

    static void tokenId(String option, long value, Transformer m) {
        within(option, value, 0, m.config().vocab() - 1L, "the model's vocabulary");
    }

    /** A 0-based layer index; the message keeps the words "layer L out of range". */
    static void layer(String option, int value, Transformer m) {
        int layers = m.config().layers();
        if (value < 0 || value >= layers)
            throw new InputException(option + ": layer " + value + " out of range 0.." + (layers - 1) + " (the model has " + layers + " layers)");
    }

    /** Heap bytes per decoded token in a result (record, text, id and list slots; measured order of magnitude). */
    static final long BYTES_PER_DECODED_TOKEN = 128;

    /**
     * Counts within range can still ask for more than the heap holds: {@code vectors} vectors each
     * decoded to {@code top} tokens. Refused before the computation when that needs more than half
     * the heap (the other half is for J and its SVD).
     */
    static void decodeMemory(long vectors, int components, int top) {
        double need = (double) vectors * top * BYTES_PER_DECODED_TOKEN, heap = Runtime.getRuntime().maxMemory();
        if (need > heap / 2)
            throw new InputException(String.format("--components %d with --top %d decode %d vectors to about %.1f GB of tokens, "
                    + "more than half the %.1f GB Java heap: lower --components or --top (or a larger -Xmx in LINLENS_JAVA_OPTS)",
                    components, top, vectors, need / 1e9, heap / 1e9));
    }

    static void finite(String option, double value) {
        if (!Double.isFinite(value)) throw new InputException(option + " " + value + " out of range: must be a finite number");
    }
}
