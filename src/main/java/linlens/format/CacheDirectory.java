package linlens.format;

import java.nio.file.Path;

/**
 * Where Linear Lens keeps what it fetches and remembers: {@code $LINLENS_MODELS}, default
 * {@code ~/.cache/linlens/models}, and for the built-in datasets {@code $LINLENS_DATASETS}, default
 * {@code ~/.cache/linlens/datasets}, and for the concepts made with {@code linlens concepts make}
 * {@code $LINLENS_CONCEPTS}, default {@code ~/.cache/linlens/concepts}. Here, below the packages that use it (the model cache, the
 * tokenizer probe's record of checked files), so that neither depends on the other.
 */
public final class CacheDirectory {
    private CacheDirectory() {}

    public static Path models() { return models(System.getenv()); }

    /** The model cache that {@code env} (an environment: tests pass their own) chooses. */
    public static Path models(java.util.Map<String, String> env) {
        String dir = env.get("LINLENS_MODELS");
        return dir != null && !dir.isBlank() ? Path.of(dir) : Path.of(System.getProperty("user.home"), ".cache", "linlens", "models");
    }

    public static Path datasets() {
        String env = System.getenv("LINLENS_DATASETS");
        return env != null && !env.isBlank() ? Path.of(env) : Path.of(System.getProperty("user.home"), ".cache", "linlens", "datasets");
    }

    public static Path concepts() {
        String env = System.getenv("LINLENS_CONCEPTS");
        return env != null && !env.isBlank() ? Path.of(env) : Path.of(System.getProperty("user.home"), ".cache", "linlens", "concepts");
    }
}
