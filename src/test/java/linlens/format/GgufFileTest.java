package linlens.format;

import linlens.testing.RealModel;
import linlens.testing.TestModels;
import linlens.testing.TinyGguf;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

class GgufFileTest {
    @TempDir Path dir;

    private static String failure(Path p) {
        return assertThrows(ModelFormatException.class, () -> GgufFile.open(p).close()).getMessage();
    }

    @RealModel
    @Test
    void readsTheRealModelsHeaderMetadataAndTensors() {
        try (GgufFile g = TestModels.open()) {
            assertEquals(3, g.version());
            assertEquals("gemma3", g.string("general.architecture"));
            assertEquals(640, g.integer("gemma3.embedding_length"));
            assertEquals(18, g.integer("gemma3.block_count"));
            assertEquals(262144, g.array("tokenizer.ggml.tokens", String[].class).length);
            GgufTensor emb = g.tensor("token_embd.weight");
            assertEquals(GgmlType.Q8_0, emb.type());
            assertEquals(640, emb.cols());
            assertEquals(262144, emb.rows());
            // 18 layers × 13 tensors + embedding + output norm
            assertEquals(18 * 13 + 2, g.tensors().size());
            // every tensor ends inside the file, and the last one ends at most one alignment before its end
            long end = g.tensors().values().stream().mapToLong(t -> t.offset() + t.byteSize()).max().orElseThrow();
            assertTrue(end <= g.path().toFile().length() && end > g.path().toFile().length() - 64);
        }
    }

    @Test
    void missingFile() {
        assertTrue(failure(dir.resolve("nope.gguf")).contains("not found"));
    }

    @Test
    void notAGgufFile() throws IOException {
        Path p = Files.writeString(dir.resolve("model.gguf"), "this is a text file, not a model at all");
        assertTrue(failure(p).contains("not a GGUF file"));
    }

    @Test
    void emptyFile() throws IOException {
        Path p = Files.write(dir.resolve("empty.gguf"), new byte[0]);
        assertTrue(failure(p).contains("too short"));
    }

    @RealModel
    @Test
    void truncatedHeader() throws IOException {
        Path p = dir.resolve("cut.gguf");
        try (InputStream in = Files.newInputStream(TestModels.gemmaPath())) {
            Files.write(p, in.readNBytes(4096));
        }
        assertTrue(failure(p).contains("truncated or corrupt"), failure(p));
    }

    @RealModel
    @Test
    void truncatedData() throws IOException {
        Path p = dir.resolve("half.gguf");
        try (InputStream in = Files.newInputStream(TestModels.gemmaPath())) {
            Files.write(p, in.readNBytes(60_000_000));
        }
        String m = failure(p);
        assertTrue(m.contains("lies outside the file") && m.contains("truncated"), m);
    }

    @Test
    void unknownTensorType() throws IOException {
        Path p = new TinyGguf().put("general.architecture", "gemma3")
                .tensor("w", new long[]{32}, 99, new byte[128]).write(dir.resolve("t.gguf"));
        assertTrue(failure(p).contains("unknown tensor type 99"));
    }

    @Test
    void tensorOutOfBounds() throws IOException {
        Path p = new TinyGguf().put("general.architecture", "gemma3")
                .tensor("a", new long[]{8}, 0, new byte[32])
                .tensorAt("b", new long[]{1024}, 0, 1 << 20).write(dir.resolve("t.gguf"));
        String m = failure(p);
        assertTrue(m.contains("tensor b lies outside the file"), m);
    }

    @Test
    void badMagicAfterValidLength() throws IOException {
        byte[] b = new byte[64];
        b[0] = 'G'; b[1] = 'G'; b[2] = 'M'; b[3] = 'L';
        assertTrue(failure(Files.write(dir.resolve("x.gguf"), b)).contains("not a GGUF file"));
    }

    @Test
    void unsupportedVersion() throws IOException {
        byte[] b = new byte[64];
        b[0] = 'G'; b[1] = 'G'; b[2] = 'U'; b[3] = 'F'; b[4] = 9;
        assertTrue(failure(Files.write(dir.resolve("v.gguf"), b)).contains("unsupported GGUF version 9"));
    }
}
