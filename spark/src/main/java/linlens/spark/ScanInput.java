package linlens.spark;

import linlens.scan.DatasetRow;

import java.io.Serializable;
import java.util.LinkedHashMap;

/** A dataset row on its way to an executor ({@link DatasetRow}, serializable; the columns keep their order). */
record ScanInput(long index, String prompt, LinkedHashMap<String, String> columns, String error) implements Serializable {
    static ScanInput of(DatasetRow r) { return new ScanInput(r.index(), r.prompt(), new LinkedHashMap<>(r.columns()), r.error()); }

    DatasetRow row() { return new DatasetRow(index, prompt, columns, error); }
}
