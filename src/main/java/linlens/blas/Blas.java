package linlens.blas;

import java.util.concurrent.atomic.LongAdder;

/**
 * The one entry point for dense linear algebra: GEMM, thin SVD and the thread count, with the
 * GEMM flop and time counters. All matrices are row-major. The work is done by a
 * {@link GemmBackend}, chosen by the system property {@value #PROPERTY} (read once, at the first
 * call): {@value OpenBlasBackend#NAME} ({@link OpenBlasBackend}, the default) or
 * {@value JavaBackend#NAME} ({@link JavaBackend}, plain loops: a cross-check and a template).
 * To add a backend, implement {@link GemmBackend} and give it a name in {@link #named}.
 */
public final class Blas {
    /** The system property naming the backend. */
    public static final String PROPERTY = "linlens.gemm";

    /** Null until the first call reads {@value #PROPERTY}. */
    private static volatile GemmBackend backend;

    /** Floating-point operations of every GEMM so far (2·m·n·k each): what benchmarks divide by. */
    private static final LongAdder GEMM_FLOPS = new LongAdder();
    /** Wall time spent inside those GEMM calls: what separates BLAS time from everything around it. */
    private static final LongAdder GEMM_NANOS = new LongAdder();

    private Blas() {}

    /** The backend for a {@value #PROPERTY} value; an unknown name is refused in one line. */
    static GemmBackend named(String name) {
        return switch (name) {
            case OpenBlasBackend.NAME -> new OpenBlasBackend();
            case JavaBackend.NAME -> new JavaBackend();
            default -> throw new IllegalArgumentException("unknown GEMM backend '" + name + "' in -D" + PROPERTY
                    + " (known: " + OpenBlasBackend.NAME + ", " + JavaBackend.NAME + ")");
        };
    }

    /** The backend every call goes to, selected from {@value #PROPERTY} at the first call. */
    public static GemmBackend backend() {
        GemmBackend b = backend;
        return b != null ? b : select();
    }

    private static synchronized GemmBackend select() {
        if (backend == null) backend = named(System.getProperty(PROPERTY, OpenBlasBackend.NAME));
        return backend;
    }

    /**
     * Replaces the backend for the whole JVM; returns the previous one. For tests that compare
     * backends: a call running on another thread meanwhile may land on either.
     */
    static GemmBackend use(GemmBackend b) {
        synchronized (Blas.class) {
            GemmBackend previous = backend();
            backend = b;
            return previous;
        }
    }

    /** Total GEMM floating-point operations issued through this class since the JVM started. */
    public static long gemmFlops() { return GEMM_FLOPS.sum(); }

    /** Nanoseconds spent inside GEMM calls through this class since the JVM started (summed over calling threads). */
    public static long gemmNanos() { return GEMM_NANOS.sum(); }

    public static void setThreads(int n) { backend().setThreads(n); }

    public static int threads() { return backend().threads(); }

    /** C[m×n] = alpha · op(A) · op(B) + beta · C, row-major, op = transpose when the flag is set. */
    public static void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                             float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                             float beta, float[] c, int cOff, int ldc) {
        if (m == 0 || n == 0) return;
        GemmBackend be = backend();
        GEMM_FLOPS.add(2L * m * n * k);
        long t0 = System.nanoTime();
        // The hot spot: nearly all of every command's time is spent in this call (and its fp64
        // twin below). The forward pass, the detached system's sweeps and the Jacobian are chains
        // of products with weight tiles; the rest is streaming loops over the same arrays.
        be.sgemm(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
        GEMM_NANOS.add(System.nanoTime() - t0);
    }

    /** Double-precision {@link #sgemm}. */
    public static void dgemm(boolean transA, boolean transB, int m, int n, int k, double alpha,
                             double[] a, int aOff, int lda, double[] b, int bOff, int ldb,
                             double beta, double[] c, int cOff, int ldc) {
        if (m == 0 || n == 0) return;
        GemmBackend be = backend();
        GEMM_FLOPS.add(2L * m * n * k);
        long t0 = System.nanoTime();
        be.dgemm(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
        GEMM_NANOS.add(System.nanoTime() - t0);
    }

    /**
     * Thin SVD of the row-major m×n matrix A (destroyed): A = U·diag(s)·Vᵀ with U m×r, Vᵀ r×n,
     * r = min(m, n), singular values descending.
     */
    public static void sgesdd(int m, int n, float[] a, float[] s, float[] u, float[] vt) {
        backend().sgesdd(m, n, a, s, u, vt);
    }

    /** Double-precision {@link #sgesdd}. */
    public static void dgesdd(int m, int n, double[] a, double[] s, double[] u, double[] vt) {
        backend().dgesdd(m, n, a, s, u, vt);
    }
}
