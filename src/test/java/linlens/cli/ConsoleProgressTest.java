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
    void nothingWhenQuiet() {
        StringWriter s = new StringWriter();
        assertEquals("", drive(ConsoleProgress.of(new PrintWriter(s), true), s));
    }
}
