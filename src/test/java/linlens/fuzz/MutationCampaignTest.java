package linlens.fuzz;

import linlens.format.GgufFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The campaign's own logic: outcome classification, the GGUF layout walk, reproducible mutants. */
class MutationCampaignTest {
    private static final Path WORK = Path.of("/tmp/campaign-work");

    @Test
    void classifiesTheThreeOutcomes() {
        assertEquals("ran", MutationCampaign.classify(0, 1, "", WORK).kind());
        assertEquals("one-line", MutationCampaign.classify(2, 1, "linlens: x.gguf: bad magic\n", WORK).kind());
        // two lines, a trace, exit 1, or a second line of any kind: findings
        var twoLines = MutationCampaign.classify(2, 1, "linlens: a\nlinlens: b\n", WORK);
        assertEquals("finding", twoLines.kind());
        assertTrue(twoLines.group().startsWith("exit 2, 2 stderr lines"), twoLines.group());
        assertEquals("finding", MutationCampaign.classify(2, 1, "error without the prefix\n", WORK).kind());
        var internal = MutationCampaign.classify(1, 1, "linlens: error: Index 7 out of bounds for length 3\n", WORK);
        assertEquals("exit 1: linlens: error: Index # out of bounds for length #", internal.group());
        assertNull(MutationCampaign.classify(0, 1, "", WORK).group());
    }

    @Test
    void groupsMutantsOfOneBugTogether() {
        String a = MutationCampaign.classify(1, 1, "linlens: error: " + WORK + "/model.gguf: Index 5\n", WORK).group();
        String b = MutationCampaign.classify(1, 1, "linlens: error: " + WORK + "/model/config.json: Index 900\n", WORK).group();
        assertEquals(a, b);
        assertEquals("java.lang.ArrayIndexOutOfBoundsException at linlens.tokenizer.HfTokenizer.open",
                MutationCampaign.where("linlens: error: Index -1\njava.lang.ArrayIndexOutOfBoundsException: Index -1\n"
                        + "\tat linlens.tokenizer.HfTokenizer.open(HfTokenizer.java:43)\n\tat linlens.cli.Main.execute(Main.java:45)\n"));
    }

    @Test
    void walksTheGgufLayout() throws Exception {
        byte[] b = Files.readAllBytes(Fixtures.gguf("qwen3"));
        long[] end = {0};
        List<Mutators.Field> fields = Mutators.ggufFields(b, end);
        assertEquals(4, fields.get(0).offset());
        try (GgufFile g = GgufFile.open(Fixtures.gguf("qwen3"))) {
            long tensorTypes = fields.stream().filter(f -> f.name().endsWith(" tensor type")).count();
            assertEquals(g.tensors().size(), tensorTypes);
            for (var t : g.tensors().values()) {
                // each tensor's rank field holds its rank
                var rank = fields.stream().filter(f -> f.name().equals(t.name() + " rank")).findFirst().orElseThrow();
                assertEquals(t.dims().length, Mutators.read(b, rank));
            }
        }
        assertTrue(end[0] > 24 && end[0] < b.length);
    }

    @Test
    void mutantsAreReproducibleFromTheSeed(@TempDir Path dir) throws Exception {
        List<MutationCampaign.Seed> seeds = MutationCampaign.seeds().stream()
                .filter(s -> !(s instanceof MutationCampaign.DemoSeed)).toList();
        for (int id = 0; id < 2 * seeds.size(); id++) {
            MutationCampaign.Seed s = seeds.get(id % seeds.size());
            var a = MutationCampaign.make(id, 7, s, Files.createDirectories(dir.resolve("a")));
            var b = MutationCampaign.make(id, 7, s, Files.createDirectories(dir.resolve("b")));
            assertEquals(a.what(), b.what());
            assertEquals(a.files().keySet(), b.files().keySet());
            for (String f : a.files().keySet()) assertArrayEquals(a.files().get(f), b.files().get(f), f);
            assertFalse(a.what().isEmpty());
        }
    }

    @Test
    void jsonMutantsStayReadableAsText() {
        byte[] config = "{\"hidden_size\": 64, \"rope_scaling\": {\"factor\": 8.0}, \"layer_types\": [\"a\", \"b\"]}".getBytes();
        Random r = new Random(3);
        for (int i = 0; i < 200; i++) {
            Mutators.Mutant m = Mutators.json(config, r);
            assertFalse(m.what().isEmpty());
            assertFalse(new String(m.bytes()).contains("@@raw@@"), m.what());
        }
    }
}
