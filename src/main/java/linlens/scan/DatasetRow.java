package linlens.scan;

import java.util.Map;

/**
 * One row of a dataset as read: its 0-based index in the file, its prompt (null when the row has
 * none), its other fields as text (by the scan's column names), and why it cannot be scanned
 * (null when it can; such a row is still recorded, with this as its error).
 */
public record DatasetRow(long index, String prompt, Map<String, String> columns, String error) {}
