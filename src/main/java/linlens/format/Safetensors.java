package linlens.format;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

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
    private static final ObjectMapper JSON = new ObjectMapper();

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

    private void readSharded(Path index) {
        JsonNode map;
        try {
            map = JSON.readTree(index.toFile()).path("weight_map");
        } catch (IOException e) {
            throw new ModelFormatException(index + ": cannot read JSON (" + e.getMessage().lines().findFirst().orElse("") + ")", e);
        }
        if (!map.isObject()) throw new ModelFormatException(index + ": no weight_map");
        Set<String> shards = new LinkedHashSet<>();
        map.properties().forEach(e -> shards.add(e.getValue().asText()));
        for (String shard : shards) {
            Path p = folder.resolve(shard);
            if (!Files.exists(p)) throw new ModelFormatException(p + ": shard listed in " + INDEX + " is missing");
            read(p);
        }
        for (var e : map.properties())
            if (!tensors.containsKey(e.getKey()))
                throw new ModelFormatException(folder.resolve(e.getValue().asText()) + ": tensor " + e.getKey()
                        + " listed in " + INDEX + " is missing");
    }

    private void read(Path p) {
        MemorySegment seg;
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
            seg = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
        } catch (IOException e) {
            throw new ModelFormatException(p + ": cannot read (" + e.getMessage() + ")", e);
        }
        long headerLen = seg.byteSize() < 8 ? -1 : seg.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
        if (headerLen <= 0 || headerLen > seg.byteSize() - 8)
            throw new ModelFormatException(p + ": not a safetensors file (bad header length)");
        JsonNode header;
        try {
            header = JSON.readTree(new String(seg.asSlice(8, headerLen).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new ModelFormatException(p + ": not a safetensors file (header is not JSON)", e);
        }
        long base = 8 + headerLen;
        for (var e : header.properties()) {
            if (e.getKey().equals("__metadata__")) continue;
            String name = e.getKey();
            JsonNode t = e.getValue();
            String dtype = t.path("dtype").asText();
            GgmlType type = switch (dtype) {
                case "F32" -> GgmlType.F32;
                case "F16" -> GgmlType.F16;
                case "BF16" -> GgmlType.BF16;
                case "F64" -> GgmlType.F64;
                default -> throw new ModelFormatException(p + ": tensor " + name + " has unsupported dtype " + dtype
                        + " (supported: F32, F16, BF16, F64)");
            };
            long[] shape = new long[t.path("shape").size()];
            long count = 1;
            for (int i = 0; i < shape.length; i++) count *= shape[i] = t.path("shape").get(i).asLong();
            long begin = t.path("data_offsets").path(0).asLong(-1), end = t.path("data_offsets").path(1).asLong(-1);
            if (begin < 0 || end < begin || base + end > seg.byteSize())
                throw new ModelFormatException(p + ": tensor " + name + " lies outside the file");
            if (end - begin != type.bytesFor(count))
                throw new ModelFormatException(p + ": tensor " + name + " has " + (end - begin)
                        + " bytes but its shape needs " + type.bytesFor(count));
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
