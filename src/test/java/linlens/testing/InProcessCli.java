package linlens.testing;

import linlens.cli.Main;

import java.io.PrintWriter;
import java.io.StringWriter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The command line run in this JVM, its exit code and what it printed; the bad-input check every CLI test shares. */
public final class InProcessCli {
    private InProcessCli() {}

    public record Run(int code, String out, String err) {}

    public static Run run(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = Main.execute(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Run(code, out.toString(), err.toString());
    }

    /** Bad input: exit 2, one line on stderr starting "linlens: " and naming the problem, no stack trace. */
    public static void assertBadInput(Run r, String expected) {
        assertEquals(2, r.code(), "exit code; stderr: " + r.err());
        assertEquals(1, r.err().strip().lines().count(), "one line expected, got: " + r.err());
        assertTrue(r.err().startsWith("linlens: "), r.err());
        assertTrue(r.err().contains(expected), "expected '" + expected + "' in: " + r.err());
        assertFalse(r.err().contains("\tat "), "no stack trace without --verbose");
    }
}
