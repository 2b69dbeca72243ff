package linlens.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import linlens.format.Safetensors;
import linlens.model.ModelLoader;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;

/**
 * Whole-model loading, then one forward pass when the model loads:
 * <ul>
 * <li>{@code gguf}: a mutated GGUF file (seeds: the tiny models' model.gguf);</li>
 * <li>{@code hfWeights}: a mutated model.safetensors in an otherwise intact tiny Hugging Face
 *     folder (seeds: each family's real model.safetensors). The folder is the first family whose
 *     real weights start with the same header length as the input, else the one that length picks
 *     modulo the family count, so seeds stay byte-identical to the repository's files.</li>
 * </ul>
 * Loaded models are never closed (Transformer has no close), so each accepted input keeps one
 * mapping of the scratch file: rewriting that file truncates it, which frees the mapped pages.
 */
class ModelFuzzTest {
    private static final Path GGUF = Fixtures.scratch("linlens-fuzz-model").resolve("mutant.gguf");
    private static final Path[] FOLDERS = new Path[Fixtures.SINGLE_FILE_HF_FAMILIES.size()];
    private static final long[] HEADER_LENGTHS = new long[FOLDERS.length];

    static {
        for (int i = 0; i < FOLDERS.length; i++) {
            FOLDERS[i] = Fixtures.scratch("linlens-fuzz-weights-" + Fixtures.SINGLE_FILE_HF_FAMILIES.get(i));
            Path real = Fixtures.hf(Fixtures.SINGLE_FILE_HF_FAMILIES.get(i));
            Fixtures.copyFolder(real, FOLDERS[i], Safetensors.SINGLE);
            HEADER_LENGTHS[i] = headerLength(Fixtures.read(real.resolve(Safetensors.SINGLE)));
        }
    }

    @FuzzTest(maxDuration = "30s")
    void gguf(byte[] input) throws Exception {
        Fixtures.write(GGUF, input);
        FuzzContract.expectBadInputOnly(() -> Exercise.forward(ModelLoader.load(GGUF)));
    }

    @FuzzTest(maxDuration = "30s")
    void hfWeights(byte[] input) throws Exception {
        long header = headerLength(input);
        int pick = Math.floorMod(header, FOLDERS.length);
        for (int i = FOLDERS.length - 1; i >= 0; i--) if (HEADER_LENGTHS[i] == header) pick = i;
        Path folder = FOLDERS[pick];
        Fixtures.write(folder.resolve(Safetensors.SINGLE), input);
        FuzzContract.expectBadInputOnly(() -> Exercise.forward(ModelLoader.load(folder)));
    }

    /** The safetensors header length (first 8 bytes, little endian), or the input's length if shorter. */
    private static long headerLength(byte[] b) {
        return b.length < 8 ? b.length : ByteBuffer.wrap(b, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
    }
}
