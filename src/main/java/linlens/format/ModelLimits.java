package linlens.format;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * What a model file may claim before anything is allocated or mapped. Model files come from the
 * internet, so every count read from one is checked against these bounds first: they lie well
 * above every released model (the largest have hidden sizes near 16k, MLP widths near 54k, 126
 * layers, vocabularies near 256k and head sizes of 256) yet keep the arrays a count sizes far from
 * int overflow. A check that fails ends in one {@link ModelFormatException} naming the file and
 * the field.
 */
public final class ModelLimits {
    private ModelLimits() {}

    /** Hidden size, head size, q and kv widths (heads × head size). */
    public static final int MAX_WIDTH = 65_536;
    /** MLP (intermediate) width. */
    public static final int MAX_FFN = 1 << 20;
    public static final int MAX_LAYERS = 1024;
    /** Attention heads (query or key/value). */
    public static final int MAX_HEADS = 4096;
    /** Vocabulary (embedding rows): 2^22. */
    public static final int MAX_VOCAB = 1 << 22;
    /** Context length and sliding window, in tokens: 2^30. */
    public static final int MAX_CONTEXT = 1 << 30;
    /** Nesting of GGUF metadata arrays (real files have none). */
    public static final int MAX_ARRAY_DEPTH = 8;
    /** A JSON file read into memory (config.json, the shard index, a safetensors header): 100 MiB, the safetensors limit. */
    public static final long MAX_JSON_BYTES = 100L << 20;

    /** {@code value} as an int in [min, max], or an error "file: field = value must be ...". */
    public static int count(Object file, String field, long value, long min, long max) {
        if (value < min) throw new ModelFormatException(file + ": " + field + " = " + value + " must be ≥ " + min);
        if (value > max)
            throw new ModelFormatException(file + ": " + field + " = " + value + " is implausibly large (the limit is " + max + ")");
        return (int) value;
    }

    /** A finite value > 0 (a norm epsilon, a RoPE base or factor). */
    public static double positive(Object file, String field, double value) {
        if (!Double.isFinite(value) || value <= 0)
            throw new ModelFormatException(file + ": " + field + " = " + value + " must be a finite number > 0");
        return value;
    }

    /**
     * Refuses anything but a regular file (after symlinks) before it is opened: a named pipe would
     * block forever, a device such as /dev/zero never ends, a socket cannot be mapped.
     */
    public static void requireRegularFile(Path p, String what) {
        BasicFileAttributes a;
        try {
            a = Files.readAttributes(p, BasicFileAttributes.class);
        } catch (NoSuchFileException e) {
            throw new ModelFormatException(p + ": " + what + " not found");
        } catch (IOException e) {
            throw new ModelFormatException(p + ": cannot read (" + e.getMessage() + ")", e);
        }
        if (a.isRegularFile()) return;
        String kind = a.isDirectory() ? "a directory" : a.isOther() ? "a device, named pipe or socket" : "not a regular file";
        throw new ModelFormatException(p + ": is " + kind + ", not a " + what);
    }

    /**
     * Refuses, before allocating, {@code bytes} of heap the JVM cannot give: one line naming the
     * need and the remedy instead of an OutOfMemoryError later.
     */
    public static void requireHeap(Object file, long bytes, String what) {
        // Against the heap limit, not what is free now: garbage not yet collected would make
        // "free" refuse models that fit.
        long max = Runtime.getRuntime().maxMemory();
        if (bytes <= max) return;
        throw new ModelFormatException(String.format("%s: model needs ~%.1f GB of heap for %s, the JVM has %.1f GB; "
                + "set LINLENS_JAVA_OPTS=-Xmx%dg", file, bytes / 1e9, what, max / 1e9, (long) Math.ceil(bytes * 1.25 / (1L << 30))));
    }

    /**
     * A name or value read from a file, fit for a one-line message: control characters escaped,
     * at most 80 characters (a hostile file can hold megabytes of binary in a tensor name).
     */
    public static String shown(Object value) {
        String v = String.valueOf(value);
        StringBuilder sb = new StringBuilder();
        int i = 0;
        for (; i < v.length() && sb.length() < 80; i++) {
            char ch = v.charAt(i);
            // control characters and the replacement character of undecodable UTF-8 bytes
            if (Character.isISOControl(ch) || ch == '\uFFFD')
                sb.append(String.format("\\u%04x", (int) ch));
            else sb.append(ch);
        }
        return i < v.length() ? sb + "…" : sb.toString();
    }
}
