package linlens.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import linlens.format.Safetensors;
import linlens.format.SafetensorsTensor;

import java.nio.file.Path;

/**
 * The safetensors reader: a mutated single file (seeds: every model.safetensors in the
 * repository), and a mutated model.safetensors.index.json next to the real shards of the sharded
 * fixture (seeds: the fixtures' index files). Every accepted tensor is read.
 */
class SafetensorsFuzzTest {
    private static final Path SINGLE = Fixtures.scratch("linlens-fuzz-st");
    private static final Path SHARDED = Fixtures.scratch("linlens-fuzz-st-index");

    static {
        Fixtures.copyFolder(Fixtures.SAFETENSORS.resolve("sharded"), SHARDED, Safetensors.INDEX);
    }

    @FuzzTest(maxDuration = "30s")
    void file(byte[] input) throws Exception {
        Fixtures.write(SINGLE.resolve(Safetensors.SINGLE), input);
        readAll(SINGLE);
    }

    @FuzzTest(maxDuration = "30s")
    void index(byte[] input) throws Exception {
        Fixtures.write(SHARDED.resolve(Safetensors.INDEX), input);
        readAll(SHARDED);
    }

    private static void readAll(Path folder) throws Exception {
        FuzzContract.expectBadInputOnly(() -> {
            try (Safetensors st = Safetensors.openFolder(folder)) {
                Exercise.tensors(st.tensors().values());
                for (SafetensorsTensor t : st.tensors().values()) {
                    t.shapeText();
                    if (t.elements() <= 1 << 16) t.toDoubles();
                }
            }
        });
    }
}
