package linlens.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import linlens.format.ModelFormatException;
import linlens.model.InputException;
import linlens.testing.RealModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.Writer;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static linlens.cli.CliErrorsTest.assertBadInput;
import static linlens.cli.CliErrorsTest.run;
import static org.junit.jupiter.api.Assertions.*;

/**
 * The command line's edges, in process on the tiny Gemma 3 fixture (d = 32, 6 layers, vocabulary
 * 300, context 256): help on every command, range checks of every numeric option before any
 * work, output targets that are not regular files, permissions of outputs, --threads, and the
 * error reporter itself.
 */
class CliHardeningTest {
    static final String TINY = "src/test/resources/reference/tiny/gemma3/model.gguf";
    @TempDir Path dir;

    // ---- help ----

    @Test
    void everyCommandHasHelpOnStdoutWithExitZero() {
        List<String> commands = List.of("decompose", "layers", "attribute", "steer", "predict", "tokenize", "models",
                "models fetch", "models list", "bench", "serve", "help");
        for (String command : commands)
            for (String flag : new String[]{"--help", "-h"}) {
                String[] args = (command + " " + flag).split(" ");
                var r = run(args);
                assertEquals(0, r.code(), command + " " + flag + ": " + r.err());
                assertTrue(r.out().contains("Usage: linlens " + command), command + " " + flag + ": " + r.out());
                assertEquals("", r.err(), command + " " + flag);
            }
    }

    @Test
    void everyCommandHasTheVersion() {
        for (String command : new String[]{"", "decompose", "models fetch", "serve"}) {
            String[] args = (command + " -V").strip().split(" ");
            var r = run(args);
            assertEquals(0, r.code(), r.err());
            assertEquals("linlens 0.1.0", r.out().strip(), command);
        }
    }

    @Test
    void steerHelpDoesNotAskForTheTarget() {
        var r = run("steer", "--help");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("--target"), r.out());
    }

    @Test
    void helpCommandPrintsASubcommandsUsage() {
        var r = run("help", "decompose");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().startsWith(linlens.analysis.Analyses.byName("decompose").summary() + "\nUsage: linlens decompose")
                || r.out().startsWith(linlens.analysis.Analyses.byName("decompose").summary() + "\r\nUsage: linlens decompose"), r.out());
        assertTrue(r.out().contains("--components"), r.out());
        assertBadInput(run("help", "nosuch"), "Unknown subcommand 'nosuch'");
    }

    @Test
    void noArgumentsPrintsTheCommandsAndWhereToStartWithExitTwo() {
        var r = run();
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().startsWith("Usage: linlens"), r.err());
        assertTrue(r.err().contains("Commands:") && r.err().contains("decompose") && r.err().contains("help"), r.err());
        assertTrue(r.err().strip().endsWith(Main.START_WITH), r.err());
        assertEquals("", r.out());
        assertEquals(0, run("--help").code(), "asking for the usage is not an error");
    }

    /** The command list: one whole summary per command, nothing cut off mid-sentence. */
    @Test
    void theCommandListGivesEachCommandAWholeLine() {
        String help = run("--help").out();
        List<String> list = help.lines().dropWhile(l -> !l.equals("Commands:")).skip(1).takeWhile(l -> !l.isBlank()).toList();
        var commands = Main.commandLine(new java.io.PrintWriter(java.io.Writer.nullWriter()), new java.io.PrintWriter(java.io.Writer.nullWriter()), false)
                .getSubcommands();
        // the help command is picocli's own, and says so in its own line
        assertEquals(commands.size(), list.size(), "one line per command:\n" + String.join("\n", list));
        for (String line : list) {
            assertTrue(line.length() <= 80, "fits 80 columns: " + line);
            String name = line.strip().split(" +")[0], text = line.strip().substring(name.length()).strip();
            var usage = commands.get(name).getCommandSpec().usageMessage();
            String whole = usage.header().length > 0 ? usage.header()[0] : usage.description()[0];
            assertEquals(whole, text, name + ": the listed text is the command's whole summary");
        }
    }

    // ---- numeric options: one line naming option, value and range, before any work ----

    @Test
    void countsAboveTheModelsWidthOrVocabularyAreRefused() {
        // one line on stderr: no "decomposing ..." progress line, so refused before the computation
        assertBadInput(run("decompose", "--model", TINY, "--components", "33"), "--components 33 out of range 1..32 (the model's hidden size)");
        assertBadInput(run("decompose", "--model", TINY, "--components", "2147483647"), "--components 2147483647 out of range 1..32");
        assertBadInput(run("decompose", "--model", TINY, "--top", "301"), "--top 301 out of range 1..300 (the model's vocabulary size)");
        assertBadInput(run("decompose", "--model", TINY, "--top", "2147483647"), "--top 2147483647 out of range 1..300");
        assertBadInput(run("decompose", "--model", TINY, "--top", "0"), "--top must be at least 1 (got 0)");
        assertBadInput(run("decompose", "--model", TINY, "--components", "-1"), "--components must be at least 1 (got -1)");
        assertBadInput(run("decompose", "--model", TINY, "--matrix-free", "--k", "33"), "--k 33 out of range 1..32");
        assertBadInput(run("layers", "--model", TINY, "--components", "33"), "--components 33 out of range 1..32");
        assertBadInput(run("layers", "--model", TINY, "--top", "2147483647"), "--top 2147483647 out of range 1..300");
        assertBadInput(run("predict", "--model", TINY, "--top", "301"), "--top 301 out of range 1..300");
        assertBadInput(run("predict", "--model", TINY, "--top", "-5"), "--top must be at least 1 (got -5)");
    }

    @RealModel
    @Test
    void countsInRangeThatCannotFitAreRefusedBeforeTheWork() {
        // Gemma 3 270M: every pair of 2 positions decoded to the whole vocabulary is ~200 GB of tokens
        String gemma = linlens.testing.TestModels.gemmaPath().toString();
        assertBadInput(run("decompose", "--model", gemma, "--prompt", "Hi", "--components", "640", "--top", "262144"),
                "--components 640 with --top 262144 decode 6400 vectors to about");
        assertBadInput(run("layers", "--model", gemma, "--prompt", "Hi", "--components", "640", "--top", "262144"),
                "lower --components or --top");
    }

    @Test
    void layersAndTokenIdsOutsideTheModelAreRefused() {
        assertBadInput(run("layers", "--model", TINY, "--layers", "1,6"), "--layers: layer 6 out of range 0..5 (the model has 6 layers)");
        assertBadInput(run("layers", "--model", TINY, "--layers", "-1"), "layer -1 out of range 0..5");
        assertBadInput(run("layers", "--model", TINY, "--layers", "2147483647"), "layer 2147483647 out of range 0..5");
        assertBadInput(run("steer", "--model", TINY, "--target", "hi", "--layer", "6"), "--layer: layer 6 out of range 0..5");
        assertBadInput(run("steer", "--model", TINY, "--target", "hi", "--layer", "-1"), "--layer must be at least 0 (got -1)");
        assertBadInput(run("attribute", "--model", TINY, "--token-id", "300"), "--token-id 300 out of range 0..299 (the model's vocabulary)");
        assertBadInput(run("attribute", "--model", TINY, "--token-id", "-1"), "--token-id must be at least 0 (got -1)");
    }

    @Test
    void steeringStrengthAndLengthAreBounded() {
        for (String s : new String[]{"NaN", "Infinity", "-Infinity"})
            assertBadInput(run("steer", "--model", TINY, "--target", "hi", "--strength", s), "--strength " + s + " out of range: must be a finite number");
        assertBadInput(run("steer", "--model", TINY, "--target", "hi", "--tokens", "0"), "--tokens 0 out of range 1..512");
        assertBadInput(run("steer", "--model", TINY, "--target", "hi", "--tokens", "2147483647"), "--tokens 2147483647 out of range 1..512");
        // the tiny model's context is 256 tokens
        assertBadInput(run("steer", "--model", TINY, "--target", "hi", "--tokens", "300"), "--tokens 300 out of range 1..");
    }

    @Test
    void benchCountsAreBounded() {
        assertBadInput(run("bench", "--model", TINY, "--repeats", "0"), "--repeats 0 out of range 1..1000");
        assertBadInput(run("bench", "--model", TINY, "--repeats", "2147483647"), "--repeats 2147483647 out of range 1..1000");
        assertBadInput(run("bench", "--model", TINY, "--warmup", "-1"), "--warmup -1 out of range 0..1000");
        assertBadInput(run("bench", "--model", TINY, "--k", "0"), "--k must be at least 1 (got 0)");
        assertBadInput(run("bench", "--model", TINY, "--k", "33"), "--k 33 out of range 1..32");
        assertBadInput(run("bench", "--model", TINY, "--tokens", "0"), "--tokens must be at least 1 (got 0)");
    }

    @Test
    void serveCountsAreBoundedBeforeItListens() {
        assertBadInput(run("serve", "--port", "65536"), "--port 65536 out of range 0..65535");
        assertBadInput(run("serve", "--port", "0", "--queue", "-1"), "--queue -1 out of range 0..1000");
        assertBadInput(run("serve", "--port", "0", "--queue", "2147483647"), "--queue 2147483647 out of range 0..1000");
        assertBadInput(run("serve", "--port", "0", "--max-tokens", "0"), "--max-tokens 0 out of range 1..65536");
        assertBadInput(run("serve", "--port", "0", "--threads", "0"), "--threads 0 out of range 1..1024");
    }

    @Test
    void valuesThatAreNotNumbersFailInTheParser() {
        assertBadInput(run("decompose", "--components", "99999999999"), "Invalid value for option '--components'");
        assertBadInput(run("layers", "--layers", "1,x"), "Invalid value for option '--layers'");
        assertBadInput(run("steer", "--target", "t", "--strength", "strong"), "Invalid value for option '--strength'");
        assertBadInput(run("decompose", "--threads", "many"), "Invalid value for option '--threads'");
    }

    // ---- --threads ----

    @Test
    void threadsIsBounded() {
        assertBadInput(run("decompose", "--model", TINY, "--threads", "0"), "--threads 0 out of range 1..1024");
        assertBadInput(run("predict", "--model", TINY, "--threads", "1025"), "--threads 1025 out of range 1..1024");
    }

    @Test
    void sameThreadsSameBits() throws Exception {
        JsonNode a = decomposeTiny("a.json", "--threads", "1"), b = decomposeTiny("b.json", "--threads", "1");
        ((com.fasterxml.jackson.databind.node.ObjectNode) a).remove("timings_ms");
        ((com.fasterxml.jackson.databind.node.ObjectNode) b).remove("timings_ms");
        assertEquals(a, b, "same machine, --threads and precision: identical output");
        decomposeTiny("c.json", "--threads", "2"); // accepted
    }

    private JsonNode decomposeTiny(String name, String... extra) throws Exception {
        Path json = dir.resolve(name);
        String[] base = {"decompose", "--quiet", "--model", TINY, "--prompt", "hello world", "--components", "3", "--top", "3",
                "--json", json.toString()};
        String[] args = java.util.stream.Stream.concat(java.util.Arrays.stream(base), java.util.Arrays.stream(extra)).toArray(String[]::new);
        var r = run(args);
        assertEquals(0, r.code(), r.err());
        return new ObjectMapper().readTree(json.toFile());
    }

    // ---- output targets ----

    @Test
    void deviceNodesAreNeverReplaced() throws Exception {
        Path link = Files.createSymbolicLink(dir.resolve("null-link.json"), Path.of("/dev/null"));
        for (String option : new String[]{"--json", "--report"}) {
            for (String target : new String[]{"/dev/null", link.toString()})
                assertBadInput(run("decompose", "--model", TINY, option, target), "not a regular file");
        }
        assertBadInput(run("decompose", "--model", TINY, "--export", "/dev/null"), "not a folder");
        assertBadInput(run("decompose", "--model", TINY, "--export", link.toString()), "not a folder");
        assertTrue(Files.readAttributes(Path.of("/dev/null"), BasicFileAttributes.class).isOther(), "/dev/null is still a device");
        assertTrue(Files.isSymbolicLink(link), "the link is left as it was");
        Files.delete(link); // JUnit warns about links out of its folder
    }

    @Test
    void fifosAndSocketsAreNeverReplaced() throws Exception {
        Path fifo = dir.resolve("fifo.json");
        Process p = new ProcessBuilder("mkfifo", fifo.toString()).start();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0, "mkfifo");
        assertBadInput(run("attribute", "--model", TINY, "--json", fifo.toString()), "not a regular file");
        assertBadInput(run("layers", "--model", TINY, "--export", fifo.toString()), "not a folder");
        assertTrue(Files.readAttributes(fifo, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).isOther(), "still a FIFO");
        Path socket = dir.resolve("sock.json");
        try (var server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(socket));
            assertBadInput(run("steer", "--model", TINY, "--target", "x", "--report", socket.toString()), "not a regular file");
            assertTrue(Files.readAttributes(socket, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).isOther(), "still a socket");
        }
    }

    @Test
    void standardStreamsAndProcAreRefused() {
        assertBadInput(run("decompose", "--model", TINY, "--json", "/dev/stdout"), "cannot write /dev/stdout");
        assertBadInput(run("decompose", "--model", TINY, "--json", "/proc/self/linlens.json"), "/proc holds process files");
        assertBadInput(run("decompose", "--model", TINY, "--export", "/proc/linlens-arrays"), "/proc holds process files");
    }

    @Test
    void aFolderThatTakesNoNewFilesIsFoundBeforeTheWork() {
        // sysfs refuses new files even to root (a chmod'ed folder would not stop root)
        if (!Files.isDirectory(Path.of("/sys/kernel"))) return;
        assertBadInput(run("decompose", "--model", TINY, "--json", "/sys/kernel/linlens.json"), "cannot create files in /sys/kernel");
        assertBadInput(run("decompose", "--model", TINY, "--report", "/sys/kernel/linlens.html"), "cannot create files in /sys/kernel");
        assertBadInput(run("decompose", "--model", TINY, "--export", "/sys/kernel/linlens-arrays"), "cannot create files in /sys/kernel");
    }

    @Test
    void oneFileForJsonAndReportIsRefused() {
        String same = dir.resolve("x.out").toString();
        assertBadInput(run("decompose", "--model", TINY, "--json", same, "--report", same), "--json and --report name the same file");
        try (var s = Files.list(dir)) {
            assertEquals(0, s.count(), "the probes left nothing");
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void aSymbolicLinkToARegularFileHasThatFileReplaced() throws Exception {
        Path real = Files.writeString(dir.resolve("real.json"), "old");
        Path link = Files.createSymbolicLink(dir.resolve("link.json"), real.getFileName());
        decomposeTiny("link.json");
        assertTrue(Files.isSymbolicLink(link), "the link stays a link");
        assertTrue(Files.readString(real).contains("\"reconstruction\""), "the file it names has the result");
    }

    @Test
    void outputsFollowTheUmaskAndReplacedFilesKeepTheirPermissions() throws Exception {
        // what this process's umask gives a new file and folder
        Path refFile = Files.createFile(dir.resolve("ref-file")), refDir = Files.createDirectory(dir.resolve("ref-dir"));
        var fileMode = Files.getPosixFilePermissions(refFile);
        var dirMode = Files.getPosixFilePermissions(refDir);
        Path json = dir.resolve("new.json"), report = dir.resolve("old.html"), export = dir.resolve("arrays");
        Files.writeString(report, "old");
        var kept = PosixFilePermissions.fromString("rw-r-----");
        Files.setPosixFilePermissions(report, kept);
        var r = run("decompose", "--quiet", "--model", TINY, "--prompt", "hi", "--components", "1", "--top", "1",
                "--json", json.toString(), "--report", report.toString(), "--export", export.toString());
        assertEquals(0, r.code(), r.err());
        assertEquals(fileMode, Files.getPosixFilePermissions(json), "a new file gets the umask's permissions");
        assertEquals(kept, Files.getPosixFilePermissions(report), "a replaced file keeps its own");
        assertEquals(dirMode, Files.getPosixFilePermissions(export), "an export folder gets the umask's permissions");
        assertEquals(fileMode, Files.getPosixFilePermissions(export.resolve("manifest.json")));
        assertEquals(fileMode, Files.getPosixFilePermissions(export.resolve("jacobian.npy")));
        try (var s = Files.list(dir)) {
            assertEquals(0, s.filter(p -> p.getFileName().toString().startsWith(".")).count(), "no temporary left");
        }
    }

    // ---- the reporter ----

    static String report(Throwable t, boolean verbose, int expectedCode) {
        StringWriter err = new StringWriter();
        assertEquals(expectedCode, Main.report(t, new PrintWriter(err, true), verbose));
        return err.toString();
    }

    @Test
    void wrappedBadInputIsStillBadInput() {
        String line = report(new RuntimeException(new java.util.concurrent.ExecutionException(new InputException("no such token"))), false, 2);
        assertEquals("linlens: no such token", line.strip());
        assertEquals("linlens: bad.gguf: truncated", report(new ModelFormatException("bad.gguf: truncated"), false, 2).strip());
    }

    @Test
    void errorsAreOneLineWithExitOne() {
        assertEquals(Main.OUT_OF_MEMORY, report(new OutOfMemoryError("Java heap space"), false, 1).strip());
        assertEquals(Main.STACK_OVERFLOW, report(new StackOverflowError(), false, 1).strip());
        String internal = report(new IllegalStateException("LAPACK sgesdd failed with info=3\nmore"), false, 1);
        assertEquals("linlens: error: LAPACK sgesdd failed with info=3 (--verbose shows the stack trace)", internal.strip());
        assertTrue(report(new IllegalStateException("x"), true, 1).contains("\tat "), "--verbose: the trace");
    }

    @Test
    void theReporterNeverThrows() {
        Writer broken = new Writer() {
            @Override public void write(char[] c, int o, int l) { throw new OutOfMemoryError("still none"); }
            @Override public void flush() {}
            @Override public void close() {}
        };
        assertEquals(1, Main.report(new OutOfMemoryError(), new PrintWriter(broken), true));
        assertEquals(2, Main.report(new InputException("x"), new PrintWriter(broken), false));
    }
}
