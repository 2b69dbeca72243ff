package linlens.serve;

import linlens.format.ModelFormatException;
import linlens.model.HfHubCache;
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
 * The models a server offers, by name: the files given on its command line, whatever is in the
 * model cache, and the models of the Hugging Face hub cache (by ORG/NAME). Clients name a model;
 * they never give a path.
 */
final class ServedModels {
    private final Map<String, Path> given = new LinkedHashMap<>();
    private final Map<Path, Transformer> loaded = new HashMap<>();
    private final Map<String, String> env;
    private final Path home;

    /** {@code models}: paths or cached names from the server's command line (resolved now, so typos fail at start). */
    ServedModels(List<String> models) {
        this(models, System.getenv(), Path.of(System.getProperty("user.home")));
    }

    /** As {@link #ServedModels(List)}, with {@code env} as the environment and {@code home} as the home folder (tests). */
    ServedModels(List<String> models, Map<String, String> env, Path home) {
        this.env = Map.copyOf(env);
        this.home = home;
        for (String m : models) {
            ModelCache.Located found = ModelCache.locate(m, env, home);
            Path p = found.path().toAbsolutePath();
            given.put(found.source() == ModelCache.Source.HUGGING_FACE ? found.name() : nameOf(p), p);
        }
    }

    static String nameOf(Path p) { return p.getFileName().toString().replaceFirst("\\.gguf$", ""); }

    /**
     * Name → file: the command line's models first, then the cache's, then the Hugging Face
     * cache's that resolve (all listed afresh each time).
     */
    Map<String, Path> available() {
        Map<String, Path> all = new LinkedHashMap<>(given);
        try {
            for (Path p : ModelCache.list(linlens.format.CacheDirectory.models(env)))
                if (Files.isRegularFile(p)) all.putIfAbsent(nameOf(p), p.toAbsolutePath());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        for (HfHubCache.Entry e : HfHubCache.of(env, home).list())
            if (e.path() != null) all.putIfAbsent(e.name(), e.path().toAbsolutePath());
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
