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

    static void finite(String option, double value) {
        if (!Double.isFinite(value)) throw new InputException(option + " " + value + " out of range: must be a finite number");
    }
}
