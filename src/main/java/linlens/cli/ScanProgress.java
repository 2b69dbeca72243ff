package linlens.cli;

import linlens.scan.DatasetScan;

import java.io.PrintWriter;
import java.nio.file.Path;

/**
 * A dataset scan's progress on stderr: on a terminal a bar redrawn after each prompt, with
 * prompts done / total, prompts per minute and the time left; otherwise, and with
 * {@code --quiet}, one line per committed part.
 */
final class ScanProgress implements DatasetScan.Listener {
    private final PrintWriter err;
    private final boolean terminal;
    private long start, startDone;

    ScanProgress(PrintWriter err, boolean terminal) {
        this.err = err;
        this.terminal = terminal;
    }

    /** The bar when stderr is a terminal and not quiet; lines per part otherwise. */
    static ScanProgress of(PrintWriter err, boolean quiet) {
        var console = System.console();
        return new ScanProgress(err, !quiet && console != null && console.isTerminal());
    }

    @Override
    public void started(long total, long done) {
        start = System.nanoTime();
        startDone = done;
        err.printf("scan: %d prompts%s%n", total, done > 0 ? ", " + done + " already done" : "");
        err.flush();
    }

    @Override
    public void row(long done, long total) {
        if (!terminal) return;
        long percent = total <= 0 ? 100 : 100 * done / total;
        err.printf("\rscan %s %d/%d  %s\033[K", ConsoleProgress.bar(percent), done, total, rate(done, total));
        if (done >= total) err.println();
        err.flush();
    }

    @Override
    public void committed(Path part, int rows, long done, long total) {
        if (terminal) return;
        err.printf("scan: %d/%d prompts, %d rows committed to %s; %s%n", done, total, rows, part.getFileName(), rate(done, total));
        err.flush();
    }

    /** "12.3 prompts/min, 4 min 05 s left" from this run's pace (rows done before a resume left out). */
    private String rate(long done, long total) {
        double minutes = (System.nanoTime() - start) / 6e10;
        long now = done - startDone;
        if (now <= 0 || minutes <= 0) return "";
        double perMinute = now / minutes;
        return String.format("%.1f prompts/min, %s left", perMinute, ConsoleProgress.duration((total - done) / perMinute * 60));
    }
}
