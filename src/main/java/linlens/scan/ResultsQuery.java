package linlens.scan;

import linlens.model.InputException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Array;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * SQL over a results folder ({@code linlens query}): the parts are loaded into a table
 * {@code results} of an in-memory DuckDB, then every access to files (and extensions, and the
 * settings) is switched off and locked before the user's SQL runs. So no statement can write or
 * read a file: COPY ... TO, ATTACH, EXPORT, read_csv and INSTALL are refused. (A view over the
 * parts, as in results.duckdb, would need file access left on for the parts' paths, and DuckDB
 * lets such an allowed path be written too; the table costs memory instead, the size of the
 * results, which are small beside what produced them.)
 */
public final class ResultsQuery {
    private ResultsQuery() {}

    /** A query's answer: the column names and the rows (Long, Double, String, List, ... or null). */
    public record Table(List<String> columns, List<List<Object>> rows) {}

    /** The SQL was refused or failed: one line, DuckDB's own. */
    public static final class QueryException extends InputException {
        public QueryException(String message) { super(message); }
    }

    public static Table run(Path dir, String sql) throws IOException {
        try (Results r = open(dir)) {
            return r.query(sql);
        }
    }

    /**
     * The parts of a results folder loaded into an in-memory DuckDB, file access locked off, for
     * several queries on one load ({@code linlens scan-report}'s aggregates).
     */
    public static Results open(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) throw new InputException(dir + ": no such results folder");
        List<Path> parts = partFiles(dir);
        if (parts.isEmpty()) throw new InputException(dir + ": no results (no " + PartStore.PARTS + "/part-*.parquet; is it a scan's --out folder?)");
        Connection c;
        try {
            c = DatasetFile.duckdb();
        } catch (SQLException e) {
            throw new IllegalStateException("DuckDB: " + DatasetFile.sqlMessage(e), e);
        }
        try (Statement s = c.createStatement()) {
            s.execute("CREATE TABLE results AS SELECT * FROM read_parquet(" + PartStore.list(parts) + ", union_by_name = true)");
            s.execute("SET enable_external_access = false");
            s.execute("SET autoinstall_known_extensions = false");
            s.execute("SET autoload_known_extensions = false");
            s.execute("SET lock_configuration = true");
        } catch (SQLException e) {
            close(c);
            throw new InputException(dir + ": the parts cannot be read (" + DatasetFile.sqlMessage(e) + ")");
        }
        return new Results(c);
    }

    /** A results folder's table {@code results}, loaded once; closing it frees the database. */
    public static final class Results implements AutoCloseable {
        private final Connection c;

        private Results(Connection c) { this.c = c; }

        /** The answer to one statement (no rows and no columns for a statement that returns none). */
        public Table query(String sql) {
            try (Statement s = c.createStatement()) {
                if (!s.execute(sql)) return new Table(List.of(), List.of());
                try (ResultSet r = s.getResultSet()) {
                    ResultSetMetaData md = r.getMetaData();
                    List<String> cols = new ArrayList<>();
                    for (int i = 1; i <= md.getColumnCount(); i++) cols.add(md.getColumnLabel(i));
                    List<List<Object>> rows = new ArrayList<>();
                    while (r.next()) {
                        List<Object> row = new ArrayList<>();
                        for (int i = 1; i <= cols.size(); i++) row.add(value(r.getObject(i)));
                        rows.add(row);
                    }
                    return new Table(cols, rows);
                }
            } catch (SQLException e) {
                throw new QueryException("query: " + DatasetFile.sqlMessage(e));
            }
        }

        @Override
        public void close() { ResultsQuery.close(c); }
    }

    private static void close(Connection c) {
        try {
            c.close();
        } catch (SQLException e) {
            throw new IllegalStateException("DuckDB: " + DatasetFile.sqlMessage(e), e);
        }
    }

    private static List<Path> partFiles(Path dir) throws IOException {
        List<Path> out = new ArrayList<>();
        Path parts = dir.resolve(PartStore.PARTS);
        if (!Files.isDirectory(parts)) return out;
        try (var ds = Files.newDirectoryStream(parts, "part-*.parquet")) {
            for (Path p : ds) if (Files.isRegularFile(p)) out.add(p.toAbsolutePath());
        }
        out.sort(null);
        return out;
    }

    /** JDBC values as plain Java: lists for DuckDB's LIST values, text for anything exotic. */
    private static Object value(Object v) throws SQLException {
        return switch (v) {
            case null -> null;
            case Array a -> {
                List<Object> l = new ArrayList<>();
                for (Object e : (Object[]) a.getArray()) l.add(value(e));
                yield l;
            }
            case Number n -> n;
            case Boolean b -> b;
            case String s -> s;
            case Object[] a -> Arrays.stream(a).map(x -> { try { return value(x); } catch (SQLException e) { throw new IllegalStateException(e); } }).toList();
            default -> v.toString();
        };
    }
}
