package linlens.scan;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static linlens.scan.ScanTesting.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * A scan killed with SIGKILL (no shutdown hook runs) at two moments and resumed ends with every
 * row exactly once and the same numbers, to the bit, as a scan that ran through. Each scan runs
 * in a child JVM on this test's class path, with one BLAS thread.
 */
class ScanResumeTest {
    @TempDir Path dir;

    static final int ROWS = 12;

    private List<String> command(Path data, Path out, boolean resume) {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-Xmx1g", "-cp", System.getProperty("java.class.path"), "linlens.cli.Main",
                "scan", "--model", tinyModel().toString(), "--dataset", data.toString(), "--out", out.toString(),
                "--analyses", "decompose,attribute,layers", "--k", "2", "--threads", "1", "--batch", "1", "--quiet"));
        if (resume) cmd.add("--resume");
        return cmd;
    }

    private static long parts(Path out) throws Exception {
        Path p = out.resolve("parts");
        if (!Files.isDirectory(p)) return 0;
        try (var s = Files.list(p)) {
            return s.filter(f -> f.getFileName().toString().startsWith("part-")).count();
        }
    }

    /** Starts the scan and kills it (SIGKILL) once it has committed {@code atParts} parts; false if it finished first. */
    private boolean killAfter(List<String> cmd, Path out, long atParts) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve("child.log").toFile()).start();
        try {
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
            while (p.isAlive() && parts(out) < atParts && System.nanoTime() < deadline) Thread.sleep(2);
            if (!p.isAlive()) return false;
            p.destroyForcibly();
            assertTrue(p.waitFor(1, TimeUnit.MINUTES));
            return true;
        } finally {
            p.destroyForcibly();
        }
    }

    private void runToEnd(List<String> cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve("child.log").toFile()).start();
        assertTrue(p.waitFor(5, TimeUnit.MINUTES), "child finished");
        assertEquals(0, p.exitValue(), Files.readString(dir.resolve("child.log")));
    }

    @Test
    void killedTwiceAndResumedEqualsOneRun() throws Exception {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < ROWS; i++) b.append("prompt number ").append(i).append(" is about the ").append("bridge ".repeat(i % 4)).append('\n');
        Path data = Files.writeString(dir.resolve("d.txt"), b.toString());
        Path whole = dir.resolve("whole"), killed = dir.resolve("killed");

        runToEnd(command(data, whole, false));
        var expected = withoutTimings(rows(whole));
        assertEquals(ROWS, expected.size());

        assertTrue(killAfter(command(data, killed, false), killed, 2), "killed mid-way");
        long first = rows(killed).size();
        assertTrue(first >= 2 && first < ROWS, "rows after the first kill: " + first);
        assertTrue(killAfter(command(data, killed, true), killed, first + 3), "killed mid-way again");
        long second = rows(killed).size();
        assertTrue(second > first && second < ROWS, "rows after the second kill: " + second);

        // what a kill during a part's write leaves: a hidden temporary, ignored and removed on resume
        Path stale = killed.resolve("parts").resolve(".part-0-000999.parquet.0123456789ab.tmp");
        Files.writeString(stale, "half a parquet file");
        runToEnd(command(data, killed, true));
        assertFalse(Files.exists(stale));
        var got = withoutTimings(rows(killed));
        assertEquals(expected.keySet(), got.keySet());
        for (long i : expected.keySet()) assertEquals(expected.get(i), got.get(i), "row " + i);
    }
}
