package linlens.report;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import linlens.format.Npy;
import linlens.model.InputException;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A folder of NumPy arrays plus {@code manifest.json} naming each array's shape, dtype and
 * meaning, for people who continue in Python. Written into a temporary sibling folder and
 * renamed into place at {@link #commit}, so an interrupted run leaves nothing half-written.
 */
public final class NpyExport implements linlens.analysis.ArraySink {
    public record Entry(String file, int[] shape, String dtype, String description) {}

    private final Path target, tmp;
    private final List<Entry> entries = new ArrayList<>();
    private final Map<String, Object> context = new LinkedHashMap<>();

    private NpyExport(Path target, Path tmp) {
        this.target = target;
        this.tmp = tmp;
    }

    /**
     * Checks, before any long work, that the target can be created: absent or an empty folder (a
     * symbolic link is followed to the folder it names), in a folder that takes new entries.
     * Returns the folder's resolved path.
     */
    public static Path checkTarget(Path dir) {
        String prefix = "cannot export to " + dir;
        OutputFiles.Target t = OutputFiles.resolve(dir, prefix);
        Path abs = t.path();
        if (abs.getParent() == null) throw new InputException(prefix + ": it is the root folder");
        if (t.exists()) {
            if (!t.directory()) throw new InputException(prefix + (t.regularFile() ? ": it is a file"
                    : ": not a folder (a device, FIFO or socket); only empty folders are replaced"));
            try (Stream<Path> s = Files.list(abs)) {
                if (s.findAny().isPresent()) throw new InputException(prefix + ": folder is not empty");
            } catch (IOException e) {
                throw new InputException(prefix + ": " + OutputFiles.reason(e));
            }
        }
        OutputFiles.probe(abs, prefix);
        return abs;
    }

    /**
     * Starts an export: a hidden temporary folder beside the target (deleted if the process is
     * stopped before {@link #commit} or {@link #abandon}).
     */
    public static NpyExport create(Path dir) throws IOException {
        Path abs = checkTarget(dir);
        return new NpyExport(abs, OutputFiles.newTempDirectory(abs));
    }

    @Override
    public void describe(String key, Object value) { context.put(key, value); }

    @Override
    public void add(String name, int[] shape, Object data, String description) throws IOException {
        String file = name + ".npy";
        int count = 1;
        for (int s : shape) count *= s;
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(tmp.resolve(file)), 1 << 20)) {
            switch (data) {
                case float[] f -> Npy.write(out, shape, f, 0, count);
                case double[] d -> Npy.write(out, shape, d, 0, count);
                default -> throw new IllegalArgumentException("unsupported array " + data.getClass());
            }
        }
        entries.add(new Entry(file, shape, data instanceof float[] ? "float32" : "float64", description));
    }

    /** Writes the manifest (what the analysis described, then the entries) and moves the folder into place. */
    public Path commit() throws IOException {
        Map<String, Object> manifest = new LinkedHashMap<>(context);
        manifest.put("arrays", entries);
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(tmp.resolve("manifest.json").toFile(), manifest);
        if (Files.isDirectory(target, LinkOption.NOFOLLOW_LINKS)) {
            OutputFiles.keepPermissions(target, tmp);
            Files.delete(target); // checked empty at creation
        }
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
        OutputFiles.done(tmp);
        return target;
    }

    /** Removes the temporary folder after a failure. */
    public void abandon() {
        OutputFiles.delete(tmp);
    }
}
