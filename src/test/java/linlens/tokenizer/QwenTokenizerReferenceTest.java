package linlens.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import linlens.testing.RealModel;
import linlens.testing.TestModels;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Qwen2.5-Coder 0.5B's byte-level BPE against llama.cpp on the same file
 * ({@code reference/qwen2.5-coder-0.5b/tokens.json}, reference/make_qwen_fixtures.py: the Gemma
 * corpus of make_tokens.py plus Qwen's own special tokens and code). The file adds no BOS.
 */
@RealModel
class QwenTokenizerReferenceTest {
    private static final String FIXTURE = "/reference/qwen2.5-coder-0.5b/tokens.json";
    private static final ObjectMapper JSON = new ObjectMapper();

    private record Case(int index, String text, int[] ids) {}

    private static JsonNode fixture() throws IOException {
        try (InputStream in = QwenTokenizerReferenceTest.class.getResourceAsStream(FIXTURE)) {
            if (in == null) throw new AssertionError("reference fixture " + FIXTURE + " missing from the test resources");
            return JSON.readTree(in);
        }
    }

    private static List<Case> cases() throws IOException {
        List<Case> out = new ArrayList<>();
        int i = 0;
        for (JsonNode c : fixture().get("cases")) out.add(new Case(i++, c.get("text").asText(), JSON.convertValue(c.get("ids"), int[].class)));
        assertTrue(out.size() >= 90, "fixture has only " + out.size() + " cases");
        return out;
    }

    private static String label(Case c) throws IOException {
        String q = JSON.writeValueAsString(c.text());
        return "#" + c.index() + " " + (q.length() > 60 ? q.substring(0, 57) + "...\"" : q);
    }

    @Test
    void fixtureWasMadeFromThisModelFile() throws Exception {
        String expected = fixture().get("model_sha256").asText();
        assertEquals(TestModels.QWEN_SHA256, expected, "fixture is for another model file");
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        try (InputStream in = Files.newInputStream(TestModels.qwenPath())) {
            byte[] buf = new byte[1 << 20];
            for (int n; (n = in.read(buf)) > 0; ) md.update(buf, 0, n);
        }
        assertEquals(expected, HexFormat.of().formatHex(md.digest()),
                TestModels.qwenPath() + " is not the model file the reference fixture was made from");
    }

    @TestFactory
    List<DynamicTest> idsMatchLlamaCpp() throws IOException {
        List<DynamicTest> tests = new ArrayList<>();
        for (Case c : cases())
            tests.add(DynamicTest.dynamicTest(label(c), () -> {
                int[] got = TestModels.qwen().tokenizer().encode(c.text());
                assertArrayEquals(c.ids(), got, () -> "ids differ from llama.cpp for " + JSON.valueToTree(c.text())
                        + "\n  llama.cpp: " + Arrays.toString(c.ids()) + "\n  ours:      " + Arrays.toString(got));
            }));
        return tests;
    }

    /** Byte-level BPE loses nothing: decoding the ids gives the text back. */
    @TestFactory
    List<DynamicTest> decodeRoundTrips() throws IOException {
        List<DynamicTest> tests = new ArrayList<>();
        for (Case c : cases())
            tests.add(DynamicTest.dynamicTest(label(c), () -> {
                Tokenizer t = TestModels.qwen().tokenizer();
                assertEquals(c.text(), t.decode(t.encode(c.text())));
            }));
        return tests;
    }
}
