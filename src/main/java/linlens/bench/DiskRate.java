package linlens.bench;

import com.fasterxml.jackson.annotation.JsonProperty;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.function.Consumer;

/**
 * The disk's sequential read rate, measured on the model file itself with direct I/O (O_DIRECT:
 * the page cache neither serves nor keeps the bytes, so what is measured is the device): what a
 * stage that streams its weights is compared with when it is bound by the disk rather than the cores.
 *
 * @param bytes   bytes read
 * @param seconds wall time of the reads
 * @param method  how: direct I/O, or buffered reads where the file system refuses O_DIRECT (an upper bound then)
 */
public record DiskRate(long bytes, double seconds, String method) {
    /** At most this much is read: 16 MiB requests, long enough for the rate to settle. */
    static final long SAMPLE_BYTES = 1L << 30;
    static final int REQUEST = 16 << 20;

    @JsonProperty("bytes_per_s")
    public double bytesPerSecond() { return bytes / seconds; }

    /** Reads up to {@value #SAMPLE_BYTES} bytes from the middle of {@code file}. */
    public static DiskRate measure(Path file, Consumer<String> log) throws IOException {
        DiskRate r;
        try {
            r = read(file, true);
        } catch (UnsupportedOperationException | IOException e) {
            r = read(file, false);
        }
        log.accept(String.format("disk read rate %.0f MB/s (%s, %.2f GB in %.2f s)", r.bytesPerSecond() / 1e6, r.method(),
                r.bytes() / 1e9, r.seconds()));
        return r;
    }

    private static DiskRate read(Path file, boolean direct) throws IOException {
        var options = direct ? new java.nio.file.OpenOption[]{StandardOpenOption.READ, com.sun.nio.file.ExtendedOpenOption.DIRECT}
                : new java.nio.file.OpenOption[]{StandardOpenOption.READ};
        try (FileChannel ch = FileChannel.open(file, options)) {
            long size = ch.size(), align = 1 << 12;
            long want = Math.min(SAMPLE_BYTES, size / 2 / REQUEST * REQUEST);
            long pos = (size / 4) / align * align;  // a quarter in: past the header, clear of the end
            ByteBuffer buf = ByteBuffer.allocateDirect(REQUEST + (int) align).alignedSlice((int) align);
            long done = 0, t0 = System.nanoTime();
            while (done < want) {
                buf.clear();
                int got = ch.read(buf, pos + done);
                if (got <= 0) break;
                done += got;
            }
            return new DiskRate(done, (System.nanoTime() - t0) / 1e9, direct ? "direct I/O" : "buffered reads (O_DIRECT refused)");
        }
    }
}
