package linlens.tokenizer;

import linlens.testing.RealModel;
import linlens.testing.TestModels;
import linlens.testing.TinyGguf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Token ids must equal llama.cpp's for every text in the reference fixture
 * ({@code reference/gemma-3-270m/tokens.json}: llama-cpp-python's
 * {@code tokenize(text, add_bos=True, special=True)} on the same model file), and decoding the ids
 * (without BOS) must give the text back.
 */
@RealModel
class TokenizerReferenceTest {
    private static final String FIXTURE = "/reference/gemma-3-270m/tokens.json";
    private static final ObjectMapper JSON = new ObjectMapper();

    private record Case(int index, String text, int[] ids) {}

    private static JsonNode fixture() throws IOException {
        try (InputStream in = TokenizerReferenceTest.class.getResourceAsStream(FIXTURE)) {
            if (in == null) throw new AssertionError("reference fixture " + FIXTURE + " missing from the test resources");
            return JSON.readTree(in);
        }
    }

    private static List<Case> cases() throws IOException {
        JsonNode root = fixture();
        assertTrue(root.path("add_bos").asBoolean(false) && root.path("parse_special").asBoolean(false),
                "fixture must be made with add_bos=true, parse_special=true");
        List<Case> out = new ArrayList<>();
        int i = 0;
        for (JsonNode c : root.get("cases")) {
            int[] ids = new int[c.get("ids").size()];
            for (int k = 0; k < ids.length; k++) ids[k] = c.get("ids").get(k).asInt();
            out.add(new Case(i++, c.get("text").asText(), ids));
        }
        assertTrue(out.size() >= 50, "fixture has only " + out.size() + " cases");
        return out;
    }

    private static String label(Case c) throws IOException {
        String q = JSON.writeValueAsString(c.text());
        return "#" + c.index() + " " + (q.length() > 60 ? q.substring(0, 57) + "...\"" : q);
    }

    @Test
    void fixtureWasMadeFromThisModelFile() throws IOException, NoSuchAlgorithmException {
        String expected = fixture().get("model_sha256").asText();
        assertEquals(TestModels.SHA256, expected, "fixture is for another model file");
        TestModels.open().close(); // fails clearly if the model is missing
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        try (InputStream in = Files.newInputStream(TestModels.gemmaPath())) {
            byte[] buf = new byte[1 << 20];
            for (int n; (n = in.read(buf)) > 0; ) md.update(buf, 0, n);
        }
        assertEquals(expected, HexFormat.of().formatHex(md.digest()),
                TestModels.gemmaPath() + " is not the model file the reference fixture was made from");
    }

    @TestFactory
    List<DynamicTest> idsMatchLlamaCpp() throws IOException {
        List<DynamicTest> tests = new ArrayList<>();
        for (Case c : cases()) {
            tests.add(DynamicTest.dynamicTest(label(c), () -> {
                int[] got = TestModels.tokenizer().encode(c.text());
                assertArrayEquals(c.ids(), got, () -> "ids differ from llama.cpp for " + JSON.valueToTree(c.text())
                        + "\n  llama.cpp: " + Arrays.toString(c.ids()) + "\n  ours:      " + Arrays.toString(got));
            }));
        }
        return tests;
    }

    @TestFactory
    List<DynamicTest> decodeRoundTrips() throws IOException {
        List<DynamicTest> tests = new ArrayList<>();
        for (Case c : cases()) {
            tests.add(DynamicTest.dynamicTest(label(c), () -> {
                Tokenizer t = TestModels.tokenizer();
                int[] ids = t.encode(c.text());
                assertEquals(t.bos(), ids[0]);
                String back = t.decode(Arrays.copyOfRange(ids, 1, ids.length));
                // a literal U+2581 in the text is the same token as a space, and decodes as one
                assertEquals(c.text().replace('\u2581', ' '), back);
            }));
        }
        return tests;
    }
}
