package linlens.testing;

import linlens.format.GgufFile;
import linlens.model.ModelCache;
import linlens.model.ModelLoader;
import linlens.model.Transformer;
import linlens.tokenizer.Tokenizer;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The real models the tests run on: Gemma 3 270M (the demo model) and Qwen2.5-Coder 0.5B Instruct
 * (a second family, Qwen 2, with q/k/v biases). A missing file fails the test loudly (never a
 * skip): bin/test fetches both first with {@code linlens models fetch NAME}.
 */
public final class TestModels {
    public static final Path GEMMA3_270M = Path.of(System.getenv().getOrDefault("LINLENS_GEMMA3_270M",
            ModelCache.dir().resolve("gemma-3-270m.gguf").toString()));
    public static final String SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818";

    public static final Path QWEN_CODER_05B = Path.of(System.getenv().getOrDefault("LINLENS_QWEN25_CODER_05B",
            ModelCache.dir().resolve("qwen2.5-coder-0.5b.gguf").toString()));
    public static final String QWEN_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32";

    private static Tokenizer tokenizer;
    private static Transformer gemma, qwen;

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

    public static Path qwenPath() {
        if (!Files.isRegularFile(QWEN_CODER_05B))
            throw new AssertionError("Qwen2.5-Coder 0.5B model file not found at " + QWEN_CODER_05B
                    + ": run 'bin/linlens models fetch qwen2.5-coder-0.5b' (bin/test does) or set LINLENS_QWEN25_CODER_05B");
        return QWEN_CODER_05B;
    }

    /** Qwen2.5-Coder 0.5B Instruct, loaded once per test JVM (its mapping stays open). */
    public static synchronized Transformer qwen() {
        if (qwen == null) qwen = ModelLoader.load(qwenPath());
        return qwen;
    }
}
