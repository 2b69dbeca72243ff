package linlens.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import linlens.model.ModelLoader;

import java.nio.file.Path;
import java.util.Arrays;

/**
 * config.json handling: a mutated config.json in an otherwise intact tiny Hugging Face folder,
 * loaded the way the CLI loads a folder, then one forward pass if it loads. The input's last byte
 * picks the family's folder (mod 8, order of {@link Fixtures#HF_FAMILIES}); the rest is the
 * config. Seeds: each family's real config.json followed by its index byte.
 */
class HfConfigFuzzTest {
    private static final Path[] FOLDERS = new Path[Fixtures.HF_FAMILIES.size()];

    static {
        for (int i = 0; i < FOLDERS.length; i++) {
            FOLDERS[i] = Fixtures.scratch("linlens-fuzz-config-" + Fixtures.HF_FAMILIES.get(i));
            Fixtures.copyFolder(Fixtures.hf(Fixtures.HF_FAMILIES.get(i)), FOLDERS[i], "config.json");
        }
    }

    @FuzzTest(maxDuration = "30s")
    void config(byte[] input) throws Exception {
        if (input.length == 0) return;
        Path folder = FOLDERS[(input[input.length - 1] & 0xff) % FOLDERS.length];
        Fixtures.write(folder.resolve("config.json"), Arrays.copyOf(input, input.length - 1));
        FuzzContract.expectBadInputOnly(() -> Exercise.forward(ModelLoader.load(folder)));
    }
}
