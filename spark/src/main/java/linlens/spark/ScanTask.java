package linlens.spark;

import linlens.blas.Blas;
import linlens.concepts.ConceptLibrary;
import linlens.scan.PartStore;
import linlens.scan.PromptScanner;
import linlens.scan.ScanSchema;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import scala.jdk.javaapi.CollectionConverters;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * One partition of a scan on an executor: the JVM's model ({@link ExecutorModels}), OpenBLAS at
 * the task's cores, and each row through {@link PromptScanner}, the local engine's code, into a
 * Spark row of the scan's columns ({@link ScanSchema}). Rows are made as the writer asks for them.
 * The concept group's concept comes with the task (the driver's, resolved), since executors do not
 * see the driver's concept folder ({@link ConceptLibrary#acceptSent}).
 */
final class ScanTask implements FlatMapFunction<Iterator<ScanInput>, Row> {
    private final String modelSpec, modelSha256;
    private final ArrayList<String> groups;
    private final int k, maxTokens, threads;
    private final String[] names, types;
    private final String concept, conceptJson, conceptSha256;

    /** {@code concept}, {@code conceptJson} ({@link ConceptLibrary#toJson}) and its SHA-256 as the manifest records it: null without the concept group. */
    ScanTask(String modelSpec, String modelSha256, List<String> groups, int k, int maxTokens, int threads, List<ScanSchema.Column> columns,
             String concept, String conceptJson, String conceptSha256) {
        this.modelSpec = modelSpec;
        this.modelSha256 = modelSha256;
        this.groups = new ArrayList<>(groups);
        this.k = k;
        this.maxTokens = maxTokens;
        this.threads = threads;
        this.names = columns.stream().map(ScanSchema.Column::name).toArray(String[]::new);
        this.types = columns.stream().map(ScanSchema.Column::type).toArray(String[]::new);
        this.concept = concept;
        this.conceptJson = conceptJson;
        this.conceptSha256 = conceptSha256;
    }

    @Override
    public Iterator<Row> call(Iterator<ScanInput> rows) {
        // the last bits of GEMM's sums depend on the thread count: the task's cores, as the driver recorded
        Blas.setThreads(threads);
        if (concept != null) acceptConcept();
        PromptScanner scanner = new PromptScanner(ExecutorModels.get(modelSpec, modelSha256), groups, k, maxTokens, concept);
        return new Iterator<>() {
            @Override public boolean hasNext() { return rows.hasNext(); }

            @Override public Row next() { return row(scanner.scan(rows.next().row())); }
        };
    }

    /** Registers the driver's concept in this JVM and checks that the analysis will read that one. */
    private void acceptConcept() {
        ConceptLibrary.acceptSent(conceptJson);
        String here = ConceptLibrary.fingerprint(ConceptLibrary.standard().resolve(concept));
        if (!here.equals(conceptSha256))
            throw new IllegalStateException("concept " + concept + " on this executor has SHA-256 " + here + ", the scan's driver recorded "
                    + conceptSha256 + " (another scan in this JVM sent a different concept of that name?)");
    }

    private Row row(Map<String, Object> result) {
        Object[] values = new Object[names.length];
        for (int i = 0; i < names.length; i++) values[i] = value(types[i], result.get(names[i]));
        return RowFactory.create(values);
    }

    /** A result's value as Spark's row takes it for the column's type (the conversions PartStore makes for DuckDB). */
    static Object value(String type, Object v) {
        if (v == null) return null;
        return switch (type) {
            case "BIGINT" -> ((Number) v).longValue();
            case "INTEGER" -> ((Number) v).intValue();
            case "DOUBLE" -> ((Number) v).doubleValue();
            case "VARCHAR" -> PartStore.text((String) v);
            default -> {
                String element = type.substring(0, type.length() - 2);
                List<Object> out = new ArrayList<>();
                for (Object e : (List<?>) v) out.add(value(element, e));
                yield CollectionConverters.asScala(out).toSeq();
            }
        };
    }

    /** The Spark schema of the scan's columns. */
    static StructType schema(List<ScanSchema.Column> columns) {
        List<StructField> fields = new ArrayList<>();
        for (ScanSchema.Column c : columns) fields.add(DataTypes.createStructField(c.name(), type(c.type()), true));
        return DataTypes.createStructType(fields);
    }

    private static DataType type(String t) {
        return switch (t) {
            case "BIGINT" -> DataTypes.LongType;
            case "INTEGER" -> DataTypes.IntegerType;
            case "DOUBLE" -> DataTypes.DoubleType;
            case "VARCHAR" -> DataTypes.StringType;
            default -> {
                if (!t.endsWith("[]")) throw new IllegalArgumentException("no Spark type for " + t);
                yield DataTypes.createArrayType(type(t.substring(0, t.length() - 2)), true);
            }
        };
    }
}
