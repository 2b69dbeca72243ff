package linlens.cli;

import linlens.model.Progress;

import java.io.PrintWriter;

/**
 * Progress of long CLI work on stderr: a bar redrawn in place on a terminal, plain lines
 * otherwise (one per quarter of each stage), nothing when quiet.
 */
final class ConsoleProgress implements Progress {
    private static final int BAR = 30;

    private final PrintWriter err;
    private final boolean terminal;
    private String stage = "";
    private long shown = -1;

    ConsoleProgress(PrintWriter err, boolean terminal) {
        this.err = err;
        this.terminal = terminal;
    }

    /** The progress for this process's stderr: a bar when it is a terminal. */
    static Progress of(PrintWriter err, boolean quiet) {
        if (quiet) return Progress.NONE;
        var console = System.console();
        return new ConsoleProgress(err, console != null && console.isTerminal());
    }

    @Override
    public void update(String stage, long done, long total) {
        long percent = total <= 0 ? 0 : 100 * done / total;
        if (!stage.equals(this.stage)) {
            this.stage = stage;
            shown = -1;
        }
        long mark = terminal ? percent : percent / 25;
        if (mark == shown) return;
        shown = mark;
        if (terminal) {
            int filled = (int) (BAR * percent / 100);
            err.printf("\r%-9s [%s%s] %3d%% %d/%d", stage, "#".repeat(filled), " ".repeat(BAR - filled), percent, done, total);
            if (done >= total) err.println();
        } else {
            err.printf("%s: %d/%d (%d%%)%n", stage, done, total, percent);
        }
        err.flush();
    }
}
