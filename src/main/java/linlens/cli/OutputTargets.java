package linlens.cli;

import linlens.model.InputException;
import linlens.report.NpyExport;
import linlens.report.OutputFiles;

import java.nio.file.Path;

/** The checks of a command's output targets (--json, --report, --export), all before any work. */
final class OutputTargets {
    private OutputTargets() {}

    /** Any of the targets may be null (not asked for). */
    static void check(Path json, Path report, Path export) {
        Path j = json == null ? null : OutputFiles.checkFile(json);
        Path r = report == null ? null : OutputFiles.checkFile(report);
        Path e = export == null ? null : NpyExport.checkTarget(export);
        if (j != null && j.equals(r)) throw new InputException("--json and --report name the same file " + json);
        if (e != null && (e.equals(j) || e.equals(r)))
            throw new InputException("--export names the same path as " + (e.equals(j) ? "--json" : "--report") + ": " + export);
    }
}
