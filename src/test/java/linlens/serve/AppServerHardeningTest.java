package linlens.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The server's edges, without a real model (the worker's work is a stand-in): cross-origin use,
 * security headers, every error as JSON, atomic admission, slow and malformed clients.
 */
@org.junit.jupiter.api.Timeout(120)
class AppServerHardeningTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String MODEL_FILE = "src/test/resources/reference/tiny/llama3/model.gguf";
    static final String JOB = "{\"model\":\"model\",\"prompts\":[\"Hi\"]}";
    static final Duration TIMEOUT = Duration.ofSeconds(2);

    static {
        System.setProperty("jdk.httpclient.allowRestrictedHeaders", "host"); // before the first HttpClient
    }

    AppServer server;
    HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    /** Jobs block here until the test lets them finish. */
    final Semaphore release = new Semaphore(0);
    final ConcurrentLinkedQueue<String> log = new ConcurrentLinkedQueue<>();

    @BeforeEach
    void start() throws Exception {
        server = start(0, (q, job) -> {
            try {
                release.acquire();
            } catch (InterruptedException e) {
                throw new java.util.concurrent.CancellationException();
            }
        });
    }

    AppServer start(int queue, JobQueue.Work work) throws IOException {
        return AppServer.start(new AppServer.Config("127.0.0.1", 0, List.of(Path.of(MODEL_FILE).toString()), queue, 16,
                new AppServer.Limits(TIMEOUT, 16)), log::add, work);
    }

    @AfterEach
    void stop() {
        release.release(1000);
        server.close();
    }

    HttpResponse<String> send(HttpRequest.Builder b) throws Exception {
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    HttpRequest.Builder request(String path) {
        return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path)).timeout(Duration.ofSeconds(20));
    }

    HttpRequest.Builder post(String body, String type) {
        var b = request("/api/jobs").POST(HttpRequest.BodyPublishers.ofString(body));
        return type == null ? b : b.header("Content-Type", type);
    }

    static void assertError(HttpResponse<String> r, int status, String message) throws Exception {
        assertEquals(status, r.statusCode(), r.body());
        assertEquals("application/json", r.headers().firstValue("Content-Type").orElse(""));
        JsonNode j = JSON.readTree(r.body());
        assertEquals(status, j.get("status").asInt(), r.body());
        assertTrue(j.get("error").asText().contains(message), r.body());
        assertEquals(2, j.size(), r.body());
    }

    static void assertSecurityHeaders(java.net.http.HttpHeaders h, boolean appPolicy) {
        assertEquals(appPolicy ? AppServer.CSP : null, h.firstValue("Content-Security-Policy").orElse(null));
        assertEquals("nosniff", h.firstValue("X-Content-Type-Options").orElse(null));
        assertEquals("DENY", h.firstValue("X-Frame-Options").orElse(null));
        assertEquals("no-referrer", h.firstValue("Referrer-Policy").orElse(null));
        assertEquals("same-origin", h.firstValue("Cross-Origin-Resource-Policy").orElse(null));
        assertEquals("no-store", h.firstValue("Cache-Control").orElse(null));
    }

    String submitAccepted(HttpRequest.Builder b) throws Exception {
        var r = send(b);
        assertEquals(202, r.statusCode(), r.body());
        return JSON.readTree(r.body()).get("id").asText();
    }

    JsonNode waitFor(AppServer s, String id) throws Exception {
        return JobFailureTest.waitFor(http, s.port(), id);
    }

    // ------------------------------------------------------------------ cross-origin use

    @Test
    void bodiesThatAreNotJsonAreRefusedWith415() throws Exception {
        assertError(send(post(JOB, "text/plain")), 415, "application/json");
        assertError(send(post(JOB, "text/plain;charset=UTF-8")), 415, "application/json");
        assertError(send(post("model=model&prompts=Hi", "application/x-www-form-urlencoded")), 415, "application/json");
        assertError(send(post(JOB, "multipart/form-data; boundary=x")), 415, "application/json");
        assertError(send(post(JOB, null)), 415, "application/json");
        assertError(send(post(JOB, "application/jsonp")), 415, "application/json");
        submitAccepted(post(JOB, "Application/JSON; charset=utf-8"));
    }

    @Test
    void requestsFromOtherOriginsAreRefusedWith403() throws Exception {
        for (String origin : List.of("http://evil.example", "null", "http://127.0.0.1:1", "https://127.0.0.1:" + server.port(),
                "http://127.0.0.1:" + server.port() + ".evil.example")) {
            assertError(send(post(JOB, "application/json").header("Origin", origin)), 403, "another origin");
            assertError(send(request("/api/models").header("Origin", origin)), 403, "another origin");
            assertError(send(request("/api/jobs/1").DELETE().header("Origin", origin)), 403, "another origin");
        }
        for (String site : List.of("cross-site", "same-site", "whatever")) {
            assertError(send(post(JOB, "application/json").header("Sec-Fetch-Site", site)), 403, "cross-site");
            assertError(send(request("/api/models").header("Sec-Fetch-Site", site)), 403, "cross-site");
            assertError(send(request("/api/jobs/1").DELETE().header("Sec-Fetch-Site", site)), 403, "cross-site");
        }
        // a cross-site form post is refused whatever its type
        assertError(send(post("model=model", "application/x-www-form-urlencoded").header("Origin", "http://evil.example")
                .header("Sec-Fetch-Site", "cross-site")), 403, "cross-site");
        // a link to the app from elsewhere still opens its page; the API is what is guarded
        assertEquals(200, send(request("/").header("Sec-Fetch-Site", "cross-site")).statusCode());
        // the app's own page, under each of its names, and clients that send neither header
        for (String own : List.of("http://127.0.0.1:", "http://localhost:", "http://[::1]:"))
            assertEquals(200, send(request("/api/models").header("Origin", own + server.port()).header("Sec-Fetch-Site", "same-origin")).statusCode());
        assertEquals(200, send(request("/api/models").header("Sec-Fetch-Site", "none")).statusCode());
        String id = submitAccepted(post(JOB, "application/json").header("Origin", "http://localhost:" + server.port())
                .header("Sec-Fetch-Site", "same-origin"));
        assertEquals(200, send(request("/api/jobs/" + id).DELETE().header("Origin", "http://127.0.0.1:" + server.port())).statusCode());
        // DNS rebinding: addressed to another name
        assertError(send(request("/api/models").header("Host", "evil.example:" + server.port())), 403, "addressed to");
        assertError(send(request("/").header("Host", "evil.example")), 403, "addressed to");
    }

    // ------------------------------------------------------------------ headers

    @Test
    void everyAnswerCarriesTheSecurityHeaders() throws Exception {
        for (String path : List.of("/", "/assets/app.js", "/assets/style.css", "/assets/echarts.min.js", "/api/models", "/api/jobs/7", "/nope")) {
            var r = send(request(path));
            assertSecurityHeaders(r.headers(), true);
        }
        assertSecurityHeaders(send(post("{", "application/json")).headers(), true);
        assertSecurityHeaders(send(post(JOB, "text/plain")).headers(), true);
        assertSecurityHeaders(send(request("/api/models").header("Origin", "http://evil.example")).headers(), true);
        var r = send(request("/api/jobs").PUT(HttpRequest.BodyPublishers.noBody()));
        assertError(r, 405, "not allowed");
        assertEquals("POST", r.headers().firstValue("Allow").orElse(null));
        assertEquals("GET, DELETE", send(request("/api/jobs/1").POST(HttpRequest.BodyPublishers.noBody())).headers().firstValue("Allow").orElse(null));
        assertTrue(send(request("/")).headers().firstValue("Server").isEmpty(), "no server version");
    }

    // ------------------------------------------------------------------ errors

    @Test
    void malformedPathsAndNumbersAre4xxJson() throws Exception {
        String id = submitAccepted(post(JOB, "application/json"));
        assertError(send(request("/api/jobs/" + id + "/results/99999999999")), 404, "has no prompt 99999999999");
        assertError(send(request("/api/jobs/" + id + "/results/2147483648/report.html")), 404, "has no prompt");
        assertError(send(request("/api/jobs/" + id + "/results/1")), 404, "has no prompt 1");
        assertError(send(request("/api/jobs/" + id + "/results/" + "9".repeat(40))), 404, "no such page");
        assertError(send(request("/api/jobs/" + "9".repeat(40))), 404, "no such page");
        assertError(send(request("/api/jobs/99999999999")), 404, "no job");
        assertError(send(request("/api/jobs/-1")), 404, "no such page");
        assertError(send(request("/api/jobs/1x")), 404, "no such page");
        assertError(send(request("/api/jobs/" + id + "/results/0/other.txt")), 404, "no such page");
        assertError(send(request("/api/jobs/" + id + "/results/0/report.html")), 404, "not decomposed");
        assertError(send(request("/api/jobs/")), 404, "no such page");
        assertError(send(request("/%2e%2e/etc/passwd")), 400, "malformed");
        assertError(send(request("/a%00b")), 400, "malformed");
        assertError(send(post(JOB + "x", "application/json")), 400, "not valid JSON");
        assertError(send(post("{\"model\":\"model\",\"model\":\"model\",\"prompts\":[\"a\"]}", "application/json")), 400, "twice");
        assertError(send(post("{\"model\":\"nope\",\"prompts\":[\"a\"]}", "application/json")), 404, "unknown model 'nope'");
        assertError(send(post("{\"pad\":\"" + "x".repeat(70_000) + "\"}", "application/json")), 413, "request too large");
        // a chunked body (no length given) over the limit
        var chunked = request("/api/jobs").header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new java.io.ByteArrayInputStream(("{\"pad\":\"" + "x".repeat(100_000) + "\"}").getBytes())));
        assertError(send(chunked), 413, "request too large");
        assertError(send(post(JOB, "application/json")), 409, "busy");
    }

    @Test
    void anInternalErrorIsA500WithoutTheExceptionText() throws Exception {
        server.close();
        server = start(0, (q, job) -> job.publish(0, Map.of("broken", new Object() {
            public String getValue() { throw new IllegalStateException("secret detail"); }
        })));
        String id = submitAccepted(post(JOB, "application/json"));
        assertEquals("done", waitFor(server, id).get("state").asText());
        var r = send(request("/api/jobs/" + id + "/results/0"));
        assertError(r, 500, "internal error");
        assertFalse(r.body().contains("secret") || r.body().contains("Exception"), r.body());
        assertTrue(log.stream().anyMatch(l -> l.contains("secret detail")), log.toString());
        assertEquals(200, send(request("/api/models")).statusCode(), "and serving goes on");
    }

    /** Raw HTTP: the answer's status line and body, or null when the server closed without one. */
    String raw(byte[] request) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", server.port()), 5000);
            s.setSoTimeout(10_000);
            s.getOutputStream().write(request);
            s.getOutputStream().flush();
            byte[] answer = s.getInputStream().readAllBytes();
            return answer.length == 0 ? null : new String(answer, StandardCharsets.ISO_8859_1);
        }
    }

    static void assertRawError(String answer, int status) throws Exception {
        assertNotNull(answer, "no answer");
        assertTrue(answer.startsWith("HTTP/1.1 " + status + " "), answer);
        String lower = answer.toLowerCase();
        assertTrue(lower.contains("content-type: application/json"), answer);
        assertTrue(lower.contains("x-content-type-options: nosniff"), answer);
        assertTrue(lower.contains("content-security-policy: default-src 'none'"), answer);
        JsonNode body = JSON.readTree(answer.substring(answer.indexOf("\r\n\r\n") + 4));
        assertEquals(status, body.get("status").asInt());
        assertFalse(body.get("error").asText().isBlank());
    }

    @Test
    void malformedHttpGetsOurJsonError() throws Exception {
        String host = "Host: 127.0.0.1\r\n";
        assertRawError(raw("GARBAGE\r\n\r\n".getBytes()), 400);
        assertRawError(raw("GET /api/models HTTP/1.1 extra\r\n\r\n".getBytes()), 400);
        assertRawError(raw(("GET /api/models HTTP/1.1\r\n" + host + "Bad Header\r\n\r\n").getBytes()), 400);
        assertRawError(raw(("GET /api/models HTTP/1.1\r\n" + host + "X: a\u0001b\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1)), 400);
        assertRawError(raw(("GET /api/models HTTP/1.1\r\n" + host + "X-Big: " + "a".repeat(20_000) + "\r\n\r\n").getBytes()), 431);
        StringBuilder many = new StringBuilder("GET /api/models HTTP/1.1\r\n" + host);
        for (int i = 0; i < 2000; i++) many.append("X-").append(i).append(": 1\r\n");
        assertRawError(raw((many + "\r\n").getBytes()), 431);
        assertRawError(raw(("GET /" + "a".repeat(20_000) + " HTTP/1.1\r\n" + host + "\r\n").getBytes()), 414);
        assertRawError(raw("GET /api/models HTTP/1.1\r\n\r\n".getBytes()), 400); // no Host
        assertRawError(raw(("POST /api/jobs HTTP/1.1\r\n" + host + "Content-Type: application/json\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\n{}").getBytes()), 400);
        assertRawError(raw(("POST /api/jobs HTTP/1.1\r\n" + host + "Content-Type: application/json\r\nContent-Length: -3\r\n\r\n").getBytes()), 400);
        assertRawError(raw(("POST /api/jobs HTTP/1.1\r\n" + host + "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n").getBytes()), 400);
        assertRawError(raw("GET /api/models HTTP/7.0\r\nHost: 127.0.0.1\r\n\r\n".getBytes()), 505);
        // a body that stops arriving: 408 once the request's time is up, and the connection closed
        long t0 = System.nanoTime();
        assertRawError(raw(("POST /api/jobs HTTP/1.1\r\n" + host + "Content-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"mo").getBytes()), 408);
        assertTrue((System.nanoTime() - t0) / 1e9 < TIMEOUT.toSeconds() * 2);
        // HTTP/1.0 without a Host header: our own refusal
        assertRawError(raw("GET /api/models HTTP/1.0\r\n\r\n".getBytes()), 403);
        assertEquals(200, send(request("/api/models")).statusCode(), "the server keeps serving");
    }

    // ------------------------------------------------------------------ admission

    /** Many simultaneous submissions: exactly 1 + queue are admitted, the rest get 409; repeated. */
    @Test
    void admissionIsAtomicUnderConcurrentSubmissions() throws Exception {
        for (int queue : List.of(0, 2)) {
            server.close();
            server = start(queue, (q, job) -> {
                try {
                    release.acquire();
                } catch (InterruptedException e) {
                    throw new java.util.concurrent.CancellationException();
                }
            });
            for (int round = 0; round < 5; round++) {
                int threads = 50;
                CountDownLatch go = new CountDownLatch(1);
                List<Future<HttpResponse<String>>> answers = new ArrayList<>();
                List<String> admitted = new ArrayList<>();
                try (ExecutorService pool = Executors.newFixedThreadPool(threads);
                     HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build()) {
                    for (int t = 0; t < threads; t++) {
                        HttpRequest req = post(JOB, "application/json").build();
                        answers.add(pool.submit(() -> {
                            go.await();
                            return client.send(req, HttpResponse.BodyHandlers.ofString());
                        }));
                    }
                    go.countDown();
                    int busy = 0;
                    for (Future<HttpResponse<String>> a : answers) {
                        HttpResponse<String> r = a.get(60, TimeUnit.SECONDS);
                        if (r.statusCode() == 202) admitted.add(JSON.readTree(r.body()).get("id").asText());
                        else if (r.statusCode() == 409) busy++;
                        else fail("status " + r.statusCode() + ": " + r.body());
                    }
                    assertEquals(1 + queue, admitted.size(), "queue " + queue + ", round " + round);
                    assertEquals(threads - 1 - queue, busy);
                }
                // the admitted jobs finish, and the queue is free for the next round
                release.release(admitted.size());
                for (String id : admitted) assertEquals("done", waitFor(server, id).get("state").asText());
            }
        }
    }

    // ------------------------------------------------------------------ slow clients

    /** Sockets that send part of a request and stall, or drip it byte by byte, are closed within the timeout. */
    @Test
    void slowClientsAreCutOffWhileOthersAreServed() throws Exception {
        List<Socket> slow = new ArrayList<>();
        List<String> starts = List.of(
                "",                                                     // connects, sends nothing
                "GET /api/models HTTP/1.1\r\n",                         // request line, then nothing
                "GET /api/models HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: ", // half a header
                "POST /api/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"mo"); // half a body
        long t0 = System.nanoTime();
        try {
            for (int i = 0; i < 3; i++)
                for (String start : starts) {
                    Socket s = new Socket();
                    s.connect(new InetSocketAddress("127.0.0.1", server.port()), 5000);
                    s.setSoTimeout(50);
                    s.getOutputStream().write(start.getBytes());
                    s.getOutputStream().flush();
                    slow.add(s);
                }
            // one more that drips its headers, a byte every 100 ms: never idle long enough for an idle timeout
            Socket drip = new Socket();
            drip.connect(new InetSocketAddress("127.0.0.1", server.port()), 5000);
            byte[] dripped = ("GET /api/models HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + "a".repeat(5000)).getBytes();
            var dripCut = new java.util.concurrent.CompletableFuture<Double>();
            Thread dripper = Thread.ofPlatform().daemon().start(() -> {
                try {
                    for (byte b : dripped) {
                        drip.getOutputStream().write(b);
                        drip.getOutputStream().flush();
                        Thread.sleep(100);
                    }
                    dripCut.complete(Double.NaN);
                } catch (IOException e) {
                    dripCut.complete((System.nanoTime() - t0) / 1e9);
                } catch (InterruptedException e) {
                    dripCut.complete(Double.NaN);
                }
            });
            slow.add(drip);

            // a normal request meanwhile
            var ok = send(request("/api/models"));
            assertEquals(200, ok.statusCode(), ok.body());

            int quiet = slow.size() - 1;
            boolean[] closed = new boolean[quiet];
            long deadline = System.nanoTime() + TIMEOUT.toNanos() * 3;
            for (boolean all = false; !all && System.nanoTime() < deadline; ) {
                all = true;
                for (int i = 0; i < quiet; i++) {
                    if (!closed[i]) closed[i] = closedByServer(slow.get(i));
                    all &= closed[i];
                }
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            for (int i = 0; i < quiet; i++) assertTrue(closed[i], "connection " + i + " still open after " + seconds + " s");
            assertTrue(seconds < TIMEOUT.toSeconds() * 3, seconds + " s");
            Double dripSeconds = dripCut.get(TIMEOUT.toSeconds() * 4, TimeUnit.SECONDS);
            dripper.interrupt();
            assertTrue(dripSeconds < TIMEOUT.toSeconds() * 3, "the dripping client was cut off after " + dripSeconds + " s");
            assertEquals(200, send(request("/api/models")).statusCode(), "the server keeps serving");
        } finally {
            for (Socket s : slow) s.close();
        }
    }

    /** True when the server has closed the socket (end of stream, or a reset), after reading what it answered. */
    static boolean closedByServer(Socket s) {
        try {
            InputStream in = s.getInputStream();
            byte[] buf = new byte[4096];
            while (true) if (in.read(buf) < 0) return true;
        } catch (SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true;
        }
    }

    @Test
    void theNumberOfConnectionsIsBounded() throws Exception {
        // more idle sockets than the limit (16): the excess wait unaccepted, and all are closed in time
        List<Socket> idle = new ArrayList<>();
        try {
            for (int i = 0; i < 24; i++) {
                Socket s = new Socket();
                s.connect(new InetSocketAddress("127.0.0.1", server.port()), 5000);
                idle.add(s);
            }
            long t0 = System.nanoTime();
            var ok = send(request("/api/models"));
            assertEquals(200, ok.statusCode());
            assertTrue((System.nanoTime() - t0) / 1e9 < TIMEOUT.toSeconds() * 4, "served once the idle ones are closed");
        } finally {
            for (Socket s : idle) s.close();
        }
    }

    @Test
    void aKeptAliveConnectionServesSeveralRequests() throws Exception {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", server.port()), 5000);
            s.setSoTimeout(5000);
            OutputStream out = s.getOutputStream();
            for (int i = 0; i < 3; i++) {
                out.write("GET /api/models HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".getBytes());
                out.flush();
                String head = readHead(s.getInputStream());
                assertTrue(head.startsWith("HTTP/1.1 200"), head);
                int length = Integer.parseInt(head.replaceAll("(?si).*content-length: *(\\d+).*", "$1"));
                s.getInputStream().readNBytes(length);
                Thread.sleep(TIMEOUT.toMillis() / 3);
            }
        }
    }

    static String readHead(InputStream in) throws IOException {
        StringBuilder sb = new StringBuilder();
        while (!sb.toString().endsWith("\r\n\r\n")) {
            int c = in.read();
            if (c < 0) throw new IOException("closed after: " + sb);
            sb.append((char) c);
        }
        return sb.toString();
    }
}
