package linlens.scan;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import linlens.analysis.ModelInfo;
import linlens.concepts.ConceptLibrary;
import linlens.model.InputException;
import linlens.model.Transformer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A dataset scan on this machine: the model loaded once, the selected rows of the dataset
 * streamed through {@link PromptScanner}, and the results committed in batches as Parquet parts
 * ({@link PartStore}). Resuming reads which rows the parts hold and skips them; since each row's
 * numbers depend only on the row, the model, the options and the thread count, a scan stopped at
 * any moment and resumed ends with every row once and the same numbers as one uninterrupted run.
 *
 * <p>Use: {@link #prepare} (reads the dataset and checks the folder, before the model loads),
 * then {@link #run}.
 */
public final class DatasetScan {
    /**
     * @param groups       the analysis groups ({@link ScanSchema#GROUPS}); "predict" is always added
     * @param k            top-k of the matrix-free SVDs (decompose)
     * @param maxTokens    longer prompts are recorded with an error
     * @param limit        only the first rows (null: all)
     * @param sample       a sample of that many rows (null: all)
     * @param seed         the sample's seed
     * @param promptColumn the prompt's field (null: "prompt")
     * @param shard        this process's shard, 0..shards−1
     * @param threads      OpenBLAS threads as set by the caller (null: its default); recorded, since the last bits depend on it
     * @param batchRows    rows per committed part
     * @param batchSeconds a part is committed after this long even when not full
     */
    public record Options(List<String> groups, int k, int maxTokens, Long limit, Long sample, long seed, String promptColumn,
                          int shard, int shards, boolean resume, Integer threads, int batchRows, double batchSeconds,
                          String concept) {
        /** Without a concept (no {@code concept} group). */
        public Options(List<String> groups, int k, int maxTokens, Long limit, Long sample, long seed, String promptColumn,
                       int shard, int shards, boolean resume, Integer threads, int batchRows, double batchSeconds) {
            this(groups, k, maxTokens, limit, sample, seed, promptColumn, shard, shards, resume, threads, batchRows, batchSeconds, null);
        }

        public Options {
            List<String> g = new ArrayList<>(List.of("predict"));
            for (String s : groups) {
                if (!ScanSchema.GROUPS.contains(s))
                    throw new InputException("--analyses: unknown analysis '" + s + "' (choose from " + String.join(", ", ScanSchema.GROUPS) + ")");
                if (!g.contains(s)) g.add(s);
            }
            groups = ScanSchema.GROUPS.stream().filter(g::contains).toList();
            if (shards < 1 || shard < 0 || shard >= shards) throw new InputException("--shard " + shard + "/" + shards + ": need 0 <= i < N");
            if (groups.contains("concept") && concept == null) throw new InputException("--analyses concept needs --concept NAME");
            if (!groups.contains("concept") && concept != null) throw new InputException("--concept is for the concept analysis: add it to --analyses");
            if (concept != null) ConceptLibrary.standard().resolve(concept);
        }

        /** What must be the same to continue a scan (not the batch size: parts may differ, rows do not). */
        ObjectNode manifest() {
            ObjectNode n = ScanManifest.newObject();
            var a = n.putArray("analyses");
            groups.forEach(a::add);
            n.put("k", groups.contains("decompose") || groups.contains("concept") ? k : null);
            if (concept != null) {
                // the concept's words as resolved now: a concept file edited between runs is another scan
                n.put("concept", concept);
                n.put("concept_sha256", ConceptLibrary.fingerprint(ConceptLibrary.standard().resolve(concept)));
            }
            n.put("max_tokens", maxTokens);
            n.put("limit", limit);
            n.put("sample", sample);
            n.put("seed", sample == null ? null : seed);
            n.put("prompt_column", promptColumn);
            n.put("shards", shards);
            n.put("threads", threads);
            return n;
        }
    }

    /** Receives the scan's progress. */
    public interface Listener {
        /** Before the first row: rows to scan in all (this shard's selection) and those already committed. */
        default void started(long total, long done) {}

        /** After each row. */
        default void row(long done, long total) {}

        /** After each committed part. */
        default void committed(Path part, int rows, long done, long total) {}

        Listener NONE = new Listener() {};
    }

    /** The end: rows of the selection, those scanned now, those found committed before, rows with an error, parts written now. */
    public record Summary(long total, long scanned, long resumed, long errors, int parts) {}

    private final Path out;
    private final DatasetFile data;
    private final Options options;
    private final ObjectNode datasetNode;
    private final JsonNode oldManifest;

    private DatasetScan(Path out, DatasetFile data, Options options, ObjectNode datasetNode, JsonNode oldManifest) {
        this.out = out;
        this.data = data;
        this.options = options;
        this.datasetNode = datasetNode;
        this.oldManifest = oldManifest;
    }

    /**
     * Reads the dataset once (refusing a file that cannot be read) and checks the results folder:
     * without resume it must be absent or empty; with resume, absent, empty, or holding a scan of
     * the same dataset and options. A null {@code out}: the results go elsewhere (another engine's
     * URI), no folder here to check.
     */
    public static DatasetScan prepare(Path dataset, Path out, Options options) throws IOException {
        DatasetFile data = DatasetFile.open(dataset, options.promptColumn(), ScanSchema.reserved());
        ObjectNode datasetNode = ScanManifest.dataset(data);
        JsonNode old = null;
        if (out == null) return new DatasetScan(null, data, options, datasetNode, null);
        checkCanCreate(out);
        if (!PartStore.isEmptyOrAbsent(out)) {
            if (!options.resume())
                throw new InputException("--out " + out + " is not empty: add --resume to continue the scan there, or choose a new folder");
            old = ScanManifest.read(out);
            if (old == null) throw new InputException("--resume: " + out + " is not empty and has no " + ScanManifest.FILE + " (not a scan's folder)");
            ScanManifest.checkSameScan(out, old, datasetNode, options.manifest());
        }
        return new DatasetScan(out, data, options, datasetNode, old);
    }

    public DatasetFile dataset() { return data; }

    public Options options() { return options; }

    /** The results' columns (the same for every engine). */
    public List<ScanSchema.Column> columns() { return ScanSchema.columns(options.groups(), data.columnNames()); }

    /** The rows this scan (this shard) takes. */
    public RowSelection selection() {
        return RowSelection.of(data.rows(), options.limit(), options.sample(), options.seed(), options.shard(), options.shards());
    }

    /** The model's identity as scan.json records it: path, size, SHA-256 (another engine's workers check theirs against it). */
    public static ObjectNode modelIdentity(Path modelSource) throws IOException { return ScanManifest.model(modelSource); }

    /**
     * scan.json of this scan for another engine, which adds what it records of itself under
     * {@code engine} (the local engine writes none, so that its folders stay as they were).
     */
    public ObjectNode manifest(ObjectNode modelIdentity) {
        return ScanManifest.create(modelIdentity, datasetNode, options.manifest(), columns());
    }

    /** Writes a manifest into a local results folder (created if absent), atomically. */
    public static void writeManifest(Path out, ObjectNode manifest) throws IOException {
        Files.createDirectories(out);
        ScanManifest.write(out, manifest);
    }

    /** (Re)creates a local results folder's results.duckdb, whose view {@code results} reads every part under parts/. */
    public static void writeResultsView(Path out) throws IOException, java.sql.SQLException { PartStore.writeDatabase(out); }

    /** The folder under a results folder that holds the Parquet parts. */
    public static final String PARTS = PartStore.PARTS;

    /** The folder, or the nearest folder above it that exists, must take new files: said now rather than after the model loads. */
    private static void checkCanCreate(Path out) {
        Path p = out.toAbsolutePath().normalize();
        if (Files.exists(p) && !Files.isDirectory(p)) throw new InputException("--out " + out + ": not a folder");
        while (p != null && !Files.exists(p)) p = p.getParent();
        if (p == null || !Files.isDirectory(p) || !Files.isWritable(p))
            throw new InputException("--out " + out + ": cannot create files in " + (p == null ? out : p));
    }

    /** The scan on a loaded model. */
    public Summary run(Transformer model, Listener listener) throws Exception {
        ObjectNode modelNode = ScanManifest.model(Path.of(ModelInfo.of(model).source()));
        if (oldManifest != null) ScanManifest.checkSameModel(out, oldManifest, modelNode);
        PromptScanner scanner = new PromptScanner(model, options.groups(), options.k(), options.maxTokens(), options.concept());
        List<ScanSchema.Column> columns = ScanSchema.columns(options.groups(), data.columnNames());
        Files.createDirectories(out);
        if (oldManifest == null) ScanManifest.write(out, ScanManifest.create(modelNode, datasetNode, options.manifest(), columns));

        RowSelection selection = RowSelection.of(data.rows(), options.limit(), options.sample(), options.seed(), options.shard(), options.shards());
        try (PartStore store = new PartStore(out, columns)) {
            store.deleteStaleTemporaries(options.shard());
            Set<Long> committed = store.committedRows();
            long total = selection.count(), resumed = 0;
            for (long i : selection.indexes()) if (committed.contains(i)) resumed++;
            long[] done = {resumed}, scanned = {0}, errors = {0};
            int[] seq = {store.nextSeq(options.shard())}, parts = {0};
            listener.started(total, resumed);
            List<Map<String, Object>> batch = new ArrayList<>();
            long[] batchStart = {System.nanoTime()};
            data.read(row -> {
                if (!selection.contains(row.index()) || committed.contains(row.index())) return;
                if (batch.isEmpty()) batchStart[0] = System.nanoTime();
                Map<String, Object> result = scanner.scan(row);
                if (result.get("error") != null) errors[0]++;
                batch.add(result);
                scanned[0]++;
                done[0]++;
                listener.row(done[0], total);
                if (batch.size() >= options.batchRows() || (System.nanoTime() - batchStart[0]) / 1e9 >= options.batchSeconds()) {
                    Path part = store.commit(batch, options.shard(), seq[0]++);
                    parts[0]++;
                    listener.committed(part, batch.size(), done[0], total);
                    batch.clear();
                }
            });
            // the rest; and a folder with no part at all gets an empty one, so that the view has its columns
            if (!batch.isEmpty() || store.partFiles().isEmpty()) {
                Path part = store.commit(batch, options.shard(), seq[0]++);
                parts[0]++;
                listener.committed(part, batch.size(), done[0], total);
            }
            store.writeDatabase();
            return new Summary(total, scanned[0], resumed, errors[0], parts[0]);
        }
    }
}
