package linlens.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import linlens.format.GgufFile;
import linlens.format.GgufTensor;

import java.nio.file.Path;

/**
 * The GGUF reader on arbitrary bytes: parse the header, metadata and tensor directory, then
 * read every tensor's shape and dequantize its first and last row. Seeds: the tiny models'
 * model.gguf files (GgufFuzzTestInputs/gguf).
 */
class GgufFuzzTest {
    private static final Path FILE = Fixtures.scratch("linlens-fuzz-gguf").resolve("mutant.gguf");

    @FuzzTest(maxDuration = "30s")
    void gguf(byte[] input) throws Exception {
        Fixtures.write(FILE, input);
        FuzzContract.expectBadInputOnly(() -> {
            try (GgufFile g = GgufFile.open(FILE)) {
                g.version();
                g.metadata().size();
                for (GgufTensor t : g.tensors().values()) {
                    t.shape();
                    t.elements();
                    t.rowBytes();
                    int rows = t.rows(), cols = t.cols();
                    float[] row = new float[cols];
                    t.rowsToFloat(0, 1, row, 0);
                    t.rowsToFloat(rows - 1, 1, row, 0);
                }
            }
        });
    }
}
