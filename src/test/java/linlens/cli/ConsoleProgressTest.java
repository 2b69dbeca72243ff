package linlens.cli;

import linlens.model.Progress;
import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;

import static org.junit.jupiter.api.Assertions.*;

/** CLI progress: plain lines off a terminal, an in-place bar on one, nothing when quiet. */
class ConsoleProgressTest {
    static String drive(Progress p, StringWriter sink) {
        for (int i = 0; i <= 640; i += 16) p.update("jacobian", i, 640);
        for (int t = 1; t <= 3; t++) p.update("svd", t, 3);
        return sink.toString();
    }

    @Test
    void plainLinesAtEachQuarter() {
        StringWriter s = new StringWriter();
        String out = drive(new ConsoleProgress(new PrintWriter(s), false), s);
        assertEquals(String.join("\n",
                "jacobian: 0/640 (0%)", "jacobian: 160/640 (25%)", "jacobian: 320/640 (50%)", "jacobian: 480/640 (75%)",
                "jacobian: 640/640 (100%)", "svd: 1/3 (33%)", "svd: 2/3 (66%)", "svd: 3/3 (100%)", ""), out.replace("\r\n", "\n"));
        assertFalse(out.contains("\r"));
    }

    @Test
    void aBarRedrawnInPlaceOnATerminal() {
        StringWriter s = new StringWriter();
        String out = drive(new ConsoleProgress(new PrintWriter(s), true), s);
        assertTrue(out.contains("\rjacobian  [###############               ]  50% 320/640"), out);
        assertEquals(2, out.chars().filter(c -> c == '\n').count(), "one finished line per stage");
    }

    @Test
    void elapsedTimeAndTimeLeftOnceAStageTakesASecond() {
        StringWriter s = new StringWriter();
        long[] now = {0};
        // site i is done 0.4·i s after the stage began: the rate so far gives the time left
        ConsoleProgress p = new ConsoleProgress(new PrintWriter(s), false, () -> now[0]);
        for (int i = 0; i <= 100; i += 5) {
            now[0] = i * 400_000_000L;
            p.update("sites", i, 100);
        }
        String out = s.toString().replace("\r\n", "\n");
        assertTrue(out.startsWith("sites: 0/100 (0%)\n"), out);
        // 25 sites in 10 s; 75 more at that rate: 30 s
        assertTrue(out.contains("sites: 25/100 (25%)  10 s, about 30 s left\n"), out);
        assertTrue(out.contains("sites: 100/100 (100%)  40 s\n"), out);
        assertEquals("3.0 s", ConsoleProgress.time(3, 2, 2).strip(), "finished: no time left");
        assertEquals("3.0 s", ConsoleProgress.time(3, 1, 20).strip(), "under a tenth done: too early to tell");
        assertEquals("", ConsoleProgress.time(0.5, 1, 2), "under a second: nothing");
        assertEquals("320/640", ConsoleProgress.counts(320, 640));
        assertEquals("393k/1572k", ConsoleProgress.counts(393_216, 1_572_864), "vocabulary rows in thousands");
        assertEquals("2 min 05 s, about 6 min 15 s left", ConsoleProgress.time(125, 1, 4).strip());
    }

    @Test
    void nothingWhenQuiet() {
        StringWriter s = new StringWriter();
        assertEquals("", drive(ConsoleProgress.of(new PrintWriter(s), true), s));
    }
}
