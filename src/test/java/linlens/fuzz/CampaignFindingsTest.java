package linlens.fuzz;

import linlens.cli.Main;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Findings of the CLI mutation campaign (FUZZING.md), kept as regression tests: each folder under
 * {@code src/test/resources/linlens/fuzz/campaign/} holds the mutant ({@code model.gguf} or a
 * model folder {@code model/}), its command line ({@code args.txt}, one argument a line,
 * {@code {model}} standing for the mutant) and the campaign's record ({@code case.txt}). Each must
 * now end the way the campaign allows for a bad file: one line on stderr and exit code 2.
 */
class CampaignFindingsTest {
    private static final Path ROOT = Path.of("src/test/resources/linlens/fuzz/campaign");

    @TestFactory
    Stream<DynamicTest> everyFindingIsNowOneLineAndExitTwo() throws Exception {
        List<Path> cases;
        try (Stream<Path> s = Files.list(ROOT)) {
            cases = s.filter(Files::isDirectory).sorted().toList();
        }
        assertTrue(!cases.isEmpty(), "no campaign findings under " + ROOT);
        return cases.stream().map(dir -> DynamicTest.dynamicTest(dir.getFileName().toString(), () -> {
            Path model = Files.exists(dir.resolve("model.gguf")) ? dir.resolve("model.gguf") : dir.resolve("model");
            String[] args = Files.readAllLines(dir.resolve("args.txt")).stream()
                    .map(a -> a.replace("{model}", model.toString())).toArray(String[]::new);
            StringWriter out = new StringWriter(), err = new StringWriter();
            int code = Main.execute(args, new PrintWriter(out, true), new PrintWriter(err, true));
            String e = err.toString();
            assertEquals(2, code, dir + ": " + e);
            assertEquals(1, e.lines().count(), dir + ": " + e);
            assertTrue(e.startsWith("linlens: ") && !e.contains("error:"), dir + ": " + e);
        }));
    }
}
