package linlens.testing;

import com.fasterxml.jackson.databind.ObjectMapper;
import linlens.format.GgufFile;
import linlens.model.Family;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The tiny random models (reference/make_tiny_models.py), listed from the family registry: every
 * Hugging Face {@code model_type} of every family in {@link Family#all()} must have a folder here
 * (folders are matched by their config.json's {@code model_type}, so a name like "llama3" is free),
 * and every family with GGUF architectures a GGUF file of one of them. A missing fixture fails
 * loudly, never a skip: a newly registered family is under test at once, or the tests say what
 * to add.
 */
public final class TinyModels {
    public static final Path DIR = Path.of("src/test/resources/reference/tiny");

    /**
     * One fixture folder.
     *
     * @param name      the folder's name, e.g. "llama3"
     * @param family    the family its config.json's model_type maps to
     * @param modelType that model_type
     * @param hf        its Hugging Face folder
     * @param gguf      its GGUF file, null where it has none (llama.cpp converts no Ministral)
     */
    public record Tiny(String name, Family family, String modelType, Path hf, Path gguf) {}

    private static List<Tiny> all;

    private TinyModels() {}

    /** Every fixture, in registry order (family, then its model types), after checking that none is missing. */
    public static synchronized List<Tiny> all() {
        if (all == null) all = List.copyOf(registryOrder(scan()));
        return all;
    }

    /** The fixtures that have a GGUF file. */
    public static List<Tiny> withGguf() {
        return all().stream().filter(t -> t.gguf() != null).toList();
    }

    /** The fixture named {@code name}. */
    public static Tiny named(String name) {
        return all().stream().filter(t -> t.name().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no tiny fixture named " + name + " in " + DIR));
    }

    private static List<Tiny> scan() {
        List<Tiny> found = new ArrayList<>();
        try (var dirs = Files.list(DIR)) {
            for (Path dir : dirs.filter(Files::isDirectory).sorted().toList()) {
                Path config = dir.resolve("hf").resolve("config.json");
                if (!Files.isRegularFile(config))
                    throw new AssertionError("tiny fixture " + dir + " has no hf/config.json");
                String type = new ObjectMapper().readTree(config.toFile()).path("model_type").asText("");
                Family family = Family.forHf(type);
                if (family == null)
                    throw new AssertionError(config + ": model_type '" + type + "' is no registered family's");
                Path gguf = dir.resolve("model.gguf");
                found.add(new Tiny(dir.getFileName().toString(), family, type, dir.resolve("hf"),
                        Files.exists(gguf) ? gguf : null));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return found;
    }

    private static List<Tiny> registryOrder(List<Tiny> found) {
        List<Tiny> ordered = new ArrayList<>();
        for (Family f : Family.all()) {
            for (String type : f.hfModelTypes()) {
                List<Tiny> ofType = found.stream().filter(t -> t.modelType().equals(type))
                        .sorted(Comparator.comparing(Tiny::name)).toList();
                if (ofType.isEmpty())
                    throw new AssertionError("no tiny fixture for model_type '" + type + "' of family " + f.name()
                            + ": add one to reference/make_tiny_models.py and regenerate " + DIR);
                ordered.addAll(ofType);
            }
            if (!f.ggufArchitectures().isEmpty()
                    && found.stream().noneMatch(t -> t.gguf() != null && f.ggufArchitectures().contains(architecture(t.gguf()))))
                throw new AssertionError("no tiny GGUF fixture of family " + f.name() + " (architectures "
                        + f.ggufArchitectures() + "): convert one of its tiny models in " + DIR);
        }
        return ordered;
    }

    private static String architecture(Path gguf) {
        try (GgufFile g = GgufFile.open(gguf)) {
            return g.string("general.architecture");
        }
    }

    /** Texts of the tiny vocabulary that are one token by themselves and after a space. */
    public static List<String> singleTokenWords(linlens.model.Transformer m, int count) {
        List<String> out = new ArrayList<>();
        for (int id = 0; id < m.config().vocab() && out.size() < count; id++) {
            String s = m.tokenizer().decode(id).strip();
            if (s.length() < 2 || !s.chars().allMatch(Character::isLetter) || out.contains(s)) continue;
            int[] e = m.tokenizer().encode(s);
            int body = e.length > 0 && e[0] == m.tokenizer().bos() ? e.length - 1 : e.length;
            if (body == 1) out.add(s);
        }
        if (out.size() != count) throw new AssertionError("only " + out.size() + " single-token words in the tiny vocabulary");
        return out;
    }
}
