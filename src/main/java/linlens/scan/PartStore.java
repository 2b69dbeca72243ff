package linlens.scan;

import linlens.model.InputException;
import linlens.report.OutputFiles;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A scan's results folder on disk: {@code parts/part-SHARD-SEQ.parquet}, one Parquet file per
 * committed batch, each written under a hidden temporary name and renamed into place, so that a
 * part is either whole or absent whatever moment the process dies; and {@code results.duckdb},
 * a DuckDB database whose view {@code results} reads every part. The rows are staged in an
 * in-memory DuckDB table with the scan's typed columns and copied out with DuckDB's Parquet writer.
 */
public final class PartStore implements AutoCloseable {
    static final String PARTS = "parts", DATABASE = "results.duckdb";
    private static final Pattern PART = Pattern.compile("part-(\\d+)-(\\d+)\\.parquet");

    private final Path dir, parts;
    private final List<ScanSchema.Column> columns;
    private final Connection db;
    private final PreparedStatement insert;

    public PartStore(Path dir, List<ScanSchema.Column> columns) throws IOException, SQLException {
        this.dir = dir;
        this.parts = dir.resolve(PARTS);
        Files.createDirectories(parts);
        this.columns = List.copyOf(columns);
        this.db = DatasetFile.duckdb();
        StringBuilder create = new StringBuilder("CREATE TEMP TABLE batch (");
        StringBuilder marks = new StringBuilder();
        for (int i = 0; i < columns.size(); i++) {
            create.append(i == 0 ? "" : ", ").append(DatasetFile.identifier(columns.get(i).name())).append(' ').append(columns.get(i).type());
            marks.append(i == 0 ? "?" : ", ?");
        }
        try (Statement s = db.createStatement()) {
            s.execute(create.append(")").toString());
        }
        insert = db.prepareStatement("INSERT INTO batch VALUES (" + marks + ")");
    }

    /** The part files present, any shard. */
    public List<Path> partFiles() throws IOException {
        List<Path> out = new ArrayList<>();
        if (!Files.isDirectory(parts)) return out;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(parts, "part-*.parquet")) {
            for (Path p : ds) if (PART.matcher(p.getFileName().toString()).matches()) out.add(p);
        }
        out.sort(null);
        return out;
    }

    /** The next free sequence number of a shard's parts. */
    public int nextSeq(int shard) throws IOException {
        int next = 0;
        for (Path p : partFiles()) {
            Matcher m = PART.matcher(p.getFileName().toString());
            if (m.matches() && Integer.parseInt(m.group(1)) == shard) next = Math.max(next, Integer.parseInt(m.group(2)) + 1);
        }
        return next;
    }

    /** The row indexes in the committed parts. */
    public Set<Long> committedRows() throws IOException, SQLException {
        Set<Long> out = new HashSet<>();
        List<Path> files = partFiles();
        if (files.isEmpty()) return out;
        try (Statement s = db.createStatement();
             ResultSet r = s.executeQuery("SELECT row_index FROM read_parquet(" + list(files) + ")")) {
            while (r.next()) out.add(r.getLong(1));
        }
        return out;
    }

    /** Deletes a shard's temporary part files, left behind by a process that was killed while writing one. */
    public void deleteStaleTemporaries(int shard) throws IOException {
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(parts, ".part-" + shard + "-*.tmp")) {
            for (Path p : ds) Files.deleteIfExists(p);
        }
    }

    /** Writes the rows as part SEQ of the shard: staged, copied to a temporary file, synced, renamed. */
    public Path commit(List<Map<String, Object>> rows, int shard, int seq) throws IOException, SQLException {
        for (Map<String, Object> row : rows) {
            for (int i = 0; i < columns.size(); i++) bind(i + 1, columns.get(i), row.get(columns.get(i).name()));
            insert.addBatch();
        }
        if (!rows.isEmpty()) insert.executeBatch();
        Path target = parts.resolve(String.format("part-%d-%06d.parquet", shard, seq));
        Path tmp = OutputFiles.newTempFile(target);
        try {
            try (Statement s = db.createStatement()) {
                s.execute("COPY (SELECT * FROM batch ORDER BY row_index) TO " + DatasetFile.literal(tmp.toString()) + " (FORMAT parquet)");
                s.execute("DELETE FROM batch");
            }
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ch.force(true);
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            syncDirectory(parts);
        } finally {
            OutputFiles.delete(tmp);
        }
        return target;
    }

    private void bind(int at, ScanSchema.Column c, Object v) throws SQLException {
        if (v == null) {
            insert.setNull(at, Types.NULL);
            return;
        }
        switch (c.type()) {
            case "BIGINT" -> insert.setLong(at, ((Number) v).longValue());
            case "INTEGER" -> insert.setInt(at, ((Number) v).intValue());
            case "DOUBLE" -> insert.setDouble(at, ((Number) v).doubleValue());
            case "VARCHAR" -> insert.setString(at, text((String) v));
            default -> {
                String element = c.type().substring(0, c.type().length() - 2);
                Object[] values = ((List<?>) v).toArray();
                for (int i = 0; i < values.length; i++) if (values[i] instanceof String s) values[i] = text(s);
                insert.setArray(at, db.createArrayOf(element, values));
            }
        }
    }

    /**
     * Text as UTF-8 can hold it: a lone UTF-16 surrogate (a JSON Lines prompt may spell one, as
     * "\\ud800"; such a row is recorded with its error) becomes U+FFFD, said rather than left to
     * the driver, which writes '?'. Public for the other engines, whose writers would do the same.
     */
    public static String text(String s) {
        StringBuilder b = null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean lone = Character.isHighSurrogate(c) ? i + 1 >= s.length() || !Character.isLowSurrogate(s.charAt(i + 1))
                    : Character.isLowSurrogate(c) && (i == 0 || !Character.isHighSurrogate(s.charAt(i - 1)));
            if (lone && b == null) b = new StringBuilder(s.substring(0, i));
            if (b != null) b.append(lone ? '\uFFFD' : c);
        }
        return b == null ? s : b.toString();
    }

    /** (Re)creates {@code results.duckdb} with its view over the parts, under a temporary name, then renamed. */
    public void writeDatabase() throws IOException, SQLException { writeDatabase(dir); }

    /** The same for any results folder (another engine's parts: any file under parts/ named part-*.parquet). */
    static void writeDatabase(Path dir) throws IOException, SQLException {
        Path parts = dir.resolve(PARTS);
        Path target = dir.resolve(DATABASE);
        Path tmpDir = OutputFiles.newTempDirectory(target);
        try {
            Path tmp = tmpDir.resolve(DATABASE);
            try (Connection c = java.sql.DriverManager.getConnection("jdbc:duckdb:" + tmp); Statement s = c.createStatement()) {
                s.execute("CREATE VIEW results AS " + selectAll(parts.toAbsolutePath()));
            }
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            OutputFiles.delete(tmpDir);
        }
    }

    /** The query that reads every part of a results folder's parts/ (the view's definition). */
    static String selectAll(Path partsDir) {
        return "SELECT * FROM read_parquet(" + DatasetFile.literal(partsDir.resolve("part-*.parquet").toString()) + ", union_by_name = true)";
    }

    static String list(List<Path> files) {
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < files.size(); i++) b.append(i == 0 ? "" : ", ").append(DatasetFile.literal(files.get(i).toString()));
        return b.append("]").toString();
    }

    private static void syncDirectory(Path d) {
        try (FileChannel ch = FileChannel.open(d, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException ignored) {
            // not every file system syncs folders; the rename is atomic either way
        }
    }

    @Override
    public void close() throws SQLException {
        insert.close();
        db.close();
    }

    /** A folder that will hold results: absent, empty, or (with resume) a scan's. */
    static boolean isEmptyOrAbsent(Path dir) {
        if (!Files.exists(dir)) return true;
        if (!Files.isDirectory(dir)) throw new InputException("--out " + dir + ": not a folder");
        try (var s = Files.list(dir)) {
            return s.findAny().isEmpty();
        } catch (IOException e) {
            throw new InputException("--out " + dir + ": cannot be read (" + e.getMessage() + ")");
        }
    }
}
