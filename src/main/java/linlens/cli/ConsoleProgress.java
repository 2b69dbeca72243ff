package linlens.cli;

import linlens.model.Progress;

import java.io.PrintWriter;
import java.util.function.LongSupplier;

/**
 * Progress of long CLI work on stderr: a bar redrawn in place on a terminal, plain lines
 * otherwise (one per quarter of each stage), nothing when quiet. Each shows the stage's elapsed
 * time and, once a tenth is done, an estimate of the time left (a stage's units cost about the
 * same: sweeps, sites, vocabulary rows, bytes).
 */
final class ConsoleProgress implements Progress {
    private static final int BAR = 30;

    private final PrintWriter err;
    private final boolean terminal;
    private final LongSupplier clock;
    private String stage = "";
    private long shown = -1, stageStart;

    ConsoleProgress(PrintWriter err, boolean terminal) {
        this(err, terminal, System::nanoTime);
    }

    /** With a clock in nanoseconds (tests give a fixed one). */
    ConsoleProgress(PrintWriter err, boolean terminal, LongSupplier clock) {
        this.err = err;
        this.terminal = terminal;
        this.clock = clock;
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
            stageStart = clock.getAsLong();
        }
        long mark = terminal ? percent : percent / 25;
        if (mark == shown) return;
        shown = mark;
        String time = time((clock.getAsLong() - stageStart) / 1e9, done, total);
        if (terminal) {
            // \033[K clears what a longer previous line left
            err.printf("\r%-9s %s %3d%% %s%s\033[K", stage, bar(percent), percent, counts(done, total), time);
            if (done >= total) err.println();
        } else {
            err.printf("%s: %s (%d%%)%s%n", stage, counts(done, total), percent, time);
        }
        err.flush();
    }

    /** "320/640"; large counts in thousands ("393k/1573k": vocabulary rows, bytes). */
    static String counts(long done, long total) {
        if (total < 100_000) return done + "/" + total;
        return done / 1000 + "k/" + total / 1000 + "k";
    }

    /** "  12 s, about 30 s left" after the first second; the left part once a tenth is done and while unfinished. */
    static String time(double elapsed, long done, long total) {
        if (elapsed < 1) return "";
        String s = "  " + duration(elapsed);
        if (done < total && done * 10 >= total && total > 0) s += ", about " + duration(elapsed * (total - done) / done) + " left";
        return s;
    }

    /** A bar of {@value #BAR} cells filled to {@code percent}: "[#####     ]". */
    static String bar(long percent) {
        int filled = (int) (BAR * Math.clamp(percent, 0, 100) / 100);
        return "[" + "#".repeat(filled) + " ".repeat(BAR - filled) + "]";
    }

    /** A duration as people read it: "3.2 s", "45 s", "4 min 05 s", "2 h 10 min". */
    static String duration(double s) {
        if (s < 10) return String.format("%.1f s", s);
        if (s < 120) return String.format("%.0f s", s);
        if (s < 3600) return String.format("%d min %02d s", (long) s / 60, (long) s % 60);
        return String.format("%d h %02d min", (long) s / 3600, (long) s % 3600 / 60);
    }
}
