package linlens.cli;

import linlens.testing.RealModel;
import linlens.testing.TestModels;
import linlens.testing.TinyGguf;
import linlens.testing.InProcessCli;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** Bad input: one line on stderr naming the problem, exit code 2, no stack trace unless --verbose. */
class CliErrorsTest {
    @TempDir Path dir;

    /** The shared in-process run ({@link InProcessCli}), named here as the CLI tests always have. */
    static InProcessCli.Run run(String... args) { return InProcessCli.run(args); }

    static void assertBadInput(InProcessCli.Run r, String expected) { InProcessCli.assertBadInput(r, expected); }

    @Test
    void missingModelFile() {
        assertBadInput(run("decompose", "--model", dir.resolve("missing.gguf").toString()), "not found");
    }

    @Test
    void unknownModelName() {
        assertBadInput(run("predict", "--model", "no-such-model"), "unknown model 'no-such-model'");
        assertBadInput(run("predict", "--model", "no-such-model"), "'linlens models list' shows the cached and fetchable models");
    }

    @Test
    void notAGguf() throws IOException {
        Path p = Files.writeString(dir.resolve("readme.gguf"), "hello, I am not a model");
        assertBadInput(run("decompose", "--model", p.toString()), "not a GGUF file");
    }

    @RealModel
    @Test
    void truncatedModel() throws IOException {
        Path p = dir.resolve("cut.gguf");
        try (InputStream in = Files.newInputStream(TestModels.gemmaPath())) {
            Files.write(p, in.readNBytes(100_000_000));
        }
        assertBadInput(run("decompose", "--model", p.toString()), "truncated");
    }

    @Test
    void unsupportedArchitecture() throws IOException {
        Path p = new TinyGguf().put("general.architecture", "mamba").write(dir.resolve("mamba.gguf"));
        assertBadInput(run("decompose", "--model", p.toString()), "unsupported architecture 'mamba'");
    }

    @Test
    void unknownTensorType() throws IOException {
        Path p = new TinyGguf().put("general.architecture", "gemma3")
                .tensor("token_embd.weight", new long[]{64, 4}, 77, new byte[512]).write(dir.resolve("q.gguf"));
        assertBadInput(run("decompose", "--model", p.toString()), "unknown tensor type 77");
    }

    @Test
    void tensorOutOfBounds() throws IOException {
        Path p = new TinyGguf().put("general.architecture", "gemma3")
                .tensorAt("token_embd.weight", new long[]{640, 1000}, 0, 0).write(dir.resolve("oob.gguf"));
        assertBadInput(run("decompose", "--model", p.toString()), "lies outside the file");
    }

    @RealModel
    @Test
    void emptyPrompt() {
        assertBadInput(run("decompose", "--model", TestModels.gemmaPath().toString(), "--prompt", ""), "empty prompt");
    }

    @RealModel
    @Test
    void promptLongerThanContext() {
        String prompt = " the".repeat(33_000);
        assertBadInput(run("predict", "--model", TestModels.gemmaPath().toString(), "--prompt", prompt),
                "prompt too long: 33001 tokens, the model's context is 32768");
    }

    @Test
    void unknownFlag() {
        assertBadInput(run("decompose", "--frobnicate"), "Unknown option: '--frobnicate'");
    }

    @Test
    void badPrecision() {
        assertBadInput(run("decompose", "--precision", "fp16"), "expected fp32 or fp64");
    }

    @RealModel
    @Test
    void badComponentCount() {
        assertBadInput(run("decompose", "--model", TestModels.gemmaPath().toString(), "--components", "0"), "--components");
    }

    @RealModel
    @Test
    void unwritableJsonTargetLeavesNothing() {
        Path target = dir.resolve("no/such/dir/out.json");
        assertBadInput(run("decompose", "--model", TestModels.gemmaPath().toString(), "--prompt", "Hi",
                "--components", "1", "--json", target.toString()), "no such directory");
        assertFalse(Files.exists(target));
    }

    @Test
    void verboseShowsTheStackTrace() {
        InProcessCli.Run r = run("decompose", "--verbose", "--model", dir.resolve("missing.gguf").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("\tat "), r.err());
    }
}
