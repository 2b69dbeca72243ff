package linlens.scan;

import linlens.testing.InProcessCli;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static linlens.scan.ScanTesting.*;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * --engine and --master in the core, where no other engine is on the class path: each refusal is one
 * line and exit 2, before anything is written. (The Spark engine itself is tested in spark/.)
 */
class ScanEngineOptionsTest {
    @TempDir Path dir;

    private InProcessCli.Run scan(String... more) throws Exception {
        Path data = Files.writeString(dir.resolve("d.txt"), "Hello world\n");
        String[] base = {"scan", "--model", tinyModel().toString(), "--dataset", data.toString(), "--out", dir.resolve("out").toString(), "--quiet"};
        String[] all = new String[base.length + more.length];
        System.arraycopy(base, 0, all, 0, base.length);
        System.arraycopy(more, 0, all, base.length, more.length);
        return run(all);
    }

    @Test
    void sparkWithoutItsModuleSaysHowToBuildIt() throws Exception {
        assertBadInput(scan("--engine", "spark"), "--engine spark: the Spark module is not on the class path");
        assertFalse(Files.exists(dir.resolve("out")));
    }

    @Test
    void unknownEngine() throws Exception {
        assertBadInput(scan("--engine", "flink"), "--engine 'flink': choose local or spark");
    }

    @Test
    void masterOnlyWithSpark() throws Exception {
        assertBadInput(scan("--master", "local[2]"), "--master: only with --engine spark");
    }

    @Test
    void resumeIsRefusedOnSpark() throws Exception {
        assertBadInput(scan("--engine", "spark", "--resume"), "--resume: not with --engine spark");
    }

    @Test
    void outThatIsNoPath() throws Exception {
        assertBadInput(run("scan", "--dataset", "x", "--out", "a\u0000b"), "--out a");
    }
}
