package linlens.model;

/**
 * Receives the progress of long work (model loading, the Jacobian sweep, the SVDs). Reports
 * never change results; an implementation may throw (e.g. {@link java.util.concurrent.CancellationException})
 * to stop the work at the next report.
 */
@FunctionalInterface
public interface Progress {
    /** {@code done} of {@code total} units of {@code stage} are finished. */
    void update(String stage, long done, long total);

    Progress NONE = (stage, done, total) -> {};
}
