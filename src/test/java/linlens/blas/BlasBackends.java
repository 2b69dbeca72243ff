package linlens.blas;

import java.util.function.Supplier;

/** For tests in other packages: runs a computation with every {@link Blas} call on a named backend. */
public final class BlasBackends {
    private BlasBackends() {}

    /** The backends to compare: the default first. */
    public static final String[] NAMES = {OpenBlasBackend.NAME, JavaBackend.NAME};

    /** body's result, computed with {@link Blas} delegating to the backend called {@code name}; the previous one is put back. */
    public static <T> T with(String name, Supplier<T> body) {
        GemmBackend previous = Blas.use(Blas.named(name));
        try {
            return body.get();
        } finally {
            Blas.use(previous);
        }
    }
}
