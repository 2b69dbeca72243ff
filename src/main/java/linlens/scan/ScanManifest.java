package linlens.scan;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import linlens.model.InputException;
import linlens.report.OutputFiles;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

/**
 * {@code scan.json}: what a results folder holds, so that a resumed scan continues the same scan
 * (same model bytes, same dataset file, same options) or is refused, and so that a reader knows
 * where the numbers came from: the model (path, size, SHA-256), the dataset (path, size,
 * modification time, rows), the options, the layout version and the columns.
 */
final class ScanManifest {
    static final String FILE = "scan.json";
    private static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private ScanManifest() {}

    static ObjectNode dataset(DatasetFile data) throws IOException {
        ObjectNode n = MAPPER.createObjectNode();
        Path p = data.path().toAbsolutePath().normalize();
        n.put("path", p.toString());
        n.put("format", data.format().name().toLowerCase(java.util.Locale.ROOT));
        n.put("size", Files.size(p));
        n.put("mtime", Files.getLastModifiedTime(p).toInstant().toString());
        n.put("rows", data.rows());
        return n;
    }

    /** The model's path, size and SHA-256 (a folder: of its files' names and contents, in name order). */
    static ObjectNode model(Path source) throws IOException {
        ObjectNode n = MAPPER.createObjectNode();
        Path p = source.toAbsolutePath().normalize();
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        long size = 0;
        List<Path> files;
        if (Files.isDirectory(p)) {
            try (Stream<Path> s = Files.walk(p)) {
                files = s.filter(Files::isRegularFile).sorted().toList();
            }
        } else {
            files = List.of(p);
        }
        byte[] buf = new byte[1 << 20];
        for (Path f : files) {
            if (files.size() > 1 || Files.isDirectory(p)) sha.update((p.relativize(f) + "\u0000").getBytes(java.nio.charset.StandardCharsets.UTF_8));
            try (InputStream in = Files.newInputStream(f)) {
                for (int r; (r = in.read(buf)) > 0; ) {
                    sha.update(buf, 0, r);
                    size += r;
                }
            }
        }
        n.put("path", p.toString());
        n.put("size", size);
        n.put("sha256", HexFormat.of().formatHex(sha.digest()));
        return n;
    }

    static ObjectNode create(ObjectNode model, ObjectNode dataset, ObjectNode options, List<ScanSchema.Column> columns) {
        ObjectNode n = MAPPER.createObjectNode();
        n.put("schema_version", ScanSchema.VERSION);
        n.put("created", Instant.now().toString());
        n.set("model", model);
        n.set("dataset", dataset);
        n.set("options", options);
        ArrayNode cols = n.putArray("columns");
        for (ScanSchema.Column c : columns) cols.addObject().put("name", c.name()).put("type", c.type());
        return n;
    }

    static ObjectNode newObject() { return MAPPER.createObjectNode(); }

    static JsonNode read(Path dir) {
        Path f = dir.resolve(FILE);
        if (!Files.isRegularFile(f)) return null;
        try {
            return MAPPER.readTree(f.toFile());
        } catch (IOException e) {
            throw new InputException("--out " + dir + ": " + FILE + " is not readable JSON (" + e.getMessage() + ")");
        }
    }

    /**
     * Refuses to continue a scan whose folder says it was made otherwise: a layout version, a
     * dataset (path, size, modification time) or options that differ.
     */
    static void checkSameScan(Path dir, JsonNode old, ObjectNode datasetNow, ObjectNode optionsNow) {
        JsonNode dataset = asRead(datasetNow), options = asRead(optionsNow);
        String why = null;
        if (old.path("schema_version").asInt(-1) != ScanSchema.VERSION)
            why = "its layout version is " + old.path("schema_version") + ", this linlens writes " + ScanSchema.VERSION;
        else
            for (String key : List.of("path", "size", "mtime"))
                if (!old.path("dataset").path(key).equals(dataset.path(key))) {
                    why = "its dataset " + key + " was " + old.path("dataset").path(key) + ", now " + dataset.path(key);
                    break;
                }
        if (why == null && !old.path("options").equals(options))
            why = "its options were " + old.path("options") + ", now " + options;
        if (why != null) throw new InputException("--resume: " + dir + " holds another scan (" + why + "); use a new --out folder");
    }

    /** Refuses a model whose size or SHA-256 differ from the folder's. */
    static void checkSameModel(Path dir, JsonNode old, ObjectNode modelNow) {
        JsonNode model = asRead(modelNow);
        for (String key : List.of("sha256", "size"))
            if (!old.path("model").path(key).equals(model.path(key)))
                throw new InputException("--resume: " + dir + " holds a scan of another model (" + old.path("model").path("path").asText()
                        + ", " + key + " " + old.path("model").path(key) + "; now " + model.path("path").asText() + ", " + model.path(key)
                        + "); use a new --out folder");
    }

    /** A node as it reads back from the file (numbers as the parser types them), to compare with what was read. */
    private static JsonNode asRead(JsonNode n) {
        try {
            return MAPPER.readTree(MAPPER.writeValueAsString(n));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static void write(Path dir, JsonNode manifest) throws IOException {
        Path target = dir.resolve(FILE);
        Path tmp = OutputFiles.newTempFile(target);
        try {
            MAPPER.writeValue(tmp.toFile(), manifest);
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            OutputFiles.delete(tmp);
        }
    }
}
