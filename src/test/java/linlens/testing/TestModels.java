package linlens.testing;

import linlens.format.GgufFile;
import linlens.model.ModelCache;
import linlens.model.ModelLoader;
import linlens.model.Transformer;
import linlens.tokenizer.Tokenizer;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The real Gemma 3 270M model the tests run on. A missing file fails the test loudly (never a
 * skip): bin/test fetches it first with {@code linlens models fetch gemma-3-270m}.
 */
public final class TestModels {
    public static final Path GEMMA3_270M = Path.of(System.getenv().getOrDefault("LINLENS_GEMMA3_270M",
            ModelCache.dir().resolve("gemma-3-270m.gguf").toString()));
    public static final String SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818";

    private static Tokenizer tokenizer;
    private static Transformer gemma;

    private TestModels() {}

    public static Path gemmaPath() {
        if (!Files.isRegularFile(GEMMA3_270M))
            throw new AssertionError("Gemma 3 270M model file not found at " + GEMMA3_270M
                    + ": run 'bin/linlens models fetch gemma-3-270m' (bin/test does) or set LINLENS_GEMMA3_270M");
        return GEMMA3_270M;
    }

    public static GgufFile open() { return GgufFile.open(gemmaPath()); }

    /** The model's tokenizer, loaded once per test JVM. */
    public static synchronized Tokenizer tokenizer() {
        if (tokenizer == null) {
            try (GgufFile g = open()) {
                tokenizer = Tokenizer.fromGguf(g); // copies what it needs out of the mapping
            }
        }
        return tokenizer;
    }

    /** The loaded model, once per test JVM (its mapping stays open). */
    public static synchronized Transformer gemma() {
        if (gemma == null) gemma = ModelLoader.load(gemmaPath());
        return gemma;
    }
}
