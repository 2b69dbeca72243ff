package linlens.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import linlens.scan.DatasetFile;
import linlens.scan.ScanSchema;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * A scan's input file: arbitrary bytes as JSON Lines, CSV, TSV or plain text, opened (columns and
 * rows counted) and read row by row, as {@code linlens scan} does before and after the model loads.
 * A file that cannot be read at all is an {@link linlens.model.InputException}; a bad row is a row
 * with its error; nothing else may escape.
 *
 * <p>Input layout: byte 0 picks the format (mod 4: jsonl, csv, tsv, txt), byte 1's low bit
 * whether a prompt column other than "prompt" ("text") is asked for; the rest is the file.
 */
class DatasetFileFuzzTest {
    private static final String[] EXTENSIONS = {".jsonl", ".csv", ".tsv", ".txt"};

    @FuzzTest(maxDuration = "30s")
    void datasetFile(byte[] input) throws Exception {
        if (input.length < 2) return;
        String ext = EXTENSIONS[(input[0] & 0xff) % EXTENSIONS.length];
        String column = (input[1] & 1) == 1 && !ext.equals(".txt") ? "text" : null;
        Path file = Files.createTempFile("linlens-fuzz-dataset", ext);
        try {
            Files.write(file, Arrays.copyOfRange(input, 2, input.length));
            FuzzContract.expectBadInputOnly(() -> {
                DatasetFile data = DatasetFile.open(file, column, ScanSchema.reserved());
                long[] rows = {0};
                data.read(row -> {
                    if (row.prompt() == null && row.error() == null) throw new IllegalStateException("a row with neither prompt nor error");
                    rows[0]++;
                });
                if (rows[0] != data.rows()) throw new IllegalStateException("opened " + data.rows() + " rows, read " + rows[0]);
            });
        } finally {
            Files.deleteIfExists(file);
        }
    }
}
