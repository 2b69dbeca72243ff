package linlens.model;

import linlens.format.StoredMatrix;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;

/**
 * Streams a model's layer weights from their memory-mapped file when the model is larger than
 * memory allows: a sweep over the layers reads layer l's stored bytes as it reaches them, a
 * reader thread reads the next layer's meanwhile (so the disk and the cores work at the same
 * time), and the pages of a layer two steps behind are dropped from the process. The process then
 * holds at most three layers' stored weights whatever the model's size; the page cache keeps what
 * the machine's memory allows, so a second sweep reads from disk only what was evicted.
 *
 * <p>Paging uses the mapped segments' own calls: {@link MemorySegment#load} (madvise WILLNEED,
 * then one touch per page, on the reader thread) and {@link MemorySegment#unload} (madvise
 * DONTNEED: the pages leave this process's resident set; being clean file pages, nothing is
 * written and a later use reads them again). Decoded weights are never kept here: a sweep's
 * decoded tiles live in its own buffers, reused layer after layer.
 *
 * <p>Whether a model streams: the system property {@value #PROPERTY} = {@code on}, {@code off} or
 * {@code auto} (the default: on when the layers' stored bytes exceed half of the physical memory).
 * Sweeps on a model that does not stream cost nothing here.
 */
public final class WeightStream {
    /** The system property that forces streaming on or off ({@code auto} by default). */
    public static final String PROPERTY = "linlens.stream";

    /** Nanoseconds sweeps spent waiting for layer weights to be read (disk wait), over all sweeps. */
    private static final LongAdder WAIT_NANOS = new LongAdder();
    /** Stored bytes paged in for sweeps (from disk or the page cache). */
    private static final LongAdder LOADED_BYTES = new LongAdder();

    /** One daemon reader thread for the whole JVM: reads are sequential on one disk anyway. */
    private static final ExecutorService READER = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "linlens-weight-reader");
        t.setDaemon(true);
        return t;
    });

    private static final Map<Transformer, WeightStream> BY_MODEL = new WeakHashMap<>();

    /** The model's layers (not the model: the map above holds its keys weakly). */
    private final Transformer.Layer[] layers;
    private final boolean streaming;
    private final long layerBytes;

    private WeightStream(Transformer.Layer[] layers, boolean streaming, long layerBytes) {
        this.layers = layers;
        this.streaming = streaming;
        this.layerBytes = layerBytes;
    }

    /** The stream of a loaded model (one per model, decided once). */
    public static synchronized WeightStream of(Transformer model) {
        return BY_MODEL.computeIfAbsent(model, m -> {
            long bytes = 0;
            for (Transformer.Layer l : m.layers()) for (StoredMatrix w : matrices(l)) bytes += size(w);
            String mode = System.getProperty(PROPERTY, "auto");
            boolean on = switch (mode) {
                case "on" -> true;
                case "off" -> false;
                case "auto" -> bytes > physicalMemory() / 2;
                default -> throw new IllegalArgumentException("-D" + PROPERTY + " must be on, off or auto, not '" + mode + "'");
            };
            return new WeightStream(m.layers(), on && bytes > 0, bytes);
        });
    }

    /** Whether sweeps over this model page its layers in and out. */
    public boolean streaming() { return streaming; }

    /** The stored bytes of all layers' matrices. */
    public long layerBytes() { return layerBytes; }

    /** Total time sweeps waited for weights to be read, in nanoseconds, since the JVM started. */
    public static long waitNanos() { return WAIT_NANOS.sum(); }

    /** Total stored bytes paged in for sweeps since the JVM started. */
    public static long loadedBytes() { return LOADED_BYTES.sum(); }

    /** Every matrix of a layer (the forward pass uses them all). */
    public static List<StoredMatrix> matrices(Transformer.Layer l) {
        List<StoredMatrix> out = new ArrayList<>();
        for (StoredMatrix w : new StoredMatrix[]{l.wq(), l.wk(), l.wv(), l.wo(), l.gate(), l.up(), l.down()})
            if (w != null && !out.contains(w)) out.add(w);
        return out;
    }

    /**
     * A sweep over layers {@code from} to {@code to} (either direction, both included) that uses
     * the matrices {@code uses} picks from each layer. Call {@link Sweep#enter} before each layer,
     * in order, and {@link Sweep#close} at the end (try-with-resources).
     */
    public Sweep sweep(int from, int to, Function<Transformer.Layer, List<StoredMatrix>> uses) {
        return streaming ? new Sweep(from, to, uses) : NO_SWEEP;
    }

    private static final Sweep NO_SWEEP = new WeightStream(null, false, 0).new Sweep(0, 0, null);

    /** One pass over consecutive layers: pages each in before it, the next one ahead, and out two behind. */
    public final class Sweep implements AutoCloseable {
        private final int from, to, step;
        private final Function<Transformer.Layer, List<StoredMatrix>> uses;
        /** Per layer index (relative to {@code from}), the read of its bytes once started; null before. */
        private final List<CompletableFuture<Void>> reads = new ArrayList<>();

        private Sweep(int from, int to, Function<Transformer.Layer, List<StoredMatrix>> uses) {
            this.from = from;
            this.to = to;
            this.step = to >= from ? 1 : -1;
            this.uses = uses;
        }

        private int layerAt(int i) { return from + i * step; }

        private int count() { return Math.abs(to - from) + 1; }

        private CompletableFuture<Void> read(int i) {
            while (reads.size() <= i) reads.add(null);
            if (reads.get(i) == null) {
                List<MemorySegment> segs = segments(layerAt(i));
                reads.set(i, CompletableFuture.runAsync(() -> {
                    for (MemorySegment s : segs) {
                        s.load();
                        LOADED_BYTES.add(s.byteSize());
                    }
                }, READER));
            }
            return reads.get(i);
        }

        private List<MemorySegment> segments(int layer) {
            List<MemorySegment> out = new ArrayList<>();
            for (StoredMatrix w : uses.apply(layers[layer])) {
                MemorySegment s = w.mappedBytes();
                if (s != null) out.add(s);
            }
            return out;
        }

        /** Before computing {@code layer}: waits until its weights are read, starts reading the next. */
        public void enter(int layer) {
            if (uses == null) return;
            int i = (layer - from) * step;
            if (i < 0 || i >= count()) throw new IllegalArgumentException("layer " + layer + " is outside the sweep " + from + ".." + to);
            long t0 = System.nanoTime();
            try {
                read(i).get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while reading layer " + layer + "'s weights", e);
            } catch (ExecutionException e) {
                throw new IllegalStateException("reading layer " + layer + "'s weights failed: " + e.getCause(), e.getCause());
            }
            WAIT_NANOS.add(System.nanoTime() - t0);
            if (i + 1 < count()) read(i + 1);
            if (i - 2 >= 0) drop(i - 2);
        }

        /** Waits for layer i's read (a failed read ahead of a layer never entered drops what it read), then unloads it. */
        private void drop(int i) {
            CompletableFuture<Void> r = i < reads.size() ? reads.get(i) : null;
            if (r == null) return;
            try {
                r.join();
            } catch (RuntimeException e) {
                // its failure was reported by enter, or the layer was never entered
            }
            for (MemorySegment s : segments(layerAt(i))) s.unload();
            reads.set(i, null);
        }

        /** Drops every layer this sweep still holds (waiting for a read ahead in flight first). */
        @Override
        public void close() {
            if (uses == null) return;
            for (int i = 0; i < reads.size(); i++) drop(i);
        }
    }

    private static long size(StoredMatrix w) {
        MemorySegment s = w == null ? null : w.mappedBytes();
        return s == null ? 0 : s.byteSize();
    }

    /** MemTotal of /proc/meminfo, or the JVM's view of physical memory where that file is absent. */
    public static long physicalMemory() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo")))
                if (line.startsWith("MemTotal:"))
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
        } catch (IOException | NumberFormatException e) {
            // fall through
        }
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean())
                .getTotalMemorySize();
    }
}
