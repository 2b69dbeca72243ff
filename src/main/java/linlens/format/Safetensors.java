package linlens.format;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * The tensors of a Hugging Face checkpoint in safetensors format: one {@code model.safetensors},
 * or the shards listed by {@code model.safetensors.index.json}. Files are memory-mapped; F32, F16,
 * BF16 and F64 tensors stay in stored form and decode by rows. Every problem is a
 * {@link ModelFormatException} naming the file.
 */
public final class Safetensors implements AutoCloseable {
    public static final String SINGLE = "model.safetensors";
    public static final String INDEX = "model.safetensors.index.json";
    /** NaN and Infinity parse (Python's json writes them) so that the field checks can name them. */
    private static final ObjectMapper JSON = JsonMapper.builder().enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS).build();

    private final Path folder;
    private final Arena arena = Arena.ofShared();
    private final Map<String, SafetensorsTensor> tensors = new LinkedHashMap<>();

    private Safetensors(Path folder) { this.folder = folder; }

    /** Opens the checkpoint of a model folder: {@value #INDEX} and its shards, or {@value #SINGLE}. */
    public static Safetensors openFolder(Path folder) {
        Safetensors st = new Safetensors(folder);
        try {
            Path index = folder.resolve(INDEX), single = folder.resolve(SINGLE);
            if (Files.exists(index)) st.readSharded(index);
            else if (Files.exists(single)) st.read(single);
            else throw new ModelFormatException(folder + ": no " + SINGLE + " or " + INDEX);
            return st;
        } catch (RuntimeException e) {
            st.close();
            throw e;
        }
    }

    /**
     * Reads a small JSON file (config.json, the shard index) after checking that it is a regular
     * file of a plausible size; every problem names the file.
     */
    public static JsonNode readJson(Path file, String what) {
        ModelLimits.requireRegularFile(file, what);
        try {
            long size = Files.size(file);
            if (size > ModelLimits.MAX_JSON_BYTES)
                throw new ModelFormatException(file + ": " + size + " bytes, implausibly large for " + what
                        + " (the limit is " + ModelLimits.MAX_JSON_BYTES + ")");
            JsonNode n = JSON.readTree(file.toFile());
            if (n == null || !n.isObject()) throw new ModelFormatException(file + ": not a JSON object");
            return n;
        } catch (IOException e) {
            throw new ModelFormatException(file + ": cannot read JSON (" + String.valueOf(e.getMessage()).lines().findFirst().orElse("") + ")", e);
        }
    }

    private void readSharded(Path index) {
        JsonNode map = readJson(index, "shard index").path("weight_map");
        if (!map.isObject()) throw new ModelFormatException(index + ": no weight_map");
        // Every shard path is resolved and confined to the folder before anything is opened.
        Map<String, Path> shards = new LinkedHashMap<>();
        for (var e : map.properties()) {
            if (!e.getValue().isTextual())
                throw new ModelFormatException(index + ": weight_map." + ModelLimits.shown(e.getKey()) + " is not a file name");
            String shard = e.getValue().asText();
            if (!shards.containsKey(shard)) shards.put(shard, shardPath(index, e.getKey(), shard));
        }
        for (Path p : shards.values()) read(p);
        for (var e : map.properties())
            if (!tensors.containsKey(e.getKey()))
                throw new ModelFormatException(shards.get(e.getValue().asText()) + ": tensor " + ModelLimits.shown(e.getKey())
                        + " listed in " + INDEX + " is missing");
    }

    /** A shard's path, refused unless it lies inside the model folder (also after following symlinks). */
    private Path shardPath(Path index, String tensorName, String shard) {
        String tensor = ModelLimits.shown(tensorName);
        Path p;
        try {
            p = folder.resolve(shard);
        } catch (java.nio.file.InvalidPathException e) {
            throw new ModelFormatException(index + ": weight_map." + tensor + " = '" + ModelLimits.shown(shard) + "' is not a valid file name");
        }
        Path root = folder.toAbsolutePath().normalize();
        if (shard.isEmpty() || !p.toAbsolutePath().normalize().startsWith(root) || p.toAbsolutePath().normalize().equals(root))
            throw new ModelFormatException(index + ": weight_map." + tensor + " = '" + ModelLimits.shown(shard) + "' lies outside the model folder");
        if (!Files.exists(p)) throw new ModelFormatException(p + ": shard listed in " + INDEX + " is missing");
        try {
            if (!p.toRealPath().startsWith(linkRoot(folder)))
                throw new ModelFormatException(index + ": weight_map." + tensor + " = '" + ModelLimits.shown(shard)
                        + "' links to a file outside the model folder");
        } catch (IOException e) {
            throw new ModelFormatException(p + ": cannot read (" + e.getMessage() + ")", e);
        }
        return p;
    }

    /**
     * Where a folder's shards may link to: the folder itself, except in a snapshot of the Hugging
     * Face hub cache ({@code models--ORG--NAME/snapshots/COMMIT}), whose files are links into the
     * repo's {@code blobs/}: there, the repo folder.
     */
    private static Path linkRoot(Path folder) throws IOException {
        Path real = folder.toRealPath(), parent = real.getParent();
        boolean snapshot = parent != null && parent.getFileName() != null && parent.getFileName().toString().equals("snapshots")
                && parent.getParent() != null && parent.getParent().getFileName() != null
                && parent.getParent().getFileName().toString().startsWith("models--");
        return snapshot ? parent.getParent() : real;
    }

    private void read(Path p) {
        ModelLimits.requireRegularFile(p, "safetensors file");
        MemorySegment seg;
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
            seg = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
        } catch (IOException e) {
            throw new ModelFormatException(p + ": cannot read (" + e.getMessage() + ")", e);
        }
        try {
            readHeader(p, seg);
        } catch (ModelFormatException e) {
            throw e;
        } catch (RuntimeException e) {
            // Safety net behind the explicit checks: never a raw JVM exception for a bad file.
            throw new ModelFormatException(p + ": corrupt safetensors header (" + e.getClass().getSimpleName() + ")", e);
        }
    }

    private void readHeader(Path p, MemorySegment seg) {
        long headerLen = seg.byteSize() < 8 ? -1 : seg.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
        if (headerLen <= 0 || headerLen > seg.byteSize() - 8 || headerLen > ModelLimits.MAX_JSON_BYTES)
            throw new ModelFormatException(p + ": not a safetensors file (bad header length " + Long.toUnsignedString(headerLen)
                    + " for a file of " + seg.byteSize() + " bytes)");
        // the header's bytes, its String and Jackson's tree of it
        ModelLimits.requireHeap(p, 16 * headerLen, "the safetensors header");
        JsonNode header;
        try {
            header = JSON.readTree(new String(seg.asSlice(8, headerLen).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new ModelFormatException(p + ": not a safetensors file (header is not JSON)", e);
        }
        if (header == null || !header.isObject()) throw new ModelFormatException(p + ": not a safetensors file (header is not a JSON object)");
        long base = 8 + headerLen, dataBytes = seg.byteSize() - base;
        for (var e : header.properties()) {
            if (e.getKey().equals("__metadata__")) continue;
            String name = e.getKey();
            JsonNode t = e.getValue();
            String where = p + ": tensor " + ModelLimits.shown(name);
            if (!t.isObject()) throw new ModelFormatException(where + " is not described by a JSON object");
            String dtype = t.path("dtype").asText();
            GgmlType type = switch (dtype) {
                case "F32" -> GgmlType.F32;
                case "F16" -> GgmlType.F16;
                case "BF16" -> GgmlType.BF16;
                case "F64" -> GgmlType.F64;
                default -> throw new ModelFormatException(where + " has unsupported dtype " + ModelLimits.shown(dtype)
                        + " (supported: F32, F16, BF16, F64)");
            };
            JsonNode shapeNode = t.path("shape");
            if (!shapeNode.isArray() || shapeNode.size() > 8)
                throw new ModelFormatException(where + ": shape " + ModelLimits.shown(shapeNode) + " is not a list of at most 8 dimensions");
            long[] shape = new long[shapeNode.size()];
            for (int i = 0; i < shape.length; i++) {
                JsonNode dimNode = shapeNode.get(i);
                if (!dimNode.canConvertToExactIntegral() || !dimNode.canConvertToLong() || dimNode.asLong() < 0
                        || dimNode.asLong() > Integer.MAX_VALUE)
                    throw new ModelFormatException(where + ": shape " + ModelLimits.shown(shapeNode) + " has a dimension that is not an integer in 0..2^31-1");
                shape[i] = dimNode.asLong();
            }
            // Rows are the first dimension and columns the product of the others, each an int;
            // the element count and the byte size must not wrap.
            long cols = 1, count = shape.length == 0 ? 1 : shape[0];
            for (int i = 1; i < shape.length; i++) {
                cols = Math.min(Long.MAX_VALUE / (1L << 31), cols * shape[i]);
                count = shape[i] == 0 || count <= Long.MAX_VALUE / 8 / shape[i] ? count * shape[i] : Long.MAX_VALUE;
            }
            if (cols > Integer.MAX_VALUE || count > Long.MAX_VALUE / 8)
                throw new ModelFormatException(where + ": shape " + ModelLimits.shown(shapeNode) + " has more than 2^31-1 columns or its size overflows");
            long need = count * type.typeSize;
            JsonNode offs = t.path("data_offsets");
            if (!offs.isArray() || offs.size() != 2 || !offs.get(0).canConvertToExactIntegral() || !offs.get(1).canConvertToExactIntegral()
                    || !offs.get(0).canConvertToLong() || !offs.get(1).canConvertToLong())
                throw new ModelFormatException(where + ": data_offsets " + ModelLimits.shown(offs) + " is not a pair of integers");
            long begin = offs.get(0).asLong(), end = offs.get(1).asLong();
            if (begin < 0 || end < begin || end > dataBytes)
                throw new ModelFormatException(where + " lies outside the file (data_offsets [" + begin + ", " + end
                        + "], the data section has " + dataBytes + " bytes)");
            if (end - begin != need)
                throw new ModelFormatException(where + " has " + (end - begin) + " bytes but its shape needs " + need);
            if (tensors.containsKey(name))
                throw new ModelFormatException(where + " is also in " + tensors.get(name).file());
            tensors.put(name, new SafetensorsTensor(name, p, shape, type, seg, base + begin, end - begin));
        }
    }

    public Map<String, SafetensorsTensor> tensors() { return tensors; }

    public boolean has(String name) { return tensors.containsKey(name); }

    public SafetensorsTensor tensor(String name) {
        SafetensorsTensor t = tensors.get(name);
        if (t == null) throw new ModelFormatException(folder + ": missing tensor " + name);
        return t;
    }

    /** A one-dimensional tensor of n values as doubles (norm weights, biases). */
    public double[] vector(String name, int n) {
        SafetensorsTensor t = tensor(name);
        if (t.shape().length != 1 || t.shape()[0] != n)
            throw new ModelFormatException(t.file() + ": tensor " + name + " has shape " + t.shapeText() + ", expected [" + n + "]");
        return t.toDoubles();
    }

    @Override
    public void close() { arena.close(); }
}
