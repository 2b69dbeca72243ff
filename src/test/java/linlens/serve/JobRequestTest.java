package linlens.serve;

import linlens.analysis.Decomposition;
import linlens.linear.Precision;
import linlens.model.MlpPath;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** {@link JobRequest#parse}: strict JSON, every field checked, and nothing but a 4xx ApiException thrown. */
class JobRequestTest {
    static JobRequest parse(String body) { return JobRequest.parse(body.getBytes(StandardCharsets.UTF_8)); }

    static void refused(String body, int status, String message) {
        ApiException e = assertThrows(ApiException.class, () -> parse(body), body);
        assertEquals(status, e.status(), e.getMessage());
        assertTrue(e.getMessage().contains(message), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
    }

    @Test
    void aValidRequestWithDefaultsAndWithEveryOption() {
        JobRequest r = parse("{\"model\":\"m\",\"prompts\":[\"Hi\"]}");
        assertEquals(new JobRequest("decompose", "m", List.of("Hi"), new Decomposition.Options(Precision.FP32, MlpPath.UP, 5, 6)), r);
        r = parse("{\"model\":\"m\",\"prompts\":[\"a\",\"b\"],\"precision\":\"fp64\",\"mlp_path\":\"gate\",\"components\":64,\"top\":1}");
        assertEquals(new JobRequest("decompose", "m", List.of("a", "b"), new Decomposition.Options(Precision.FP64, MlpPath.GATE, 64, 1)), r);
        assertEquals(1, ((Decomposition.Options) parse(" {\"model\":\"m\",\"prompts\":[\"a\"],\"components\":1} \n").options()).components(),
                "white space around is fine");
    }

    @Test
    void notStrictJsonIsRefused() {
        refused("{\"model\":\"m\",\"prompts\":[\"a\"]} x", 400, "not valid JSON");
        refused("{\"model\":\"m\",\"prompts\":[\"a\"]}{}", 400, "not valid JSON");
        refused("{\"model\":\"m\",\"prompts\":[\"a\"]}]", 400, "not valid JSON");
        refused("{\"model\":\"m\",\"model\":\"n\",\"prompts\":[\"a\"]}", 400, "given twice");
        refused("{\"model\":\"m\",\"prompts\":[\"a\"],}", 400, "not valid JSON");
        refused("{'model':'m','prompts':['a']}", 400, "not valid JSON");
        refused("{\"model\":\"m\",\"prompts\":[\"a\"],\"top\":NaN}", 400, "not valid JSON");
        refused("{\"model\":\"m\",\"prompts\":[\"a\"],\"top\":08}", 400, "not valid JSON");
        refused("{\"model\":", 400, "not valid JSON");
        refused("[".repeat(5000), 400, "not valid JSON");
        refused("{\"model\":\"m\",\"prompts\":[" + "[".repeat(500) + "]".repeat(500) + "]}", 400, "not valid JSON");
        ApiException e = assertThrows(ApiException.class, () -> JobRequest.parse(new byte[]{'{', '"', (byte) 0xC3, '"', ':', '1', '}'}));
        assertEquals(400, e.status(), "bad UTF-8");
    }

    @Test
    void bodiesThatAreNotAnObjectAreRefused() {
        for (String body : List.of("[1]", "\"text\"", "42", "null", "true", "[]"))
            refused(body, 400, "JSON object");
        refused("", 400, "empty");
        refused("   ", 400, "JSON object");
        assertEquals(400, assertThrows(ApiException.class, () -> JobRequest.parse(null)).status());
        refused("{\"pad\":\"" + "x".repeat(70_000) + "\"}", 413, "request too large");
    }

    @Test
    void wrongTypesNullsAndOutOfRangeNumbersAreRefused() {
        String base = "\"prompts\":[\"a\"]";
        // an option naming what does not exist (found by the job-request fuzz target)
        refused("{\"model\":\"m\"," + base + ",\"concept\":\"ate\"}", 400, "unknown concept \"ate\"");
        refused("{\"model\":\"m\"," + base + ",\"analysis\":\"layers\",\"concept\":\"no-such\"}", 400, "unknown concept \"no-such\"");
        refused("{" + base + "}", 400, "missing 'model'");
        refused("{\"model\":null," + base + "}", 400, "'model' must be a string, not null");
        refused("{\"model\":7," + base + "}", 400, "'model' must be a string");
        refused("{\"model\":\"\"," + base + "}", 400, "'model' must not be empty");
        refused("{\"model\":\"m\"}", 400, "'prompts' must be");
        refused("{\"model\":\"m\",\"prompts\":null}", 400, "'prompts' must be");
        refused("{\"model\":\"m\",\"prompts\":\"a\"}", 400, "'prompts' must be");
        refused("{\"model\":\"m\",\"prompts\":[]}", 400, "'prompts' must be");
        refused("{\"model\":\"m\",\"prompts\":[\"a\",\"b\",\"c\"]}", 400, "'prompts' must be");
        for (String p : List.of("1", "null", "true", "[\"a\"]", "{}"))
            refused("{\"model\":\"m\",\"prompts\":[" + p + "]}", 400, "each prompt must be a string");
        for (String field : List.of("precision", "mlp_path")) {
            refused("{\"model\":\"m\"," + base + ",\"" + field + "\":null}", 400, "'" + field + "' must be a string, not null");
            refused("{\"model\":\"m\"," + base + ",\"" + field + "\":1}", 400, "'" + field + "' must be a string");
        }
        refused("{\"model\":\"m\"," + base + ",\"precision\":\"fp16\"}", 400, "'precision' must be fp32 or fp64");
        refused("{\"model\":\"m\"," + base + ",\"mlp_path\":\"down\"}", 400, "'mlp_path' must be up or gate");
        for (String field : List.of("components", "top")) {
            int max = field.equals("top") ? 50 : 64;
            for (String v : List.of("0", "-1", String.valueOf(max + 1), "2147483648", "99999999999999999999999", "1.5", "8.0", "1e1",
                    "\"8\"", "null", "true", "[8]"))
                refused("{\"model\":\"m\"," + base + ",\"" + field + "\":" + v + "}", 400, "'" + field + "' must be an integer from 1 to " + max);
        }
        refused("{\"model\":\"m\"," + base + ",\"path\":\"/x.gguf\"}", 400, "unknown field 'path'");
    }

    @Test
    void emptyAndInvalidPromptsAreRefused() {
        for (String p : List.of("", " ", "\\t\\n ", "\\u00a0", "\\u200b", "\\ufeff \\u3000"))
            refused("{\"model\":\"m\",\"prompts\":[\"" + p + "\"]}", 400, "empty prompt");
        refused("{\"model\":\"m\",\"prompts\":[\"a\",\" \"]}", 400, "empty prompt");
        refused("{\"model\":\"m\",\"prompts\":[\"x\\ud800y\"]}", 400, "not valid Unicode");
        refused("{\"model\":\"m\",\"prompts\":[\"x\\udc00\"]}", 400, "not valid Unicode");
        assertEquals("x\ud83d\ude00", parse("{\"model\":\"m\",\"prompts\":[\"x\\ud83d\\ude00\"]}").prompts().get(0), "a surrogate pair is fine");
        refused("{\"model\":\"m\",\"prompts\":[\"" + "x".repeat(8001) + "\"]}", 413, "prompt too long");
        assertEquals(8000, parse("{\"model\":\"m\",\"prompts\":[\"" + "x".repeat(8000) + "\"]}").prompts().get(0).length());
    }

    /** Mutated bodies (bounded, seeded): every outcome is a request or a 4xx ApiException. */
    @Test
    void mutatedBodiesOnlyEverGiveA4xxRefusal() {
        byte[] seed = "{\"model\":\"m\",\"prompts\":[\"The Golden\",\"x\\u00e9\"],\"precision\":\"fp64\",\"components\":3,\"top\":5}"
                .getBytes(StandardCharsets.UTF_8);
        Random random = new Random(7);
        for (int i = 0; i < 20_000; i++) {
            byte[] b = seed.clone();
            int edits = 1 + random.nextInt(4);
            for (int e = 0; e < edits; e++) {
                int at = random.nextInt(b.length);
                switch (random.nextInt(3)) {
                    case 0 -> b[at] = (byte) random.nextInt(256);
                    case 1 -> b = java.util.Arrays.copyOf(b, at);
                    default -> b[at] = "{}[]\":,0-e.\\nul"
                            .getBytes(StandardCharsets.UTF_8)[random.nextInt(15)];
                }
                if (b.length == 0) break;
            }
            try {
                JobRequest r = JobRequest.parse(b);
                assertFalse(r.prompts().isEmpty());
            } catch (ApiException e) {
                assertTrue(e.status() == 400 || e.status() == 413, e.status() + " " + e.getMessage());
            }
        }
    }
}
