package linlens.fuzz;

import linlens.testing.TinyModels;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The repository's model fixtures the fuzz targets start from, and scratch space for mutants.
 * Paths are relative to the project root, where Maven (and bin/fuzz) run the tests.
 */
final class Fixtures {
    static final Path TINY = TinyModels.DIR;
    static final Path SAFETENSORS = Path.of("src/test/resources/reference/safetensors");

    // The tiny models of every registered family (TinyModels), by folder name in alphabetical
    // order: a fuzz input picks its seed by index, so the order must not depend on the registry's.
    /** Families with a tiny GGUF file (Ministral has only a Hugging Face folder). */
    static final List<String> GGUF_FAMILIES = TinyModels.withGguf().stream().map(TinyModels.Tiny::name).sorted().toList();
    /** Families with a tiny Hugging Face folder. */
    static final List<String> HF_FAMILIES = TinyModels.all().stream().map(TinyModels.Tiny::name).sorted().toList();
    /** Hugging Face folders whose weights are one model.safetensors (Ministral's are sharded). */
    static final List<String> SINGLE_FILE_HF_FAMILIES = HF_FAMILIES.stream()
            .filter(f -> Files.exists(hf(f).resolve("model.safetensors"))).toList();

    private Fixtures() {}

    static Path gguf(String family) { return TINY.resolve(family).resolve("model.gguf"); }

    static Path hf(String family) { return TINY.resolve(family).resolve("hf"); }

    /** A fresh temporary folder that is deleted when the JVM exits. */
    static Path scratch(String prefix) {
        try {
            Path dir = Files.createTempDirectory(prefix);
            dir.toFile().deleteOnExit();
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Copies every regular file of {@code from} into {@code to} (replacing), except {@code skip}. */
    static void copyFolder(Path from, Path to, String... skip) {
        try (var files = Files.list(from)) {
            for (Path f : files.toList()) {
                if (!Files.isRegularFile(f) || List.of(skip).contains(f.getFileName().toString())) continue;
                Files.copy(f, to.resolve(f.getFileName()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static byte[] read(Path file) {
        try {
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Writes a mutant over {@code file}; truncating first drops the pages of any stale mapping. */
    static Path write(Path file, byte[] bytes) {
        try {
            return Files.write(file, bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
