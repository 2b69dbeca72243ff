package linlens.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import linlens.report.OutputFiles;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Writes JSON results (and reports) atomically: a hidden temporary file beside the target, then a
 * rename. Only regular files are ever replaced; see {@link OutputFiles} for the rules.
 */
public final class JsonOutput {
    public static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private JsonOutput() {}

    /** Fails early, before any long computation, when {@code target} cannot be written (tried with a probe file). */
    public static void checkWritable(Path target) {
        if (target == null) return;
        OutputFiles.checkFile(target);
    }

    public static void write(Path target, Object value) throws IOException {
        atomically(target, out -> MAPPER.writeValue(out, value));
    }

    /** Writes text (an HTML report) with the same checks and atomic rename as JSON. */
    public static void writeText(Path target, String text) throws IOException {
        atomically(target, out -> out.write(text.getBytes(StandardCharsets.UTF_8)));
    }

    private interface StreamWriter { void write(OutputStream out) throws IOException; }

    private static void atomically(Path target, StreamWriter writer) throws IOException {
        Path real = OutputFiles.checkFile(target); // again: things may have changed during the computation
        Path tmp = OutputFiles.newTempFile(real);
        try {
            try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(tmp), 1 << 16)) {
                writer.write(out);
            }
            OutputFiles.keepPermissions(real, tmp);
            Files.move(tmp, real, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            OutputFiles.delete(tmp);
        }
    }
}
