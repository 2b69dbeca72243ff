package linlens.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static linlens.cli.CliErrorsTest.assertBadInput;
import static linlens.cli.CliErrorsTest.run;

/** Bad Hugging Face folders: one line naming the file and the problem, exit code 2. */
class HfFolderErrorsTest {
    static final Path TINY = Path.of("src/test/resources/reference/tiny");
    @TempDir Path dir;

    /** A copy of a tiny model's folder to break. */
    Path copy(String family) throws IOException {
        Path to = dir.resolve(family);
        Files.createDirectories(to);
        try (var files = Files.list(TINY.resolve(family).resolve("hf"))) {
            for (Path f : files.toList()) Files.copy(f, to.resolve(f.getFileName()));
        }
        return to;
    }

    void editConfig(Path folder, String from, String to) throws IOException {
        Path c = folder.resolve("config.json");
        String s = Files.readString(c);
        if (!s.contains(from)) throw new IllegalStateException("config.json lacks " + from);
        Files.writeString(c, s.replace(from, to));
    }

    @Test
    void unknownModelType() throws IOException {
        Path f = copy("llama3");
        editConfig(f, "\"model_type\": \"llama\"", "\"model_type\": \"gpt_neox\"");
        assertBadInput(run("predict", "--model", f.toString()),
                f.resolve("config.json") + ": unsupported model_type 'gpt_neox'");
    }

    @Test
    void missingShard() throws IOException {
        Path f = copy("ministral");
        Path shard;
        try (var files = Files.list(f)) {
            shard = files.filter(p -> p.getFileName().toString().startsWith("model-00002-of-")).findFirst().orElseThrow();
        }
        Files.delete(shard);
        assertBadInput(run("predict", "--model", f.toString()), shard + ": shard listed in model.safetensors.index.json is missing");
    }

    @Test
    void configDisagreesWithTensors() throws IOException {
        Path f = copy("qwen3");
        editConfig(f, "\"intermediate_size\": 48", "\"intermediate_size\": 64");
        assertBadInput(run("predict", "--model", f.toString()),
                "tensor model.layers.0.mlp.gate_proj.weight has 48 rows of 32, expected 64 rows of 32");
    }

    @Test
    void tokenizerMissing() throws IOException {
        Path f = copy("olmo2");
        Files.delete(f.resolve("tokenizer.json"));
        assertBadInput(run("predict", "--model", f.toString()), f.resolve("tokenizer.json") + ": tokenizer missing");
    }

    @Test
    void folderWithoutConfig() throws IOException {
        Path f = copy("olmo2");
        Files.delete(f.resolve("config.json"));
        assertBadInput(run("predict", "--model", f.toString()), f + ": not a model folder (no config.json)");
    }

    @Test
    void logitSoftcappingIsRefused() throws IOException {
        Path f = copy("gemma3");
        editConfig(f, "\"final_logit_softcapping\": null", "\"final_logit_softcapping\": 30.0");
        assertBadInput(run("predict", "--model", f.toString()),
                f.resolve("config.json") + ": final_logit_softcapping is not supported");
    }

    @Test
    void unsupportedRopeType() throws IOException {
        Path f = copy("qwen2");
        editConfig(f, "\"rope_type\": \"default\"", "\"rope_type\": \"yarn\"");
        assertBadInput(run("predict", "--model", f.toString()), "unsupported rope_type 'yarn'");
    }
}
