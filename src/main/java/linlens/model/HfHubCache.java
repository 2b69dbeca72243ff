package linlens.model;

import linlens.format.ModelFormatException;
import linlens.format.ModelLimits;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The local Hugging Face hub cache, read offline: nothing is downloaded. Its folder is chosen as
 * huggingface_hub chooses it: {@code $HF_HUB_CACHE} (or its older name
 * {@code $HUGGINGFACE_HUB_CACHE}), else {@code $HF_HOME/hub}, else
 * {@code $XDG_CACHE_HOME/huggingface/hub}, else {@code ~/.cache/huggingface/hub}. A model repo
 * there is {@code models--ORG--NAME/} with {@code refs/BRANCH} (a file holding a commit hash),
 * {@code snapshots/COMMIT/...} (links into {@code blobs/}) and {@code blobs/}.
 *
 * <p>Names: {@code ORG/NAME[@REVISION][:FILE]}. The revision is a branch or tag under
 * {@code refs/} or a full commit hash (default {@code main}). A snapshot with {@code config.json}
 * is a Hugging Face folder; one without it holds GGUF files: the single one is taken, and when
 * there are several, {@code :FILE} picks one by its name, or by a quantization tag in its name
 * ({@code :Q4_K_M}, as llama.cpp's {@code -hf} takes it). Vision projectors ({@code mmproj*.gguf})
 * are never picked by themselves.
 *
 * <p>Hostile content: everything read must lie inside the repo's folder after following links
 * (blobs included), a ref must hold a commit hash, and every problem is one line naming the repo.
 */
public final class HfHubCache {
    /** The variables that move the cache, in the order they are consulted. */
    public static final List<String> VARIABLES = List.of("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME");

    private static final Pattern PART = Pattern.compile("[A-Za-z0-9](?:[A-Za-z0-9._-]{0,95})");
    private static final Pattern NAME = Pattern.compile("(?:(" + PART + ")/)?(" + PART + ")(?:@([^:]{1,200}))?(?::(.{1,300}))?");
    private static final Pattern COMMIT = Pattern.compile("[0-9a-f]{40}");
    private static final Pattern REF = Pattern.compile("[A-Za-z0-9._/-]{1,200}");
    private static final String REPO_PREFIX = "models--";

    /** The cache's folder and the rule that chose it ("$HF_HUB_CACHE", ..., "the default"). */
    public record Location(Path dir, String chosenBy) {}

    /**
     * A model named in the cache: {@code org} is null for the old repos without an owner
     * ({@code models--gpt2}); {@code revision} and {@code file} are null when not given.
     */
    public record RepoName(String org, String name, String revision, String file) {
        /** The repo id, ORG/NAME. */
        public String repoId() { return org == null ? name : org + "/" + name; }

        /** The repo's folder name in the cache. */
        public String folder() { return REPO_PREFIX + (org == null ? name : org + "--" + name); }

        /** The name as it is written on the command line. */
        public String text() {
            return repoId() + (revision == null ? "" : "@" + revision) + (file == null ? "" : ":" + file);
        }
    }

    /** One model the cache offers: its name as --model takes it, and its file or folder, or why it cannot be used. */
    public record Entry(String name, Path path, String problem) {}

    private final Location location;

    private HfHubCache(Location location) { this.location = location; }

    /** The cache that {@code env} (an environment) and the home folder {@code home} choose. */
    public static HfHubCache of(Map<String, String> env, Path home) {
        return new HfHubCache(locate(env, home));
    }

    /** The cache this process's environment chooses. */
    public static HfHubCache system() {
        return of(System.getenv(), Path.of(System.getProperty("user.home")));
    }

    public Location location() { return location; }

    static Location locate(Map<String, String> env, Path home) {
        String hub = set(env, "HF_HUB_CACHE");
        if (hub != null) return new Location(expand(hub, home), "$HF_HUB_CACHE");
        String legacy = set(env, "HUGGINGFACE_HUB_CACHE");
        if (legacy != null) return new Location(expand(legacy, home), "$HUGGINGFACE_HUB_CACHE");
        String hfHome = set(env, "HF_HOME");
        if (hfHome != null) return new Location(expand(hfHome, home).resolve("hub"), "$HF_HOME/hub");
        String xdg = set(env, "XDG_CACHE_HOME");
        if (xdg != null) return new Location(expand(xdg, home).resolve("huggingface").resolve("hub"), "$XDG_CACHE_HOME/huggingface/hub");
        return new Location(home.resolve(".cache").resolve("huggingface").resolve("hub"), "the default");
    }

    private static String set(Map<String, String> env, String key) {
        String v = env.get(key);
        return v == null || v.isBlank() ? null : v;
    }

    /** A leading ~ is the home folder, as huggingface_hub expands it. */
    private static Path expand(String value, Path home) {
        if (value.equals("~")) return home;
        if (value.startsWith("~/")) return home.resolve(value.substring(2));
        return Path.of(value);
    }

    /** {@code text} read as ORG/NAME[@REVISION][:FILE] (or a bare NAME), or null when it is not such a name. */
    public static RepoName parse(String text) {
        Matcher m = NAME.matcher(text);
        if (!m.matches()) return null;
        for (int g = 1; g <= 2; g++)
            if (m.group(g) != null && (m.group(g).contains("..") || m.group(g).contains("--"))) return null;
        return new RepoName(m.group(1), m.group(2), m.group(3), m.group(4));
    }

    /** Whether the cache has a folder for this repo (which may still be broken). */
    public boolean has(RepoName r) {
        return Files.exists(location.dir().resolve(r.folder()), LinkOption.NOFOLLOW_LINKS);
    }

    /** Where to look and what would change it: for messages about a model that is not there. */
    public String describe() {
        return "the Hugging Face cache " + location.dir() + " (chosen by " + location.chosenBy()
                + "; set HF_HUB_CACHE, HF_HOME or XDG_CACHE_HOME to look elsewhere)";
    }

    /**
     * The file or folder {@code r} names: a snapshot folder (Hugging Face format) or a GGUF file in
     * it. Every problem is one line naming the repo; the repo must exist ({@link #has}).
     */
    public Path resolve(RepoName r) {
        try {
            Path repo = location.dir().resolve(r.folder());
            Path realRepo = realInside(repo, location.dir().toRealPath(), r, r.folder());
            if (!Files.isDirectory(realRepo)) throw problem(r, r.folder() + " is not a folder");
            Path snapshot = snapshot(r, repo, realRepo);
            return pick(r, snapshot, realRepo);
        } catch (IOException | InvalidPathException | java.io.UncheckedIOException e) {
            throw problem(r, "cannot read it (" + oneLine(e.getMessage()) + ")");
        }
    }

    /** The snapshot folder the revision (default main) names. */
    private Path snapshot(RepoName r, Path repo, Path realRepo) throws IOException {
        String rev = r.revision() == null ? "main" : r.revision();
        Path snapshots = repo.resolve("snapshots");
        String commit;
        if (COMMIT.matcher(rev).matches() && Files.exists(snapshots.resolve(rev), LinkOption.NOFOLLOW_LINKS)) {
            commit = rev;
        } else {
            if (!REF.matcher(rev).matches() || rev.startsWith("/") || rev.endsWith("/")
                    || Stream.of(rev.split("/")).anyMatch(p -> p.isEmpty() || p.equals(".") || p.equals("..")))
                throw problem(r, "'" + ModelLimits.shown(rev) + "' is not a revision (a branch or tag name, or a 40-digit commit hash)");
            Path ref = repo.resolve("refs").resolve(rev);
            if (!Files.exists(ref, LinkOption.NOFOLLOW_LINKS))
                throw problem(r, "no revision '" + rev + "' (refs: " + String.join(", ", names(repo.resolve("refs")))
                        + "; snapshots: " + String.join(", ", names(snapshots)) + ")");
            Path realRef = realInside(ref, realRepo, r, "refs/" + rev);
            if (!Files.isRegularFile(realRef)) throw problem(r, "refs/" + rev + " is not a file");
            if (Files.size(realRef) > 1024) throw problem(r, "refs/" + rev + " is " + Files.size(realRef) + " bytes, not a commit hash");
            commit = new String(Files.readAllBytes(realRef), StandardCharsets.UTF_8).strip();
            if (!COMMIT.matcher(commit).matches())
                throw problem(r, "refs/" + rev + " holds '" + ModelLimits.shown(commit) + "', not a commit hash");
        }
        Path snapshot = snapshots.resolve(commit);
        if (!Files.exists(snapshot, LinkOption.NOFOLLOW_LINKS))
            throw problem(r, (commit.equals(rev) ? "commit " : "refs/" + rev + " points to commit ") + commit
                    + " but snapshots/" + commit + " is missing (an unfinished download?)");
        Path real = realInside(snapshot, realRepo, r, "snapshots/" + commit);
        if (!Files.isDirectory(real)) throw problem(r, "snapshots/" + commit + " is not a folder");
        return snapshot;
    }

    /** The snapshot itself (Hugging Face format), or the GGUF file chosen in it. */
    private Path pick(RepoName r, Path snapshot, Path realRepo) throws IOException {
        String where = "snapshots/" + snapshot.getFileName();
        if (r.file() == null && Files.exists(snapshot.resolve("config.json"), LinkOption.NOFOLLOW_LINKS)) {
            // the files the loader reads: each must be a file inside the repo once its link is followed
            try (Stream<Path> s = Files.list(snapshot)) {
                for (Path f : s.sorted().toList()) {
                    String n = f.getFileName().toString();
                    if (n.endsWith(".json") || n.endsWith(".safetensors"))
                        realInside(f, realRepo, r, where + "/" + n);
                }
            }
            return snapshot;
        }
        List<String> ggufs = ggufs(snapshot);
        String chosen;
        if (r.file() != null) {
            chosen = choose(r, ggufs, where);
        } else {
            List<String> models = ggufs.stream().filter(f -> !isProjector(f)).toList();
            if (models.isEmpty())
                throw problem(r, where + " holds neither config.json nor a .gguf model file");
            if (models.size() > 1)
                throw problem(r, where + " holds " + models.size() + " GGUF files: choose one with --model " + r.text()
                        + ":FILE or :QUANT (" + String.join(", ", models) + ")");
            chosen = models.getFirst();
        }
        Path file = snapshot.resolve(chosen);
        Path real = realInside(file, realRepo, r, where + "/" + chosen);
        if (!Files.isRegularFile(real)) throw problem(r, where + "/" + chosen + " is not a file");
        return file;
    }

    /** The GGUF file {@code r.file()} names: a file name or path in the snapshot, or a quantization tag. */
    private static String choose(RepoName r, List<String> ggufs, String where) {
        String want = r.file();
        for (String g : ggufs) if (g.equals(want) || g.substring(g.lastIndexOf('/') + 1).equals(want)) return g;
        // a tag: bounded by separators in the file name, case as the user likes
        Pattern tag = Pattern.compile("(^|[-._/])" + Pattern.quote(want.toLowerCase(Locale.ROOT)) + "([-._]|$)");
        List<String> hits = ggufs.stream().filter(g -> !isProjector(g) && g.endsWith(".gguf")
                && tag.matcher(g.substring(0, g.length() - 5).toLowerCase(Locale.ROOT)).find()).toList();
        if (hits.size() == 1) return hits.getFirst();
        if (hits.isEmpty())
            throw problem(r, where + " has no GGUF file '" + ModelLimits.shown(want) + "' (GGUF files: "
                    + (ggufs.isEmpty() ? "none" : String.join(", ", ggufs)) + ")");
        throw problem(r, "':" + ModelLimits.shown(want) + "' matches " + hits.size() + " GGUF files: " + String.join(", ", hits));
    }

    private static boolean isProjector(String file) {
        return file.substring(file.lastIndexOf('/') + 1).toLowerCase(Locale.ROOT).startsWith("mmproj");
    }

    /** The .gguf files of a snapshot, as paths relative to it: its own and those one folder down (quantizations kept in folders). */
    private static List<String> ggufs(Path snapshot) throws IOException {
        List<String> found = new ArrayList<>();
        // no link is followed while listing: a folder linked in a loop is never entered
        Path real = snapshot.toRealPath();
        try (Stream<Path> s = Files.walk(real, 2)) {
            s.filter(f -> f.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".gguf"))
                    .forEach(f -> found.add(real.relativize(f).toString().replace('\\', '/')));
        }
        found.sort(null);
        return found;
    }

    /** The real path of {@code p} (links followed), refused unless it lies inside {@code realRoot}. */
    private static Path realInside(Path p, Path realRoot, RepoName r, String what) {
        Path real;
        try {
            real = p.toRealPath();
        } catch (java.nio.file.NoSuchFileException e) {
            throw problem(r, what + " is missing" + (Files.isSymbolicLink(p) ? " (it links to a blob that is not there)" : ""));
        } catch (IOException e) {
            throw problem(r, "cannot follow " + what + " (" + oneLine(e.getMessage()) + ")");
        }
        if (!real.startsWith(realRoot))
            throw problem(r, what + " lies outside " + (realRoot.getFileName().toString().startsWith(REPO_PREFIX) ? "the repo folder" : "the cache")
                    + " (it resolves to " + real + ")");
        return real;
    }

    private static List<String> names(Path dir) {
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) return List.of("none");
        List<String> names = new ArrayList<>();
        try (Stream<Path> s = Files.walk(dir, 3)) {
            s.filter(f -> !f.equals(dir) && (dir.getFileName().toString().equals("snapshots") ? f.getParent().equals(dir)
                            : !Files.isDirectory(f, LinkOption.NOFOLLOW_LINKS)))
                    .limit(20).forEach(f -> names.add(ModelLimits.shown(dir.relativize(f).toString())));
        } catch (IOException | java.io.UncheckedIOException e) {
            return List.of("unreadable");
        }
        names.sort(null);
        return names.isEmpty() ? List.of("none") : names;
    }

    private static String oneLine(String s) {
        return s == null ? "" : s.lines().findFirst().orElse("");
    }

    private static ModelFormatException problem(RepoName r, String what) {
        return new ModelFormatException(r.repoId() + " in the Hugging Face cache: " + what);
    }

    /**
     * Every model the cache offers, by the names --model takes: for each repo, what refs/main
     * names ({@code ORG/NAME}), then the other refs ({@code ORG/NAME@REF}); a repo without refs
     * lists its snapshots by commit. A snapshot of several GGUF files lists each
     * ({@code ORG/NAME:FILE}). What cannot be used is listed with the reason.
     */
    public List<Entry> list() {
        Path dir = location.dir();
        if (!Files.isDirectory(dir)) return List.of();
        List<Entry> entries = new ArrayList<>();
        List<Path> repos;
        try (Stream<Path> s = Files.list(dir)) {
            repos = s.filter(p -> p.getFileName().toString().startsWith(REPO_PREFIX)).sorted().toList();
        } catch (IOException e) {
            return List.of();
        }
        for (Path repo : repos) {
            String folder = repo.getFileName().toString().substring(REPO_PREFIX.length());
            int sep = folder.indexOf("--");
            RepoName base = parse(sep < 0 ? folder : folder.substring(0, sep) + "/" + folder.substring(sep + 2));
            if (base == null || base.revision() != null || base.file() != null) {
                entries.add(new Entry(ModelLimits.shown(repo.getFileName().toString()), repo, "not a model repo folder name"));
                continue;
            }
            for (String rev : revisions(repo)) {
                RepoName r = new RepoName(base.org(), base.name(), rev, null);
                try {
                    Path p = resolve(r);
                    entries.add(new Entry(r.text(), p, null));
                } catch (ModelFormatException e) {
                    List<String> several = severalGgufs(r);
                    if (several.isEmpty()) entries.add(new Entry(r.text(), null, e.getMessage()));
                    for (String f : several) {
                        RepoName one = new RepoName(r.org(), r.name(), rev, f);
                        try {
                            entries.add(new Entry(one.text(), resolve(one), null));
                        } catch (ModelFormatException bad) {
                            entries.add(new Entry(one.text(), null, bad.getMessage()));
                        }
                    }
                }
            }
        }
        return entries;
    }

    /** The revisions a repo is listed by: null (main) first, then its other refs; or its snapshots when it has no refs. */
    private static List<String> revisions(Path repo) {
        List<String> revs = new ArrayList<>();
        Path refs = repo.resolve("refs");
        List<String> refNames = Files.isDirectory(refs, LinkOption.NOFOLLOW_LINKS) ? names(refs) : List.of("none");
        if (refNames.contains("main")) revs.add(null);
        for (String n : refNames)
            if (!n.equals("main") && !n.equals("none") && !n.equals("unreadable") && REF.matcher(n).matches()) revs.add(n);
        if (revs.isEmpty()) {
            for (String n : names(repo.resolve("snapshots")))
                if (COMMIT.matcher(n).matches()) revs.add(n);
        }
        if (revs.isEmpty()) revs.add(null);  // listed with what is wrong
        return revs;
    }

    /** The model GGUF files of a snapshot that holds several (and no config.json), else none. */
    private List<String> severalGgufs(RepoName r) {
        try {
            Path repo = location.dir().resolve(r.folder());
            Path realRepo = repo.toRealPath();
            if (!realRepo.startsWith(location.dir().toRealPath())) return List.of();
            Path snapshot = snapshot(r, repo, realRepo);
            if (Files.exists(snapshot.resolve("config.json"), LinkOption.NOFOLLOW_LINKS)) return List.of();
            List<String> models = ggufs(snapshot).stream().filter(f -> !isProjector(f)).toList();
            return models.size() > 1 ? models : List.of();
        } catch (IOException | RuntimeException e) {
            return List.of();
        }
    }
}
