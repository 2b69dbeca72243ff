package linlens.tokenizer;

import linlens.format.GgufFile;

import java.nio.file.Files;
import java.nio.file.Path;

/** The real Gemma 3 270M model used by the tokenizer tests; a missing file fails the test. */
final class TestModel {
    static final Path PATH = Path.of(System.getenv().getOrDefault("LINLENS_GEMMA3_270M",
            Path.of(System.getProperty("user.home"), ".cache", "linlens", "models", "gemma-3-270m.gguf").toString()));
    static final String SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818";

    private static Tokenizer tokenizer;

    private TestModel() {}

    static GgufFile open() {
        if (!Files.isRegularFile(PATH))
            throw new AssertionError("Gemma 3 270M model file not found at " + PATH
                    + " (download gemma-3-270m.gguf there, or set LINLENS_GEMMA3_270M); the tokenizer tests need it");
        return GgufFile.open(PATH);
    }

    /** The model's tokenizer, loaded once per test JVM. */
    static synchronized Tokenizer tokenizer() {
        if (tokenizer == null) {
            try (GgufFile g = open()) {
                tokenizer = Tokenizer.fromGguf(g); // copies what it needs out of the mapping
            }
        }
        return tokenizer;
    }
}
