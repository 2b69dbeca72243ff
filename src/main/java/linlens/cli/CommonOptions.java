package linlens.cli;

import linlens.model.ModelCache;
import linlens.model.ModelLoader;
import linlens.model.Transformer;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;

/** Options every model command shares, and the model loading they all do. */
public final class CommonOptions {
    public static final String DEFAULT_MODEL = "gemma-3-270m";
    public static final String DEFAULT_PROMPT = linlens.analysis.PromptContext.DEFAULT_PROMPT;

    @Option(names = "--model", paramLabel = "MODEL", description = "Model file (.gguf), Hugging Face model folder (config.json, safetensors, tokenizer.json), cached model name, "
                    + "or a model of the Hugging Face cache: ORG/NAME[@REVISION][:FILE] (default: ${DEFAULT-VALUE}).",
            defaultValue = DEFAULT_MODEL)
    public String model;

    @Option(names = "--verbose", description = "Stack traces on errors.")
    public boolean verbose;

    @Option(names = "--quiet", description = "Only the results, no progress lines.")
    public boolean quiet;

    /** Resolves the model, fetching a catalog model on first use, and loads it. */
    public Transformer load(PrintWriter err) throws Exception {
        Path p;
        if (ModelCache.CATALOG.containsKey(model) && !Files.exists(Path.of(model))
                && !Files.exists(ModelCache.dir().resolve(model + ".gguf"))) {
            if (!quiet) err.println("model " + model + " is not cached yet: fetching it");
            p = ModelCache.fetch(model, false, line -> { if (!quiet) err.println(line); }, ConsoleProgress.of(err, quiet));
        } else {
            p = ModelCache.resolve(model);
        }
        return ModelLoader.load(p);
    }

    public void progress(PrintWriter err, String line) {
        if (!quiet) err.println(line);
    }
}
