package linlens.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import linlens.testing.TinyModels;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@code linlens decompose} end to end on the tiny model of every family, in both formats, both
 * precisions and both MLP paths: Σ J_i x_i + c reproduces y within 1e-12 (fp64) and 1e-5 (fp32).
 */
class FamilyDecomposeCliTest {
    @TempDir Path dir;

    /** Every registered family's fixtures ({@link TinyModels}: a missing one fails), each format it has. */
    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (TinyModels.Tiny t : TinyModels.all())
            for (String format : List.of("hf", "gguf")) {
                Path model = format.equals("hf") ? t.hf() : t.gguf();
                if (model != null)
                    for (String precision : List.of("fp64", "fp32"))
                        for (String path : List.of("up", "gate")) out.add(Arguments.of(t.name(), format, model, precision, path));
            }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1} {3} {4}")
    @MethodSource("cases")
    void reconstructsWithinTheBound(String family, String format, Path model, String precision, String path) throws Exception {
        Path json = dir.resolve("out.json");
        var r = CliErrorsTest.run("decompose", "--quiet", "--model", model.toString(), "--json", json.toString(),
                "--precision", precision, "--mlp-path", path, "--components", "2", "--top", "3");
        assertEquals(0, r.code(), r.err());
        JsonNode rec = new ObjectMapper().readTree(json.toFile()).get("reconstruction");
        double err = rec.get("relative_error").asDouble();
        System.out.printf("decompose %-9s %-4s %s %-4s relative_error %.2e  |c|/|y| %.2e%n", family, format, precision,
                path, err, rec.get("constant_norm").asDouble() / rec.get("output_norm").asDouble());
        assertTrue(err <= (precision.equals("fp64") ? 1e-12 : 1e-5), "relative error " + err);
        if (family.equals("qwen2")) assertTrue(rec.get("constant_norm").asDouble() > 0.1 * rec.get("output_norm").asDouble());
        else assertTrue(rec.get("constant_norm").asDouble() < 1e-12 * rec.get("output_norm").asDouble());
    }
}
