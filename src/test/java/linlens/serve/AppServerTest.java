package linlens.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import linlens.analysis.Prediction;
import linlens.analysis.Vectors;
import linlens.format.Npy;
import linlens.model.ForwardPass;
import linlens.model.ForwardTrace;
import linlens.model.Prompts;
import linlens.model.Transformer;
import linlens.testing.RealModel;
import linlens.testing.TestModels;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

import static org.junit.jupiter.api.Assertions.*;

/** The JSON API of 'linlens serve' on the real model: jobs, results, exports, and every refusal. */
@RealModel
class AppServerTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static AppServer server;
    static HttpClient http;
    static String model;

    @BeforeAll
    static void start() throws Exception {
        System.setProperty("jdk.httpclient.allowRestrictedHeaders", "host");
        Path p = TestModels.gemmaPath();
        model = p.getFileName().toString().replaceFirst("\\.gguf$", "");
        server = AppServer.start(new AppServer.Config("127.0.0.1", 0, List.of(p.toString()), 0, 16), line -> {});
        http = HttpClient.newHttpClient();
    }

    @AfterAll
    static void stop() { server.close(); }

    record Reply(int status, String body, byte[] bytes, java.net.http.HttpHeaders headers) {
        JsonNode json() throws Exception { return JSON.readTree(body); }
    }

    static Reply call(String method, String path, String body) throws Exception {
        var b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (body != null) b.header("Content-Type", "application/json");
        var r = http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
        return new Reply(r.statusCode(), new String(r.body(), java.nio.charset.StandardCharsets.UTF_8), r.body(), r.headers());
    }

    static Reply submit(String... prompts) throws Exception {
        return call("POST", "/api/jobs", JSON.writeValueAsString(java.util.Map.of("model", model, "prompts", prompts)));
    }

    static JsonNode waitFor(String id) throws Exception {
        for (int i = 0; i < 6000; i++) {
            JsonNode s = call("GET", "/api/jobs/" + id, null).json();
            if (List.of("done", "failed", "cancelled").contains(s.get("state").asText())) return s;
            Thread.sleep(100);
        }
        throw new AssertionError("job " + id + " did not finish");
    }

    static void assertRefused(Reply r, int status, String message) throws Exception {
        assertEquals(status, r.status(), r.body());
        assertTrue(r.json().get("error").asText().contains(message), r.body());
    }

    /** A download: an attachment with its file name, nosniff, and the app's CSP unless it is the report. */
    static void assertDownload(Reply r, String filename, boolean appPolicy) {
        assertEquals("attachment; filename=\"" + filename + "\"", r.headers().firstValue("Content-Disposition").orElse(null));
        assertEquals("nosniff", r.headers().firstValue("X-Content-Type-Options").orElse(null));
        assertEquals(appPolicy, r.headers().firstValue("Content-Security-Policy").isPresent());
    }

    @Test
    void pageAssetsAndModels() throws Exception {
        assertTrue(call("GET", "/", null).body().contains("/assets/app.js"));
        assertTrue(call("GET", "/assets/echarts.min.js", null).body().length() > 500_000);
        assertTrue(call("GET", "/assets/figures.js", null).body().contains("LinLens.render"));
        JsonNode models = call("GET", "/api/models", null).json().get("models");
        assertTrue(models.findValuesAsText("name").contains(model), models.toString());
    }

    @Test
    void badRequestsAreRefusedWithAStatusAndAMessage() throws Exception {
        assertRefused(submit(""), 400, "empty prompt");
        assertRefused(submit(), 400, "'prompts' must be");
        assertRefused(submit("a", "b", "c"), 400, "'prompts' must be");
        assertRefused(call("POST", "/api/jobs", "{\"model\":\"nope\",\"prompts\":[\"a\"]}"), 404, "unknown model 'nope'");
        assertRefused(call("POST", "/api/jobs", "{\"model\":\"" + TestModels.gemmaPath() + "\",\"prompts\":[\"a\"]}"), 404, "unknown model");
        assertRefused(call("POST", "/api/jobs", "{\"model\":\"" + model + "\",\"prompts\":[\"a\"],\"path\":\"/x.gguf\"}"), 400, "unknown field 'path'");
        assertRefused(call("POST", "/api/jobs", "{\"model\":"), 400, "not valid JSON");
        assertRefused(call("POST", "/api/jobs", "[1]"), 400, "JSON object");
        assertRefused(call("POST", "/api/jobs", "{\"model\":\"" + model + "\",\"prompts\":[\"a\"],\"top\":0}"), 400, "'top'");
        assertRefused(call("POST", "/api/jobs", "{\"model\":\"" + model + "\",\"prompts\":[\"a\"],\"precision\":\"fp16\"}"), 400, "'precision'");
        assertRefused(submit("x".repeat(9000)), 413, "prompt too long");
        assertRefused(call("POST", "/api/jobs", "{\"pad\":\"" + "x".repeat(70_000) + "\"}"), 413, "request too large");
        assertRefused(call("PUT", "/api/jobs", "{}"), 405, "not allowed");
        assertRefused(call("GET", "/api/jobs/424242", null), 404, "no job");
        assertRefused(call("GET", "/etc/passwd", null), 404, "no such page");
        var rebound = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/api/models")).header("Host", "evil.example:80").build();
        assertEquals(403, http.send(rebound, HttpResponse.BodyHandlers.ofString()).statusCode());
        assertEquals(200, call("GET", "/api/models", null).status(), "the server keeps running");
    }

    @Test
    void aJobComputesTheDecompositionAndItsExports(@TempDir Path dir) throws Exception {
        Reply r = submit("The Golden");
        assertEquals(202, r.status(), r.body());
        String id = r.json().get("id").asText();
        JsonNode s = waitFor(id);
        assertEquals("done", s.get("state").asText(), s.toString());
        assertEquals(List.of("forward", "decomposition", "reconstruction", "jacobians"),
                JSON.convertValue(s.get("results").get(0).get("sections"), List.class));

        // the prediction, checked against a forward pass of our own
        Transformer m = TestModels.gemma();
        int[] ids = Prompts.encode(m, "The Golden");
        ForwardTrace tr = new ForwardPass(m).run(ids);
        var expected = Prediction.of(m, tr, 5);
        Reply decReply = call("GET", "/api/jobs/" + id + "/results/0/decomposition.json", null);
        assertDownload(decReply, "linlens-job" + id + "-0-decomposition.json", true);
        JsonNode dec = decReply.json();
        assertEquals(expected.tokenId(), dec.get("prediction").get("token_id").asInt());
        assertEquals(ids.length, dec.get("svd").size());

        // the NumPy export: its J reproduces y from the input embeddings
        Reply npz = call("GET", "/api/jobs/" + id + "/results/0/arrays.npz", null);
        assertEquals(200, npz.status());
        assertDownload(npz, "linlens-job" + id + "-0-arrays.npz", true);
        try (var zip = new ZipInputStream(new java.io.ByteArrayInputStream(npz.bytes()))) {
            for (ZipEntry e; (e = zip.getNextEntry()) != null; ) Files.write(dir.resolve(e.getName()), zip.readAllBytes());
        }
        Npy.Array jac = Npy.read(dir.resolve("jacobian.npy"));
        int n = ids.length, d = 640;
        assertArrayEquals(new int[]{n, d, d}, jac.shape());
        double[] x = tr.x(), yHat = new double[d];
        for (int t = 0; t < n; t++)
            for (int row = 0; row < d; row++)
                for (int c = 0; c < d; c++) yHat[row] += jac.values()[(t * d + row) * d + c] * x[t * d + c];
        assertTrue(Vectors.relativeError(yHat, tr.y()) < 1e-5);
        assertArrayEquals(tr.y(), Npy.read(dir.resolve("y.npy")).values(), 0);
        assertArrayEquals(new int[]{n, d}, Npy.read(dir.resolve("singular_values.npy")).shape());

        Reply report = call("GET", "/api/jobs/" + id + "/results/0/report.html", null);
        assertTrue(report.body().startsWith("<!DOCTYPE html>") && report.body().contains("linlens-data"));
        // the report brings its own policy (a meta CSP): the app's header policy would block its inline scripts
        assertDownload(report, "linlens-job" + id + "-0-report.html", false);
        assertRefused(call("GET", "/api/jobs/" + id + "/results/5", null), 404, "no prompt 5");
    }

    @Test
    void oneJobAtATimeAndCancel() throws Exception {
        Reply first = submit("The bridge out of Marin is the", "The Golden");
        assertEquals(202, first.status(), first.body());
        String id = first.json().get("id").asText();
        assertRefused(submit("Another"), 409, "busy");
        assertEquals(200, call("GET", "/api/models", null).status());
        JsonNode cancelled = call("DELETE", "/api/jobs/" + id, null).json();
        assertEquals(id, cancelled.get("id").asText());
        assertEquals("cancelled", waitFor(id).get("state").asText());
        assertRefused(call("GET", "/api/jobs/" + id + "/results/1/arrays.npz", null), 404, "not decomposed");
        // the queue is free again
        Reply next = submit("Hi");
        assertEquals(202, next.status(), next.body());
        assertEquals("done", waitFor(next.json().get("id").asText()).get("state").asText());
    }

    @Test
    void aPromptOverTheTokenLimitFailsTheJobWithAMessage() throws Exception {
        Reply r = submit("one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen");
        JsonNode s = waitFor(r.json().get("id").asText());
        assertEquals("failed", s.get("state").asText());
        assertTrue(s.get("error").asText().contains("at most 16"), s.toString());
    }

    @Test
    void withAQueueJobsWaitTheirTurn() throws Exception {
        try (AppServer queued = AppServer.start(new AppServer.Config("127.0.0.1", 0, List.of(TestModels.gemmaPath().toString()), 1, 16), l -> {})) {
            var client = HttpClient.newHttpClient();
            java.util.function.Function<String, JsonNode> post = body -> {
                try {
                    var req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + queued.port() + "/api/jobs"))
                            .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build();
                    var resp = client.send(req, HttpResponse.BodyHandlers.ofString());
                    return ((com.fasterxml.jackson.databind.node.ObjectNode) JSON.readTree(resp.body())).put("http", resp.statusCode());
                } catch (Exception e) {
                    throw new AssertionError(e);
                }
            };
            String job = "{\"model\":\"" + model + "\",\"prompts\":[\"The bridge out of Marin is the\"]}";
            JsonNode a = post.apply(job);
            assertEquals(202, a.get("http").asInt());
            // the worker takes the first job when it gets the CPU: wait for that, so that the second is first in line
            var status = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + queued.port() + "/api/jobs/" + a.get("id").asText())).build();
            long deadline = System.nanoTime() + 120_000_000_000L;
            while (JSON.readTree(client.send(status, HttpResponse.BodyHandlers.ofString()).body()).get("state").asText().equals("queued")) {
                assertTrue(System.nanoTime() < deadline, "the first job never started");
                Thread.sleep(20);
            }
            JsonNode b = post.apply(job), c = post.apply(job);
            assertEquals(202, b.get("http").asInt());
            assertEquals(1, b.get("queue_position").asInt());
            assertEquals(409, c.get("http").asInt(), c.toString());
            for (JsonNode j : List.of(b, a)) {
                var del = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + queued.port() + "/api/jobs/" + j.get("id").asText())).DELETE().build();
                assertEquals(200, client.send(del, HttpResponse.BodyHandlers.ofString()).statusCode());
            }
        }
    }
}
