package linlens.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Peak memory of this process over a stretch of work: the resident set's high-water mark
 * (VmHWM, which Linux resets on writing 5 to /proc/self/clear_refs; it counts touched pages of
 * memory-mapped weights too) and the Java heap pools' peak use.
 */
public final class ProcessMemory {
    private static final Path STATUS = Path.of("/proc/self/status"), CLEAR_REFS = Path.of("/proc/self/clear_refs");

    private ProcessMemory() {}

    /** Starts a new measurement: collects garbage, then resets both high-water marks. */
    public static void reset() {
        System.gc();
        try {
            Files.writeString(CLEAR_REFS, "5");
        } catch (IOException | SecurityException e) {
            throw new IllegalStateException("cannot reset the peak resident set size through " + CLEAR_REFS + ": " + e.getMessage(), e);
        }
        for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) if (p.getType() == MemoryType.HEAP) p.resetPeakUsage();
    }

    /** Peak resident set size since the last {@link #reset}, bytes. */
    public static long peakRss() { return statusKb("VmHWM:") * 1024; }

    /** Sum of the heap pools' peak use since the last {@link #reset}, bytes. */
    public static long peakHeap() {
        long s = 0;
        for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans())
            if (p.getType() == MemoryType.HEAP) s += p.getPeakUsage().getUsed();
        return s;
    }

    private static long statusKb(String key) {
        try {
            for (String line : Files.readAllLines(STATUS))
                if (line.startsWith(key)) return Long.parseLong(line.substring(key.length()).trim().split("\\s+")[0]);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + STATUS + ": " + e.getMessage(), e);
        }
        throw new IllegalStateException(STATUS + " has no " + key);
    }
}
