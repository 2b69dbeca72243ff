package linlens.scan;

import linlens.model.Transformer;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ServiceLoader;

/**
 * A scan engine other than this process ({@code linlens scan --engine NAME}): the Apache Spark
 * engine of the {@code spark/} module is one. Engines are found with {@link ServiceLoader}, so the
 * core has no dependency on them; {@code bin/linlens} puts the module on the class path when the
 * command line asks for it. An engine computes every row with {@link PromptScanner} on the columns
 * of {@link ScanSchema}, so that its rows are the local engine's.
 */
public interface ScanEngine {
    /** The name {@code --engine} takes. */
    String name();

    /**
     * What the command line hands over: the prepared scan (dataset read, options checked, and for a
     * local {@code out} the folder checked), {@code --out} as given (a path or a Hadoop URI) and as
     * a folder of this machine ({@code localOut}; null for a URI of another file system), the
     * model loaded on this (driver) machine, how the workers find it ({@code modelSpec}: a path
     * on shared storage or a catalog name), the cluster ({@code master}, null: the engine's
     * default) and OpenBLAS threads per task (null: the engine's default).
     */
    record Request(DatasetScan scan, String out, Path localOut, Transformer model, Path modelSource, String modelSpec,
                   String master, Integer threads, PrintWriter err, boolean quiet) {}

    /** Runs the scan to the end; an {@link linlens.model.InputException} for what the request cannot do. */
    DatasetScan.Summary run(Request request, DatasetScan.Listener listener) throws Exception;

    /** The engine called {@code name} on the class path, or null. */
    static ScanEngine find(String name) {
        for (ScanEngine e : ServiceLoader.load(ScanEngine.class)) if (e.name().equals(name)) return e;
        return null;
    }
}
