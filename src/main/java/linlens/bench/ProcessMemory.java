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

    /**
     * Bytes this process has caused to be read from storage (read_bytes of /proc/self/io: page
     * faults and reads ahead of memory-mapped weights included; -1 where the kernel does not say).
     */
    public static long diskReadBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/io")))
                if (line.startsWith("read_bytes:")) return Long.parseLong(line.substring(11).trim());
        } catch (IOException | NumberFormatException | SecurityException e) {
            // not available here
        }
        return -1;
    }

    /** The CPU's model name from /proc/cpuinfo ("unknown" where absent). */
    public static String cpuModel() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo")))
                if (line.startsWith("model name")) return line.substring(line.indexOf(':') + 1).trim();
        } catch (IOException | SecurityException e) {
            // fall through
        }
        return "unknown";
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
