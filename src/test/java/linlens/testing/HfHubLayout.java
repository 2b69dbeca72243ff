package linlens.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Builds a Hugging Face hub cache as huggingface_hub writes it: {@code models--ORG--NAME/} with
 * {@code blobs/SHA256} (the files' bytes), {@code snapshots/COMMIT/FILE} (relative links into
 * blobs) and {@code refs/BRANCH} (the commit hash, no newline).
 */
public final class HfHubLayout {
    private HfHubLayout() {}

    /** A commit hash made from {@code seed}: 40 hex digits. */
    public static String commit(String seed) {
        return sha256(seed.getBytes()).substring(0, 40);
    }

    /** The repo's folder in {@code hub}. */
    public static Path repo(Path hub, String repoId) {
        return hub.resolve("models--" + repoId.replace("/", "--"));
    }

    /**
     * Adds snapshot {@code commit} of {@code repoId} holding {@code files} (name in the snapshot →
     * source file), and points each of {@code refs} at it. Returns the snapshot folder.
     */
    public static Path add(Path hub, String repoId, String commit, Map<String, Path> files, String... refs) throws IOException {
        Path repo = repo(hub, repoId);
        Path blobs = Files.createDirectories(repo.resolve("blobs"));
        Path snapshot = Files.createDirectories(repo.resolve("snapshots").resolve(commit));
        for (var e : files.entrySet()) {
            byte[] bytes = Files.readAllBytes(e.getValue());
            String blob = sha256(bytes);
            if (!Files.exists(blobs.resolve(blob))) Files.write(blobs.resolve(blob), bytes);
            Path link = snapshot.resolve(e.getKey());
            Files.createDirectories(link.getParent());
            Files.createSymbolicLink(link, link.getParent().relativize(blobs.resolve(blob)));
        }
        for (String ref : refs) {
            Path r = repo.resolve("refs").resolve(ref);
            Files.createDirectories(r.getParent());
            Files.writeString(r, commit);
        }
        return snapshot;
    }

    /** Every regular file of {@code folder} by name (a Hugging Face model folder's files). */
    public static Map<String, Path> filesOf(Path folder) throws IOException {
        try (Stream<Path> s = Files.list(folder)) {
            return s.filter(Files::isRegularFile).collect(java.util.stream.Collectors.toMap(p -> p.getFileName().toString(), p -> p));
        }
    }

    private static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
