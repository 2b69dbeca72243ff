package linlens.spark;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import linlens.concepts.Concept;
import linlens.concepts.ConceptLibrary;
import linlens.model.InputException;
import linlens.scan.DatasetScan;
import linlens.scan.RowSelection;
import linlens.scan.ScanEngine;
import linlens.scan.ScanSchema;
import org.apache.hadoop.fs.FileSystem;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.lit;

/**
 * {@code linlens scan --engine spark}: the scan as one Spark job. The driver (this process) reads
 * the dataset and the selection as the local engine does, and hands the rows out in partitions;
 * each executor loads the model once ({@link ExecutorModels}) and runs its partitions through the
 * local engine's {@link linlens.scan.PromptScanner} ({@link ScanTask}), with the concept group's
 * concept as the driver resolved it (executors do not see its concept folder); Spark's Parquet writer
 * commits the parts under {@code OUT/parts} through Hadoop's output committer, all of them when
 * the job succeeds and none otherwise. A folder of this machine then gets scan.json and
 * results.duckdb, as the local engine writes them, so that 'linlens query' and 'scan-report' read it.
 *
 * <p>Spark settings: every {@code spark.*} Java system property (as spark-submit passes them) is
 * taken; besides, {@code spark.task.cpus} and OpenBLAS's threads are {@code --threads} (default 1),
 * and with a non-local master the jars named by the system property {@code linlens.spark.jars}
 * (bin/linlens sets it: the core and this module) are shipped to the executors.
 */
public final class SparkScanEngine implements ScanEngine {
    /** The jars the executors need besides Spark's own (comma separated); bin/linlens sets it. */
    public static final String JARS_PROPERTY = "linlens.spark.jars";

    @Override
    public String name() { return "spark"; }

    @Override
    public DatasetScan.Summary run(Request r, DatasetScan.Listener listener) throws Exception {
        DatasetScan scan = r.scan();
        DatasetScan.Options options = scan.options();
        int threads = r.threads() == null ? 1 : r.threads();
        String master = r.master() != null ? r.master() : System.getProperty("spark.master", "local[*]");
        Path localOut = r.localOut();
        String outUri = localOut != null ? localOut.toAbsolutePath().normalize().toUri().toString() : r.out();
        String partsUri = outUri.replaceAll("/+$", "") + "/" + DatasetScan.PARTS;

        ObjectNode modelIdentity = DatasetScan.modelIdentity(r.modelSource());
        String sha256 = modelIdentity.get("sha256").asText();
        // a path travels as an absolute path (storage every node sees); a name as itself (each node's cache)
        Path asPath = Path.of(r.modelSpec());
        String modelSpec = Files.exists(asPath) ? asPath.toAbsolutePath().normalize().toString() : r.modelSpec();

        List<ScanSchema.Column> columns = scan.columns();
        List<ScanInput> rows = selectedRows(scan);
        long total = rows.size();
        Concept concept = options.concept() == null ? null : ConceptLibrary.standard().resolve(options.concept());
        String conceptJson = concept == null ? null : ConceptLibrary.toJson(concept);
        if (!r.quiet()) r.err().println("spark: " + total + " rows to scan on " + master);

        SparkSession spark = session(master, threads);
        try {
            ExecutorModels.put(modelSpec, sha256, r.model());
            ObjectNode manifest = scan.manifest(modelIdentity);
            manifest.putObject("engine").put("name", "spark").put("master", master).put("spark_version", spark.version())
                    .put("task_cpus", threads);
            if (localOut != null) DatasetScan.writeManifest(localOut, manifest);
            else writeRemoteManifest(spark, outUri, manifest);

            JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
            int partitions = partitions(total, options.batchRows(), jsc.defaultParallelism());
            // the executors check their concept against the fingerprint scan.json records
            String conceptSha256 = concept == null ? null : manifest.path("options").path("concept_sha256").asText();
            JavaRDD<Row> results = jsc.parallelize(rows, partitions).mapPartitions(new ScanTask(modelSpec, sha256, options.groups(),
                    options.k(), options.maxTokens(), threads, columns, options.concept(), conceptJson, conceptSha256));
            AtomicLong done = new AtomicLong();
            listener.started(total, 0);
            spark.sparkContext().addSparkListener(new SparkListener() {
                @Override
                public void onTaskEnd(SparkListenerTaskEnd end) {
                    if (end.taskMetrics() == null || !end.taskInfo().successful()) return;
                    listener.row(done.addAndGet(end.taskMetrics().outputMetrics().recordsWritten()), total);
                }
            });
            spark.createDataFrame(results, ScanTask.schema(columns)).write().mode(SaveMode.ErrorIfExists).parquet(partsUri);

            Row counts = spark.read().parquet(partsUri).agg(count(lit(1)), count(col("error"))).first();
            int parts = spark.read().parquet(partsUri).inputFiles().length;
            if (localOut != null) DatasetScan.writeResultsView(localOut);
            return new DatasetScan.Summary(total, counts.getLong(0), 0, counts.getLong(1), parts);
        } finally {
            spark.stop();
            // a local master's executors ran in this JVM: its next scan reads the concept folder again
            if (concept != null) ConceptLibrary.forgetSent(concept);
        }
    }

    /** Parts of at most --batch rows, and at least one per core the cluster offers (each part a task). */
    static int partitions(long rows, int batchRows, int parallelism) {
        long byBatch = (rows + batchRows - 1) / batchRows;
        return (int) Math.max(1, Math.min(Math.max(rows, 1), Math.max(byBatch, parallelism)));
    }

    /** The selected rows, read on the driver in file order (the dataset's file need not be on the workers). */
    private static List<ScanInput> selectedRows(DatasetScan scan) throws Exception {
        RowSelection selection = scan.selection();
        List<ScanInput> rows = new ArrayList<>();
        scan.dataset().read(row -> { if (selection.contains(row.index())) rows.add(ScanInput.of(row)); });
        return rows;
    }

    private static SparkSession session(String master, int threads) {
        SparkSession.Builder b = SparkSession.builder().appName("linlens scan").master(master);
        boolean local = master.startsWith("local");
        defaultConfig(b, "spark.ui.showConsoleProgress", "false");
        // the plan of a scan's ~30 columns is longer than Spark's default, which it warns about
        defaultConfig(b, "spark.sql.debug.maxToStringFields", "1000");
        if (local) {
            // nothing outside this process needs to reach a local master's driver
            defaultConfig(b, "spark.ui.enabled", "false");
            defaultConfig(b, "spark.driver.host", "127.0.0.1");
            defaultConfig(b, "spark.driver.bindAddress", "127.0.0.1");
        }
        b.config("spark.task.cpus", threads);
        b.config("spark.executorEnv.OPENBLAS_NUM_THREADS", threads);
        String javaOptions = System.getProperty("spark.executor.extraJavaOptions", "");
        if (!javaOptions.contains("--enable-native-access"))
            b.config("spark.executor.extraJavaOptions", (javaOptions + " --enable-native-access=ALL-UNNAMED").strip());
        String jars = System.getProperty(JARS_PROPERTY);
        if (!local && jars != null && !jars.isBlank()) {
            String given = System.getProperty("spark.jars", "");
            b.config("spark.jars", given.isBlank() ? jars : given + "," + jars);
        }
        return b.getOrCreate();
    }

    /** A setting unless the user gave it as a system property (-Dspark...=, or spark-submit's --conf). */
    private static void defaultConfig(SparkSession.Builder b, String key, String value) {
        if (System.getProperty(key) == null) b.config(key, value);
    }

    /** scan.json on another file system: refused when the folder has anything in it; written under a temporary name, then renamed. */
    private static void writeRemoteManifest(SparkSession spark, String outUri, ObjectNode manifest) throws IOException {
        org.apache.hadoop.fs.Path dir = new org.apache.hadoop.fs.Path(outUri);
        FileSystem fs = dir.getFileSystem(spark.sparkContext().hadoopConfiguration());
        if (fs.exists(dir) && (!fs.getFileStatus(dir).isDirectory() || fs.listStatus(dir).length > 0))
            throw new InputException("--out " + outUri + " is not empty: choose a new folder");
        org.apache.hadoop.fs.Path target = new org.apache.hadoop.fs.Path(dir, "scan.json"), tmp = new org.apache.hadoop.fs.Path(dir, ".scan.json.tmp");
        try (OutputStream o = fs.create(tmp, true)) {
            new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(o, manifest);
        }
        if (!fs.rename(tmp, target)) throw new IOException("cannot rename " + tmp + " to " + target);
    }
}
