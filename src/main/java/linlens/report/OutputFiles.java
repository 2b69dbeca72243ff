package linlens.report;

import linlens.model.InputException;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFileAttributeView;
import java.security.SecureRandom;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * The rules every output file and folder (--json, --report, --export) follows:
 * <ul>
 * <li>only regular files (and, for exports, folders) are ever replaced: a device, FIFO or socket,
 *     or a symbolic link to one, is refused, so that e.g. {@code --json /dev/null} run as root
 *     cannot replace /dev/null; a symbolic link to a regular file has that file replaced;</li>
 * <li>problems are found before the work: the target's folder must accept a new file, which is
 *     tried by creating (and deleting) one;</li>
 * <li>the output is written to a hidden temporary sibling and renamed into place, created without
 *     explicit permissions so that the user's umask applies (an existing file keeps its own);</li>
 * <li>temporaries still in progress when the process is stopped (Ctrl-C, SIGTERM) are deleted by
 *     a shutdown hook.</li>
 * </ul>
 */
public final class OutputFiles {
    private OutputFiles() {}

    private static final int MAX_LINKS = 40;
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final Set<Path> PENDING = ConcurrentHashMap.newKeySet();
    private static volatile boolean hooked;

    /** What the output will replace: a target's absolute path with its folder and any links resolved. */
    public record Target(Path path, boolean exists, boolean directory, boolean regularFile) {}

    /**
     * Resolves {@code target}: its folder's real path, then the symbolic links it names, to the
     * name that is finally written. {@code prefix} starts every message ("cannot write out.json").
     */
    public static Target resolve(Path target, String prefix) {
        Path p = target.toAbsolutePath();
        for (int hops = 0; ; hops++) {
            Path parent = p.getParent();
            if (parent == null || p.getFileName() == null) return new Target(p, true, true, false); // "/"
            Path dir;
            try {
                dir = parent.toRealPath();
            } catch (IOException e) {
                throw new InputException(prefix + ": no such directory " + parent);
            }
            if (!Files.isDirectory(dir)) throw new InputException(prefix + ": no such directory " + parent);
            p = dir.resolve(p.getFileName());
            if (!Files.isSymbolicLink(p)) break;
            if (hops >= MAX_LINKS) throw new InputException(prefix + ": too many levels of symbolic links");
            try {
                p = dir.resolve(Files.readSymbolicLink(p));
            } catch (IOException e) {
                throw new InputException(prefix + ": cannot read the symbolic link " + p + " (" + reason(e) + ")");
            }
        }
        // /proc holds the process's own descriptors (/dev/stdout, /dev/fd/N lead there): never an output file
        if (p.startsWith("/proc")) throw new InputException(prefix + ": /proc holds process files, not outputs");
        try {
            BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            return new Target(p, true, a.isDirectory(), a.isRegularFile());
        } catch (NoSuchFileException e) {
            return new Target(p, false, false, false);
        } catch (IOException e) {
            throw new InputException(prefix + ": " + reason(e));
        }
    }

    /** Checks that {@code target} can be written as a file: a new name or a regular file, in a folder that takes new files. */
    public static Path checkFile(Path target) {
        String prefix = "cannot write " + target;
        Target t = resolve(target, prefix);
        if (t.directory()) throw new InputException(prefix + ": it is a directory");
        if (t.exists() && !t.regularFile())
            throw new InputException(prefix + ": not a regular file (a device, FIFO or socket); only regular files are replaced");
        if (t.exists() && !Files.isWritable(t.path())) throw new InputException(prefix + ": the file is not writable");
        probe(t.path(), prefix);
        return t.path();
    }

    /** Creates and deletes a hidden file beside {@code path}: the only sure test that the folder takes new files. */
    public static void probe(Path path, String prefix) {
        Path dir = path.getParent();
        Path probe = sibling(path, ".probe");
        try {
            Files.createFile(probe);
        } catch (IOException e) {
            throw new InputException(prefix + ": cannot create files in " + dir + " (" + reason(e) + ")");
        }
        try {
            Files.deleteIfExists(probe);
        } catch (IOException e) {
            throw new InputException(prefix + ": cannot delete files in " + dir + " (" + reason(e) + ")");
        }
    }

    /** A new empty hidden file beside {@code path} (permissions from the umask), deleted at exit until {@link #done}. */
    public static Path newTempFile(Path path) throws IOException {
        Path tmp = sibling(path, ".tmp");
        pending(tmp);
        return Files.createFile(tmp);
    }

    /** A new empty hidden folder beside {@code path} (permissions from the umask), deleted at exit until {@link #done}. */
    public static Path newTempDirectory(Path path) throws IOException {
        Path tmp = sibling(path, ".tmp");
        pending(tmp);
        return Files.createDirectory(tmp);
    }

    /** Gives {@code to} the permission bits of {@code from} when {@code from} exists (what a replaced file keeps). */
    public static void keepPermissions(Path from, Path to) {
        var view = Files.getFileAttributeView(from, PosixFileAttributeView.class);
        if (view == null || !Files.exists(from)) return;
        try {
            Files.setPosixFilePermissions(to, view.readAttributes().permissions());
        } catch (IOException | UnsupportedOperationException ignored) {
            // not the owner: the new file keeps the umask's permissions
        }
    }

    /** The temporary is finished (renamed into place or deleted): no longer deleted at exit. */
    public static void done(Path tmp) {
        PENDING.remove(tmp);
    }

    /** Deletes a temporary file or folder with its contents, best effort, and forgets it. */
    public static void delete(Path tmp) {
        deleteTree(tmp);
        done(tmp);
    }

    private static void pending(Path tmp) {
        if (!hooked) {
            synchronized (OutputFiles.class) {
                if (!hooked) {
                    Runtime.getRuntime().addShutdownHook(new Thread(OutputFiles::deletePending, "linlens-output-cleanup"));
                    hooked = true;
                }
            }
        }
        PENDING.add(tmp);
    }

    private static void deletePending() {
        for (Path p : PENDING) deleteTree(p);
    }

    private static void deleteTree(Path root) {
        // a few tries: the interrupted work may still be adding a file while the folder is removed
        for (int attempt = 0; attempt < 5 && Files.exists(root, LinkOption.NOFOLLOW_LINKS); attempt++) {
            try (Stream<Path> s = Files.walk(root)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            } catch (IOException | RuntimeException ignored) {
                // try again
            }
        }
    }

    /** A unique hidden name beside {@code path}: ".NAME.RANDOM.SUFFIX". */
    private static Path sibling(Path path, String suffix) {
        byte[] b = new byte[6];
        RANDOM.nextBytes(b);
        return path.resolveSibling("." + path.getFileName() + "." + HexFormat.of().formatHex(b) + suffix);
    }

    static String reason(IOException e) {
        if (e instanceof AccessDeniedException) return "permission denied";
        if (e instanceof NoSuchFileException) return "no such file or directory";
        if (e instanceof FileSystemException f && f.getReason() != null) return f.getReason();
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }
}
