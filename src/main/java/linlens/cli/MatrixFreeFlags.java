package linlens.cli;

import linlens.model.InputException;

import java.nio.file.Path;

/** The flag combinations of --matrix-free that the commands refuse, before any work. */
final class MatrixFreeFlags {
    private MatrixFreeFlags() {}

    /**
     * --k needs --matrix-free; --export and --report need the materialized J (the export writes
     * it, the report draws it and the stable ranks that need every singular value).
     */
    static void check(boolean matrixFree, Integer k, Path export, Path report) {
        if (!matrixFree) {
            if (k != null) throw new InputException("--k sets the matrix-free top-k: use it with --matrix-free");
            return;
        }
        if (k != null) Bounds.atLeast("--k", k, 1);
        if (export != null) throw new InputException("--export writes the full Jacobians, which --matrix-free never forms");
        if (report != null)
            throw new InputException("--report draws the full Jacobians and spectra, which --matrix-free never forms: use --json");
    }

    /** A top-k larger than the model's width d has no meaning (J has d rows). */
    static void checkK(Integer k, int d) {
        if (k != null && k > d) throw new InputException("--k " + k + " out of range 1.." + d + " (the model's hidden size)");
    }
}
