package linlens.analysis;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The registry is what every caller lists: its analyses must be well-formed and documented. */
class AnalysesRegistryTest {
    @Test
    void everyAnalysisIsListedInTheReadmesCommands() throws Exception {
        String readme = Files.readString(Path.of("README.md"));
        String commands = readme.substring(readme.indexOf("## Commands"), readme.indexOf("#### Errors and exit codes"));
        for (Analysis<?> a : Analyses.ALL)
            assertTrue(commands.contains("bin/linlens " + a.name() + " "), a.name() + " is missing from the README's command list");
    }

    @Test
    void namesAreUniqueAndOptionsAreDescribed() {
        Set<String> names = new HashSet<>();
        for (Analysis<?> a : Analyses.ALL) {
            assertTrue(a.name().matches("[a-z][a-z-]*"), a.name());
            assertTrue(names.add(a.name()), "two analyses named " + a.name());
            assertFalse(a.description().isEmpty(), a.name());
            assertEquals(a, Analyses.byName(a.name()));
            Set<String> options = new HashSet<>();
            for (ParamSpec p : a.params()) {
                assertTrue(options.add(p.name()), a.name() + ": option " + p.name() + " twice");
                assertFalse(p.description().isBlank(), a.name() + "." + p.name());
                assertFalse(Set.of("model", "prompt", "prompts", "analysis", "json", "report", "export", "threads").contains(p.name()),
                        a.name() + "." + p.name() + " clashes with an option every caller adds");
                if (p.defaultText() != null) assertNotNull(p.defaultValue(), a.name() + "." + p.name() + ": its default parses");
            }
            // every analysis runs with its defaults once its required options are given
            Map<String, Object> required = new java.util.HashMap<>();
            for (ParamSpec p : a.params()) if (p.required()) required.put(p.name(), p.parseText("x"));
            assertNotNull(ParamSpec.build(a.optionsType(), required));
        }
        assertEquals(null, Analyses.byName("nothing"));
    }
}
