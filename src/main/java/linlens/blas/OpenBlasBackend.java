package linlens.blas;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * OpenBLAS (with its LAPACK) called through the Java foreign-function API: the default backend.
 *
 * <p>The native library comes from the {@code org.bytedeco:openblas} jar; JavaCPP's loader
 * extracts and loads it (when this class is first used), and we bind the few C entry points we
 * need directly. Calls are "critical" so Java heap arrays are passed to BLAS without copying.
 */
public final class OpenBlasBackend implements GemmBackend {
    public static final String NAME = "openblas";

    private static final int ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112;

    private static final MethodHandle SGEMM, DGEMM, SGESDD, DGESDD, SET_THREADS, GET_THREADS;

    static {
        try {
            org.bytedeco.javacpp.Loader.load(org.bytedeco.openblas.global.openblas_nolapack.class);
            org.bytedeco.javacpp.Loader.load(org.bytedeco.openblas.global.openblas.class);
        } catch (Throwable t) {
            throw new ExceptionInInitializerError("cannot load the OpenBLAS native library: " + t);
        }
        Linker linker = Linker.nativeLinker();
        SymbolLookup lookup = SymbolLookup.loaderLookup();
        Linker.Option critical = Linker.Option.critical(true);
        FunctionDescriptor gemmF = FunctionDescriptor.ofVoid(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
                JAVA_FLOAT, ADDRESS, JAVA_INT, ADDRESS, JAVA_INT, JAVA_FLOAT, ADDRESS, JAVA_INT);
        FunctionDescriptor gemmD = FunctionDescriptor.ofVoid(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
                JAVA_DOUBLE, ADDRESS, JAVA_INT, ADDRESS, JAVA_INT, JAVA_DOUBLE, ADDRESS, JAVA_INT);
        FunctionDescriptor gesdd = FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_BYTE, JAVA_INT, JAVA_INT,
                ADDRESS, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, JAVA_INT);
        SGEMM = linker.downcallHandle(find(lookup, "cblas_sgemm"), gemmF, critical);
        DGEMM = linker.downcallHandle(find(lookup, "cblas_dgemm"), gemmD, critical);
        SGESDD = linker.downcallHandle(find(lookup, "LAPACKE_sgesdd"), gesdd, critical);
        DGESDD = linker.downcallHandle(find(lookup, "LAPACKE_dgesdd"), gesdd, critical);
        SET_THREADS = linker.downcallHandle(find(lookup, "openblas_set_num_threads"), FunctionDescriptor.ofVoid(JAVA_INT));
        GET_THREADS = linker.downcallHandle(find(lookup, "openblas_get_num_threads"), FunctionDescriptor.of(JAVA_INT));
    }

    private static MemorySegment find(SymbolLookup lookup, String name) {
        return lookup.find(name).orElseThrow(() -> new ExceptionInInitializerError("OpenBLAS has no symbol " + name));
    }

    private static MemorySegment at(float[] a, long off) { return MemorySegment.ofArray(a).asSlice(off * Float.BYTES); }
    private static MemorySegment at(double[] a, long off) { return MemorySegment.ofArray(a).asSlice(off * Double.BYTES); }

    public String name() { return NAME; }

    public void setThreads(int n) {
        try { SET_THREADS.invokeExact(n); } catch (Throwable t) { throw new IllegalStateException(t); }
    }

    public int threads() {
        try { return (int) GET_THREADS.invokeExact(); } catch (Throwable t) { throw new IllegalStateException(t); }
    }

    public void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                      float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                      float beta, float[] c, int cOff, int ldc) {
        try {
            SGEMM.invokeExact(ROW_MAJOR, transA ? TRANS : NO_TRANS, transB ? TRANS : NO_TRANS, m, n, k,
                    alpha, at(a, aOff), lda, at(b, bOff), ldb, beta, at(c, cOff), ldc);
        } catch (Throwable t) { throw rethrow(t); }
    }

    public void dgemm(boolean transA, boolean transB, int m, int n, int k, double alpha,
                      double[] a, int aOff, int lda, double[] b, int bOff, int ldb,
                      double beta, double[] c, int cOff, int ldc) {
        try {
            DGEMM.invokeExact(ROW_MAJOR, transA ? TRANS : NO_TRANS, transB ? TRANS : NO_TRANS, m, n, k,
                    alpha, at(a, aOff), lda, at(b, bOff), ldb, beta, at(c, cOff), ldc);
        } catch (Throwable t) { throw rethrow(t); }
    }

    public void sgesdd(int m, int n, float[] a, float[] s, float[] u, float[] vt) {
        int r = Math.min(m, n);
        int info;
        try {
            info = (int) SGESDD.invokeExact(ROW_MAJOR, (byte) 'S', m, n, at(a, 0), n, at(s, 0), at(u, 0), r, at(vt, 0), n);
        } catch (Throwable t) { throw rethrow(t); }
        if (info != 0) throw new ArithmeticException("LAPACK sgesdd failed with info=" + info);
    }

    public void dgesdd(int m, int n, double[] a, double[] s, double[] u, double[] vt) {
        int r = Math.min(m, n);
        int info;
        try {
            info = (int) DGESDD.invokeExact(ROW_MAJOR, (byte) 'S', m, n, at(a, 0), n, at(s, 0), at(u, 0), r, at(vt, 0), n);
        } catch (Throwable t) { throw rethrow(t); }
        if (info != 0) throw new ArithmeticException("LAPACK dgesdd failed with info=" + info);
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) return r;
        if (t instanceof Error e) throw e;
        return new IllegalStateException(t);
    }
}
