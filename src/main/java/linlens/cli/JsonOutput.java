package linlens.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import linlens.model.InputException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/** Writes JSON results (and reports) atomically: a temporary file beside the target, then a rename. */
public final class JsonOutput {
    public static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private JsonOutput() {}

    /** Fails early, before any long computation, when {@code target} cannot be written. */
    public static void checkWritable(Path target) {
        if (target == null) return;
        Path dir = target.toAbsolutePath().getParent();
        if (dir == null || !Files.isDirectory(dir)) throw new InputException("cannot write " + target + ": no such directory " + dir);
        if (Files.isDirectory(target)) throw new InputException("cannot write " + target + ": it is a directory");
        if (!Files.isWritable(dir)) throw new InputException("cannot write " + target + ": directory " + dir + " is not writable");
    }

    public static void write(Path target, Object value) throws IOException {
        atomically(target, tmp -> MAPPER.writeValue(tmp.toFile(), value));
    }

    /** Writes text (an HTML report) with the same checks and atomic rename as JSON. */
    public static void writeText(Path target, String text) throws IOException {
        atomically(target, tmp -> Files.writeString(tmp, text));
    }

    private interface FileWriter { void write(Path tmp) throws IOException; }

    private static void atomically(Path target, FileWriter writer) throws IOException {
        checkWritable(target);
        Path abs = target.toAbsolutePath();
        Path dir = abs.getParent();
        Path tmp = Files.createTempFile(dir, "." + abs.getFileName(), ".tmp");
        try {
            writer.write(tmp);
            Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
