package linlens.serve;

import linlens.format.ModelFormatException;
import linlens.model.ModelCache;
import linlens.model.ModelLoader;
import linlens.model.Transformer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The models a server offers, by name: the files given on its command line and whatever is in
 * the model cache. Clients name a model; they never give a path.
 */
final class ServedModels {
    private final Map<String, Path> given = new LinkedHashMap<>();
    private final Map<Path, Transformer> loaded = new HashMap<>();

    /** {@code models}: paths or cached names from the server's command line (resolved now, so typos fail at start). */
    ServedModels(List<String> models) {
        for (String m : models) {
            Path p = ModelCache.resolve(m).toAbsolutePath();
            given.put(nameOf(p), p);
        }
    }

    static String nameOf(Path p) { return p.getFileName().toString().replaceFirst("\\.gguf$", ""); }

    /** Name → file: the command line's models first, then the cache's (listed afresh each time). */
    Map<String, Path> available() {
        Map<String, Path> all = new LinkedHashMap<>(given);
        try {
            for (Path p : ModelCache.list())
                if (Files.isRegularFile(p)) all.putIfAbsent(nameOf(p), p.toAbsolutePath());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return all;
    }

    boolean isLoaded(Path p) {
        synchronized (loaded) { return loaded.containsKey(p); }
    }

    /** The named model, loaded once and kept (its file stays mapped). */
    Transformer load(String name) {
        Path p = available().get(name);
        if (p == null) throw new ApiException(404, "unknown model '" + name + "'");
        synchronized (loaded) {
            Transformer m = loaded.get(p);
            if (m != null) return m;
            try {
                m = ModelLoader.load(p);
            } catch (ModelFormatException | linlens.model.InputException e) {
                throw e;
            } catch (RuntimeException e) {
                // a file the loader did not foresee: still the file's fault, said in one line
                throw new ModelFormatException(p + ": cannot load this model (" + e.getClass().getSimpleName() + ")", e);
            }
            loaded.put(p, m);
            return m;
        }
    }
}
