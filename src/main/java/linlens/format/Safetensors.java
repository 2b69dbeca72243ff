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
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The tensors of a Hugging Face checkpoint in safetensors format: one {@code model.safetensors},
 * or shards listed by {@code model.safetensors.index.json}. Files are memory-mapped; F32, F16 and
 * BF16 tensors stay in stored form and decode by rows. Every problem names the file.
 */
public final class Safetensors implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Arena arena = Arena.ofShared();
    private final Map<String, Tensor> tensors = new LinkedHashMap<>();

    /** A tensor: rows = product of all dimensions but the last, cols = the last. */
    public record Tensor(String name, long[] shape, GgmlType type, MemorySegment data, long offset) implements StoredMatrix {
        @Override public int cols() { return shape.length == 0 ? 1 : Math.toIntExact(shape[shape.length - 1]); }
        @Override public int rows() {
            long r = 1;
            for (int i = 0; i < shape.length - 1; i++) r *= shape[i];
            return Math.toIntExact(r);
        }
        @Override public void rowsToFloat(int row0, int count, float[] dst, int dstOff) {
            Dequant.toFloat(type, data, offset + type.bytesFor((long) row0 * cols()), dst, dstOff, count * cols());
        }
    }

    private Safetensors() {}

    /** Opens the checkpoint in a model folder. */
    public static Safetensors open(Path folder) {
        Safetensors st = new Safetensors();
        try {
            Path single = folder.resolve("model.safetensors"), index = folder.resolve("model.safetensors.index.json");
            if (Files.exists(index)) {
                JsonNode map = readJson(index).path("weight_map");
                if (!map.isObject()) throw new ModelFormatException(index + ": no weight_map");
                Map<String, Boolean> shards = new LinkedHashMap<>();
                map.properties().forEach(e -> shards.put(e.getValue().asText(), true));
                for (String shard : shards.keySet()) {
                    Path p = folder.resolve(shard);
                    if (!Files.exists(p)) throw new ModelFormatException(p + ": shard listed in " + index.getFileName() + " is missing");
                    st.read(p);
                }
                for (Iterator<String> it = map.fieldNames(); it.hasNext(); ) {
                    String name = it.next();
                    if (!st.tensors.containsKey(name))
                        throw new ModelFormatException(folder.resolve(map.get(name).asText()) + ": tensor " + name + " listed in the index is missing");
                }
            } else if (Files.exists(single)) {
                st.read(single);
            } else {
                throw new ModelFormatException(folder + ": no model.safetensors or model.safetensors.index.json");
            }
            return st;
        } catch (RuntimeException e) {
            st.close();
            throw e;
        }
    }

    static JsonNode readJson(Path p) {
        try {
            return JSON.readTree(p.toFile());
        } catch (IOException e) {
            throw new ModelFormatException(p + ": cannot read JSON (" + e.getMessage().lines().findFirst().orElse("") + ")", e);
        }
    }

    private void read(Path p) {
        MemorySegment seg;
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
            seg = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
        } catch (IOException e) {
            throw new ModelFormatException(p + ": cannot read (" + e.getMessage() + ")", e);
        }
        if (seg.byteSize() < 8) throw new ModelFormatException(p + ": not a safetensors file (too short)");
        long headerLen = seg.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
        if (headerLen <= 0 || headerLen > seg.byteSize() - 8)
            throw new ModelFormatException(p + ": not a safetensors file (header length " + headerLen + ")");
        JsonNode header;
        try {
            header = JSON.readTree(new String(seg.asSlice(8, headerLen).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new ModelFormatException(p + ": corrupt safetensors header", e);
        }
        long base = 8 + headerLen;
        for (var e : header.properties()) {
            if (e.getKey().equals("__metadata__")) continue;
            JsonNode t = e.getValue();
            String dtype = t.path("dtype").asText();
            GgmlType type = switch (dtype) {
                case "F32" -> GgmlType.F32;
                case "F16" -> GgmlType.F16;
                case "BF16" -> GgmlType.BF16;
                default -> throw new ModelFormatException(p + ": tensor " + e.getKey() + " has unsupported dtype " + dtype + " (supported: F32, F16, BF16)");
            };
            long[] shape = new long[t.path("shape").size()];
            long count = 1;
            for (int i = 0; i < shape.length; i++) count *= shape[i] = t.path("shape").get(i).asLong();
            long begin = t.path("data_offsets").path(0).asLong(-1), end = t.path("data_offsets").path(1).asLong(-1);
            if (begin < 0 || end - begin != type.bytesFor(count) || base + end > seg.byteSize())
                throw new ModelFormatException(p + ": tensor " + e.getKey() + " has data offsets outside the file or not matching its shape");
            tensors.put(e.getKey(), new Tensor(e.getKey(), shape, type, seg, base + begin));
        }
    }

    public Map<String, Tensor> tensors() { return tensors; }

    @Override
    public void close() { arena.close(); }
}
