package linlens.cli;

import linlens.blas.Blas;
import linlens.model.InputException;
import picocli.CommandLine.Option;

/**
 * {@code --threads N}: the number of threads every computing command uses. It is OpenBLAS's
 * thread count (the commands' only parallelism: their Java code runs on the calling thread);
 * GEMM and LAPACK split their sums by thread, so the last bits of results depend on it (README:
 * "What is bit-stable").
 */
public final class ThreadsOption {
    /** Far above any core count; a bound so that typos like 10000 fail instead of spawning threads. */
    static final int MAX = 1024;

    /** OpenBLAS's count before this process (or test JVM) changed it; 0 when unchanged. */
    private static int before;

    @Option(names = "--threads", paramLabel = "N",
            description = "Threads for the linear algebra (OpenBLAS; default: its own choice, OPENBLAS_NUM_THREADS or one per core). "
                    + "Same machine, --threads and --precision give bit-identical results.")
    Integer threads;

    /** Checks the value and sets OpenBLAS's thread count; call before any computation. */
    void apply() {
        if (threads == null) return;
        if (threads < 1 || threads > MAX) throw new InputException("--threads " + threads + " out of range 1.." + MAX);
        int previous = Blas.threads();
        Blas.setThreads(threads);
        int now = Blas.threads();
        synchronized (ThreadsOption.class) {
            if (before == 0) before = previous;
        }
        if (now != threads)
            throw new InputException("--threads " + threads + " out of range 1.." + now + " (the most this OpenBLAS build runs)");
    }

    /** Puts OpenBLAS's thread count back (in-process runs share one OpenBLAS). */
    static void restore() {
        int b;
        synchronized (ThreadsOption.class) {
            b = before;
            before = 0;
        }
        if (b > 0) Blas.setThreads(b);
    }
}
