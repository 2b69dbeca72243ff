package linlens.spark;

import linlens.model.ModelCache;
import linlens.model.ModelLoader;
import linlens.model.Transformer;
import linlens.scan.DatasetScan;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The models of this JVM (an executor's, or the driver's under a local master), each loaded once
 * (memory-mapped) and shared by the tasks the JVM runs, keyed by how the driver named it and the
 * SHA-256 of the driver's copy, which the loaded file must have: a node whose file differs fails
 * its tasks instead of writing other numbers.
 */
final class ExecutorModels {
    private static final ConcurrentHashMap<String, Transformer> MODELS = new ConcurrentHashMap<>();

    private ExecutorModels() {}

    private static String key(String spec, String sha256) { return sha256 + " " + spec; }

    /** The driver's own model, so that a local master's tasks use it rather than load it again. */
    static void put(String spec, String sha256, Transformer model) { MODELS.putIfAbsent(key(spec, sha256), model); }

    /**
     * The model {@code spec} names: a path on storage every node sees, or a catalog name, fetched
     * into this node's cache when it is not there yet (as 'linlens models fetch' does).
     */
    static Transformer get(String spec, String sha256) {
        return MODELS.computeIfAbsent(key(spec, sha256), k -> {
            try {
                Path p;
                if (ModelCache.CATALOG.containsKey(spec) && !Files.exists(Path.of(spec))
                        && !Files.exists(ModelCache.dir().resolve(spec + ".gguf")))
                    p = ModelCache.fetch(spec, false, line -> {});
                else
                    p = ModelCache.resolve(spec);
                String found = DatasetScan.modelIdentity(p).get("sha256").asText();
                if (!found.equals(sha256))
                    throw new IllegalStateException("model " + spec + " on this node (" + p + ") has SHA-256 " + found
                            + ", the driver's has " + sha256);
                return ModelLoader.load(p);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while fetching " + spec, e);
            }
        });
    }
}
