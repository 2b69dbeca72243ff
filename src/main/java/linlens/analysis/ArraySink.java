package linlens.analysis;

import java.io.IOException;

/**
 * Where an analysis writes its arrays: a folder of .npy files ({@code --export}) or the app's
 * .npz download, both with a manifest of shapes and meanings. Arrays are written as they are
 * computed, so an analysis of many Jacobians never holds them all.
 */
public interface ArraySink {
    /** An array of {@code float[]} or {@code double[]} data, row-major in {@code shape}. */
    void add(String name, int[] shape, Object data, String description) throws IOException;

    /** A fact for the manifest (the analysis, the model, the positions...). */
    void describe(String key, Object value);

    /** Whether anyone wants the arrays (analyses skip the work of making them otherwise). */
    default boolean wanted() { return true; }

    /** Takes nothing. */
    ArraySink NONE = new ArraySink() {
        @Override public void add(String name, int[] shape, Object data, String description) {}
        @Override public void describe(String key, Object value) {}
        @Override public boolean wanted() { return false; }
    };
}
