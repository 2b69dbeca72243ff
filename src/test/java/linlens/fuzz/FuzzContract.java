package linlens.fuzz;

import linlens.format.ModelFormatException;
import linlens.model.InputException;

/**
 * The contract every fuzz target checks: code fed a bad input may return normally or throw
 * {@link ModelFormatException} / {@link InputException} (which the CLI turns into one line and
 * exit 2). Any other throwable escapes to Jazzer and is a finding.
 */
final class FuzzContract {
    private FuzzContract() {}

    interface Body {
        void run() throws Exception;
    }

    /** Runs {@code body}; the two bad-input exceptions end it quietly, anything else propagates. */
    static void expectBadInputOnly(Body body) throws Exception {
        try {
            body.run();
        } catch (ModelFormatException | InputException expected) {
            // the documented outcome for a bad input
        }
    }
}
