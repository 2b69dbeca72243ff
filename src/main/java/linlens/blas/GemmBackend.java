package linlens.blas;

/**
 * The dense linear algebra everything else is built on: GEMM in both precisions, the thin SVD,
 * and a thread count. {@link Blas} is the one entry point callers use; it delegates to the
 * backend named by the system property {@code linlens.gemm} ({@link OpenBlasBackend} by default,
 * {@link JavaBackend} as a plain-Java cross-check).
 *
 * <p>Contract (that of CBLAS/LAPACKE in row-major order): matrices are row-major, {@code off} is
 * the index of element (0,0), {@code ld} the distance between the starts of consecutive rows
 * (≥ the row's length); when {@code beta} is 0, C is only written, never read. Implementations
 * must be safe to call from several threads at once.
 */
public interface GemmBackend {
    /** The name {@code -Dlinlens.gemm} selects it by. */
    String name();

    /** C[m×n] = alpha · op(A) · op(B) + beta · C, op = transpose when the flag is set; op(A) is m×k. */
    void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
               float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
               float beta, float[] c, int cOff, int ldc);

    /** Double-precision {@link #sgemm}. */
    void dgemm(boolean transA, boolean transB, int m, int n, int k, double alpha,
               double[] a, int aOff, int lda, double[] b, int bOff, int ldb,
               double beta, double[] c, int cOff, int ldc);

    /**
     * Thin SVD of the row-major m×n matrix A (which may be destroyed): A = U·diag(s)·Vᵀ with U m×r,
     * Vᵀ r×n, r = min(m, n), singular values descending, U and V with orthonormal columns.
     */
    void sgesdd(int m, int n, float[] a, float[] s, float[] u, float[] vt);

    /** Double-precision {@link #sgesdd}. */
    void dgesdd(int m, int n, double[] a, double[] s, double[] u, double[] vt);

    /** Threads one call may use. */
    int threads();

    /** Sets {@link #threads()}; a backend may cap it (callers read it back). */
    void setThreads(int n);
}
