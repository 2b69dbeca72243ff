package linlens.fuzz;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * Structured mutations of model files for the CLI-level campaign ({@link MutationCampaign}):
 * boundary values written over the integer and float fields of a GGUF header (found by walking
 * its layout), byte flips, truncation, NaN/Inf over tensor data, and JSON edits (deleted keys,
 * wrong types, huge/negative/NaN numbers, path traversal strings) for config.json, tokenizer
 * files, index files and safetensors headers. Each mutation returns the bytes it made and a
 * short description for the findings report.
 */
final class Mutators {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    /** Marks a value that must appear as a raw (non-standard JSON) token such as NaN. */
    private static final String RAW = "@@raw@@";

    private Mutators() {}

    /** A mutant and what was done to make it. */
    record Mutant(byte[] bytes, String what) {}

    /** One field of a binary header: where it is, how wide, and what it holds. */
    record Field(long offset, int width, Kind kind, String name) {}

    enum Kind { INT, FLOAT, COUNT, TYPE }

    // ---- GGUF layout --------------------------------------------------------------------------

    /**
     * The header fields of a GGUF file: version, counts, key lengths, value type tags, values,
     * array element types and lengths (first elements of long arrays only), and each tensor's
     * name length, rank, dimensions, type and offset. Stops quietly where the layout runs past
     * {@code b} (the caller may pass only the file's first megabytes).
     */
    static List<Field> ggufFields(byte[] b, long[] headerEnd) {
        List<Field> fs = new ArrayList<>();
        ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        long[] pos = {0};
        try {
            pos[0] = 4;
            fs.add(new Field(4, 4, Kind.INT, "version"));
            fs.add(new Field(8, 8, Kind.COUNT, "tensor count"));
            fs.add(new Field(16, 8, Kind.COUNT, "metadata count"));
            long nT = bb.getLong(8), nKv = bb.getLong(16);
            pos[0] = 24;
            for (long i = 0; i < nKv; i++) {
                String key = str(bb, pos, fs, "key length");
                int type = bb.getInt((int) pos[0]);
                fs.add(new Field(pos[0], 4, Kind.TYPE, key + " type"));
                pos[0] += 4;
                value(bb, pos, fs, type, key, true);
            }
            for (long i = 0; i < nT; i++) {
                String name = str(bb, pos, fs, "tensor name length");
                int nd = bb.getInt((int) pos[0]);
                fs.add(new Field(pos[0], 4, Kind.COUNT, name + " rank"));
                pos[0] += 4;
                for (int d = 0; d < nd && d < 8; d++) {
                    fs.add(new Field(pos[0], 8, Kind.COUNT, name + " dim " + d));
                    pos[0] += 8;
                }
                fs.add(new Field(pos[0], 4, Kind.TYPE, name + " tensor type"));
                fs.add(new Field(pos[0] + 4, 8, Kind.INT, name + " offset"));
                pos[0] += 12;
            }
        } catch (IndexOutOfBoundsException | IllegalArgumentException stop) {
            // a partial read: keep the fields found so far
        }
        headerEnd[0] = Math.min(pos[0], b.length);
        return fs;
    }

    private static String str(ByteBuffer bb, long[] pos, List<Field> fs, String what) {
        long len = bb.getLong((int) pos[0]);
        fs.add(new Field(pos[0], 8, Kind.COUNT, what));
        pos[0] += 8;
        if (len < 0) throw new IndexOutOfBoundsException();
        byte[] s = new byte[(int) Math.min(len, 256)];
        bb.get((int) pos[0], s);
        pos[0] += len;
        if (pos[0] > bb.capacity()) throw new IndexOutOfBoundsException();
        return new String(s, StandardCharsets.UTF_8);
    }

    private static void value(ByteBuffer bb, long[] pos, List<Field> fs, int type, String key, boolean record) {
        int w = switch (type) { case 0, 1, 7 -> 1; case 2, 3 -> 2; case 4, 5, 6 -> 4; case 10, 11, 12 -> 8; default -> 0; };
        if (w > 0) {
            if (record) fs.add(new Field(pos[0], w, type == 6 || type == 12 ? Kind.FLOAT : Kind.INT, key));
            pos[0] += w;
        } else if (type == 8) {
            long len = bb.getLong((int) pos[0]);
            if (record) fs.add(new Field(pos[0], 8, Kind.COUNT, key + " string length"));
            pos[0] += 8 + len;
            if (pos[0] > bb.capacity() || len < 0) throw new IndexOutOfBoundsException();
        } else if (type == 9) {
            int et = bb.getInt((int) pos[0]);
            fs.add(new Field(pos[0], 4, Kind.TYPE, key + " element type"));
            long n = bb.getLong((int) pos[0] + 4);
            fs.add(new Field(pos[0] + 4, 8, Kind.COUNT, key + " array length"));
            pos[0] += 12;
            for (long i = 0; i < n; i++) value(bb, pos, fs, et, key + "[" + i + "]", i < 3 || i == n - 1);
        } else {
            throw new IllegalArgumentException("unknown type");
        }
    }

    /** A boundary value for a field, little endian, {@code width} bytes. */
    static byte[] boundary(Field f, long current, Random r) {
        ByteBuffer v = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        if (f.kind() == Kind.FLOAT) {
            double[] specials = {Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, 0.0, -0.0, -1.0, 1e38, 1e308, 1e-45, -1e30};
            double d = specials[r.nextInt(specials.length)];
            if (f.width() == 4) v.putFloat((float) d); else v.putDouble(d);
        } else if (f.kind() == Kind.TYPE) {
            int[] types = {0, 1, 4, 5, 6, 7, 8, 9, 10, 12, 13, 14, 31, 36, 99, 255, -1, Integer.MAX_VALUE};
            v.putInt(types[r.nextInt(types.length)]);
        } else {
            long[] values = {0, 1, -1, 2, Integer.MAX_VALUE, 1L << 31, 0xffffffffL, 1L << 32, Long.MAX_VALUE, Long.MIN_VALUE,
                    current + 1, current - 1, current * 2, current / 2, -current, 1L << 40, 65536, r.nextInt(1 << 20)};
            v.putLong(values[r.nextInt(values.length)]);
        }
        return Arrays.copyOf(v.array(), f.width());
    }

    static long read(byte[] b, Field f) {
        ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        return switch (f.width()) {
            case 1 -> b[(int) f.offset()];
            case 2 -> bb.getShort((int) f.offset());
            case 4 -> bb.getInt((int) f.offset());
            default -> bb.getLong((int) f.offset());
        };
    }

    // ---- binary mutations ---------------------------------------------------------------------

    /** An edit of a binary file: bytes written at an offset, or a truncation to a length. */
    record Patch(long offset, byte[] bytes, long truncateTo) {
        static Patch write(long offset, byte[] bytes) { return new Patch(offset, bytes, -1); }
        static Patch truncate(long length) { return new Patch(-1, null, length); }
    }

    /**
     * Patches for a GGUF file whose first bytes are {@code head} and whose size is {@code size}:
     * boundary values over header fields, byte flips (mostly in the header), truncation, or
     * NaN/Inf over a stretch of tensor data. {@code what} receives the description.
     */
    static List<Patch> ggufPatches(byte[] head, long size, Random r, StringBuilder what) {
        long[] headerEnd = {0};
        List<Field> fields = ggufFields(head, headerEnd);
        List<Patch> ps = new ArrayList<>();
        int ops = r.nextInt(10) == 0 ? 2 + r.nextInt(3) : 1;
        for (int k = 0; k < ops; k++) {
            int op = r.nextInt(100);
            if (what.length() > 0) what.append("; ");
            if (op < 50 && !fields.isEmpty()) {
                Field f = pickField(fields, r);
                byte[] v = boundary(f, read(head, f), r);
                ps.add(Patch.write(f.offset(), v));
                what.append("set ").append(f.name()).append(" @").append(f.offset()).append(" (").append(f.kind())
                        .append(", was ").append(read(head, f)).append(") to ").append(describe(f, v));
            } else if (op < 72) {
                int n = 1 + r.nextInt(8);
                what.append("flip ").append(n).append(" byte(s) at");
                for (int i = 0; i < n; i++) {
                    long at = r.nextInt(10) < 8 ? (long) (r.nextDouble() * Math.max(1, headerEnd[0])) : (long) (r.nextDouble() * size);
                    byte old = at < head.length ? head[(int) at] : 0;
                    ps.add(Patch.write(at, new byte[] {(byte) (old ^ (1 << r.nextInt(8)) ^ (r.nextBoolean() ? 0 : r.nextInt(256)))}));
                    what.append(' ').append(at);
                }
            } else if (op < 87) {
                long cut = r.nextBoolean() ? (long) (r.nextDouble() * Math.max(1, headerEnd[0])) : (long) (r.nextDouble() * size);
                ps.add(Patch.truncate(cut));
                what.append("truncate to ").append(cut).append(" of ").append(size).append(" bytes");
            } else {
                long at = headerEnd[0] + (long) (r.nextDouble() * Math.max(1, size - headerEnd[0] - 64));
                byte[] junk = specialsPattern(r, 4 << r.nextInt(8));
                ps.add(Patch.write(at, junk));
                what.append("NaN/Inf/huge floats over ").append(junk.length).append(" data bytes at ").append(at);
            }
        }
        return ps;
    }

    /** Header fields weighted towards counts, lengths and types, where bounds checks matter most. */
    private static Field pickField(List<Field> fields, Random r) {
        for (int tries = 0; tries < 4; tries++) {
            Field f = fields.get(r.nextInt(fields.size()));
            if (f.kind() != Kind.INT || r.nextInt(3) == 0) return f;
        }
        return fields.get(r.nextInt(fields.size()));
    }

    private static String describe(Field f, byte[] v) {
        ByteBuffer bb = ByteBuffer.wrap(Arrays.copyOf(v, 8)).order(ByteOrder.LITTLE_ENDIAN);
        if (f.kind() == Kind.FLOAT) return f.width() == 4 ? Float.toString(bb.getFloat(0)) : Double.toString(bb.getDouble(0));
        return switch (f.width()) {
            case 1 -> Byte.toString(v[0]);
            case 2 -> Short.toString(bb.getShort(0));
            case 4 -> Integer.toString(bb.getInt(0));
            default -> Long.toString(bb.getLong(0));
        };
    }

    /** Float32 NaN, infinities and huge values, repeated over n bytes. */
    private static byte[] specialsPattern(Random r, int n) {
        float[] vs = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 3e38f, -3e38f};
        float v = vs[r.nextInt(vs.length)];
        ByteBuffer b = ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
        while (b.remaining() >= 4) b.putFloat(v);
        return b.array();
    }

    static byte[] apply(byte[] src, List<Patch> ps) {
        byte[] b = src.clone();
        for (Patch p : ps) {
            if (p.truncateTo() >= 0) {
                b = Arrays.copyOf(b, (int) Math.min(b.length, p.truncateTo()));
            } else {
                for (int i = 0; i < p.bytes().length; i++)
                    if (p.offset() + i < b.length) b[(int) p.offset() + i] = p.bytes()[i];
            }
        }
        return b;
    }

    static Mutant gguf(byte[] src, Random r) {
        StringBuilder what = new StringBuilder();
        return new Mutant(apply(src, ggufPatches(src, src.length, r, what)), what.toString());
    }

    /**
     * A safetensors file: its header length set to a boundary value, its JSON header mutated
     * (and the length prefix updated, so tensor data stays where the offsets say), byte flips,
     * truncation, or NaN/Inf over its data.
     */
    static Mutant safetensors(byte[] src, Random r) {
        long headerLen = src.length >= 8 ? ByteBuffer.wrap(src, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong() : 0;
        boolean headerOk = headerLen > 0 && headerLen <= src.length - 8;
        int op = r.nextInt(100);
        if (op < 45 && headerOk) {
            Mutant m = json(Arrays.copyOfRange(src, 8, 8 + (int) headerLen), r);
            ByteBuffer out = ByteBuffer.allocate(8 + m.bytes().length + src.length - 8 - (int) headerLen).order(ByteOrder.LITTLE_ENDIAN);
            out.putLong(m.bytes().length).put(m.bytes()).put(src, 8 + (int) headerLen, src.length - 8 - (int) headerLen);
            return new Mutant(out.array(), "header JSON: " + m.what());
        }
        if (op < 60) {
            Field f = new Field(0, 8, Kind.COUNT, "header length");
            byte[] v = boundary(f, headerLen, r);
            return new Mutant(apply(src, List.of(Patch.write(0, v))), "set header length (was " + headerLen + ") to " + describe(f, v));
        }
        if (op < 75) {
            int n = 1 + r.nextInt(8);
            long span = headerOk && r.nextInt(10) < 8 ? 8 + headerLen : src.length;
            List<Patch> ps = new ArrayList<>();
            StringBuilder at = new StringBuilder();
            for (int i = 0; i < n; i++) {
                long p = (long) (r.nextDouble() * span);
                ps.add(Patch.write(p, new byte[] {(byte) r.nextInt(256)}));
                at.append(' ').append(p);
            }
            return new Mutant(apply(src, ps), "random byte(s) at" + at);
        }
        if (op < 90) {
            long cut = (long) (r.nextDouble() * (r.nextBoolean() && headerOk ? 8 + headerLen : src.length));
            return new Mutant(Arrays.copyOf(src, (int) cut), "truncate to " + cut + " of " + src.length + " bytes");
        }
        long start = headerOk ? 8 + headerLen : 0;
        long at = start + (long) (r.nextDouble() * Math.max(1, src.length - start - 16));
        byte[] junk = specialsPattern(r, 4 << r.nextInt(6));
        return new Mutant(apply(src, List.of(Patch.write(at, junk))), "NaN/Inf/huge floats over " + junk.length + " data bytes at " + at);
    }

    // ---- JSON ---------------------------------------------------------------------------------

    /** A JSON document with one (sometimes several) structured edit(s), or a text-level mutation. */
    static Mutant json(byte[] src, Random r) {
        JsonNode root;
        try {
            root = JSON.readTree(src);
        } catch (Exception e) {
            root = null;
        }
        if (root == null || !root.isContainerNode() || r.nextInt(100) < 12) return jsonText(src, r);
        List<String> whats = new ArrayList<>();
        int edits = r.nextInt(8) == 0 ? 2 + r.nextInt(3) : 1;
        for (int i = 0; i < edits; i++) whats.add(edit(root, r));
        String text = root.toString();
        // raw tokens (NaN, Infinity, numbers too big for a long) are spliced in as text
        text = text.replaceAll("\"" + RAW + "([^\"]*)\"", "$1");
        return new Mutant(text.getBytes(StandardCharsets.UTF_8), String.join("; ", whats));
    }

    private static Mutant jsonText(byte[] src, Random r) {
        if (r.nextBoolean() || src.length == 0) {
            int cut = src.length == 0 ? 0 : r.nextInt(src.length);
            return new Mutant(Arrays.copyOf(src, cut), "JSON text truncated to " + cut + " of " + src.length + " bytes");
        }
        byte[] b = src.clone();
        int at = r.nextInt(b.length);
        byte[] junk = {'{', '}', '[', ']', '"', ',', ':', '\\', 0, (byte) 0xff, (byte) 0xc3, '-', 'e'};
        b[at] = junk[r.nextInt(junk.length)];
        return new Mutant(b, "JSON text byte " + at + " set to 0x" + Integer.toHexString(b[at] & 0xff));
    }

    /** A location in a JSON tree: a parent container and the key (object) or index (array). */
    private record Loc(JsonNode parent, String key, int index, String path) {}

    private static void collect(JsonNode n, String path, List<Loc> out, int depth) {
        if (depth > 12) return;
        if (n.isObject()) {
            for (var e : n.properties()) {
                out.add(new Loc(n, e.getKey(), -1, path + "." + e.getKey()));
                collect(e.getValue(), path + "." + e.getKey(), out, depth + 1);
            }
        } else if (n.isArray()) {
            for (int i = 0; i < n.size(); i++) {
                // long arrays (vocabularies, merges): a few positions are enough
                if (n.size() > 8 && i > 2 && i < n.size() - 1 && (i % 97) != 0) continue;
                out.add(new Loc(n, null, i, path + "[" + i + "]"));
                collect(n.get(i), path + "[" + i + "]", out, depth + 1);
            }
        }
    }

    private static String edit(JsonNode root, Random r) {
        List<Loc> locs = new ArrayList<>();
        collect(root, "$", locs, 0);
        if (locs.isEmpty()) {
            if (root instanceof ObjectNode o) o.set("model_type", NODES.textNode("../../etc/passwd"));
            return "added model_type to an empty document";
        }
        // Prefer numbers and short scalars (hyperparameters) over vocabulary entries.
        Loc loc = locs.get(r.nextInt(locs.size()));
        for (int t = 0; t < 3 && !get(loc).isNumber(); t++) loc = locs.get(r.nextInt(locs.size()));
        JsonNode old = get(loc);
        int op = r.nextInt(100);
        if (op < 15) {
            if (loc.parent() instanceof ObjectNode o) o.remove(loc.key());
            else ((ArrayNode) loc.parent()).remove(loc.index());
            return "deleted " + loc.path();
        }
        JsonNode v = op < 60 && old.isNumber() ? numberFor(old, r) : anyValue(r);
        set(loc, v);
        return "set " + loc.path() + " (was " + abbreviate(old) + ") to " + abbreviate(v).replace(RAW, "");
    }

    private static JsonNode get(Loc l) {
        return l.key() != null ? l.parent().get(l.key()) : l.parent().get(l.index());
    }

    private static void set(Loc l, JsonNode v) {
        if (l.parent() instanceof ObjectNode o) o.set(l.key(), v);
        else ((ArrayNode) l.parent()).set(l.index(), v);
    }

    private static JsonNode numberFor(JsonNode old, Random r) {
        double d = old.asDouble();
        return switch (r.nextInt(14)) {
            case 0 -> NODES.numberNode(0);
            case 1 -> NODES.numberNode(-1);
            case 2 -> NODES.numberNode(Integer.MAX_VALUE);
            case 3 -> NODES.numberNode(Long.MAX_VALUE);
            case 4 -> NODES.numberNode(Integer.MIN_VALUE);
            case 5 -> NODES.textNode(RAW + "NaN");
            case 6 -> NODES.textNode(RAW + (r.nextBoolean() ? "Infinity" : "-Infinity"));
            case 7 -> NODES.numberNode(1e308);
            case 8 -> NODES.numberNode(-d);
            case 9 -> NODES.numberNode(old.isIntegralNumber() ? old.asLong() + 1 : d * 1.5);
            case 10 -> NODES.numberNode(old.isIntegralNumber() ? old.asLong() * 2 : d * 1e6);
            case 11 -> NODES.numberNode(old.isIntegralNumber() ? old.asLong() - 1 : d / 1e6);
            case 12 -> NODES.numberNode(0.5);
            default -> NODES.textNode(RAW + new BigInteger("184467440737095516160000"));
        };
    }

    private static JsonNode anyValue(Random r) {
        return switch (r.nextInt(16)) {
            case 0 -> NODES.nullNode();
            case 1 -> NODES.booleanNode(r.nextBoolean());
            case 2 -> NODES.textNode("");
            case 3 -> NODES.textNode("../../../../../../etc/passwd");
            case 4 -> NODES.textNode("/etc/passwd");
            case 5 -> NODES.textNode("..");
            case 6 -> NODES.textNode("x".repeat(100_000));
            case 7 -> NODES.textNode("\u0000\uFFFF\uD800");
            case 8 -> NODES.arrayNode();
            case 9 -> NODES.objectNode();
            case 10 -> NODES.arrayNode().add(1).add("a").add(NODES.nullNode());
            case 11 -> NODES.numberNode(-1);
            case 12 -> NODES.numberNode(Integer.MAX_VALUE);
            case 13 -> NODES.textNode(RAW + "NaN");
            case 14 -> NODES.textNode("12");
            default -> NODES.numberNode(1e308);
        };
    }

    private static String abbreviate(JsonNode n) {
        String s = n.toString();
        return s.length() > 60 ? s.substring(0, 57) + "..." : s;
    }
}
