package linlens.cli;

import linlens.model.InputException;
import linlens.model.Transformer;

/**
 * Range checks of numeric options, each failing with one line that names the option, the value
 * and the allowed range, for the tools' options (bench, serve). The analyses' options are
 * checked by linlens.analysis.ParamSpec.
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
}
