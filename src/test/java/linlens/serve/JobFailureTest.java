package linlens.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import linlens.analysis.Decomposition;
import linlens.linear.Precision;
import linlens.model.MlpPath;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;

import static org.junit.jupiter.api.Assertions.*;

/** A bad model or a job that throws anything ends that job as failed, in one line; the app serves on. */
@org.junit.jupiter.api.Timeout(300)
class JobFailureTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final Path TINY = Path.of("src/test/resources/reference/tiny/llama3/model.gguf");

    static JsonNode waitFor(HttpClient http, int port, String id) throws Exception {
        for (int i = 0; i < 1200; i++) {
            var r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/api/jobs/" + id)).build(),
                    HttpResponse.BodyHandlers.ofString());
            JsonNode j = JSON.readTree(r.body());
            if (List.of("done", "failed", "cancelled").contains(j.get("state").asText())) return j;
            Thread.sleep(50);
        }
        throw new AssertionError("job " + id + " did not finish");
    }

    @Test
    void corruptModelFilesFailTheirJobsAndTheNextJobRuns(@TempDir Path dir) throws Exception {
        byte[] good = Files.readAllBytes(TINY);
        Files.write(dir.resolve("good.gguf"), good);
        Files.write(dir.resolve("truncated.gguf"), Arrays.copyOf(good, good.length / 2));
        Files.write(dir.resolve("header-only.gguf"), Arrays.copyOf(good, 64));
        Files.write(dir.resolve("empty.gguf"), new byte[0]);
        byte[] garbage = new byte[good.length];
        new Random(3).nextBytes(garbage);
        System.arraycopy(good, 0, garbage, 0, 8); // the GGUF magic and version, then noise
        Files.write(dir.resolve("garbage.gguf"), garbage);
        byte[] flipped = good.clone();
        Random r = new Random(5);
        for (int i = 0; i < 200; i++) flipped[24 + r.nextInt(4000)] ^= (byte) (1 << r.nextInt(8)); // the metadata, bit-flipped
        Files.write(dir.resolve("flipped.gguf"), flipped);

        List<String> broken = List.of("truncated", "header-only", "empty", "garbage", "flipped");
        List<String> files = new ArrayList<>();
        for (String b : broken) files.add(dir.resolve(b + ".gguf").toString());
        files.add(dir.resolve("good.gguf").toString());
        ConcurrentLinkedQueue<String> log = new ConcurrentLinkedQueue<>();
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        try (AppServer server = AppServer.start(new AppServer.Config("127.0.0.1", 0, files, 0, 64), log::add)) {
            for (String model : broken) {
                for (String m : List.of(model, "good")) {
                    var req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/api/jobs"))
                            .header("Content-Type", "application/json")
                            .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"" + m + "\",\"prompts\":[\"Hello there\"]}")).build();
                    var resp = http.send(req, HttpResponse.BodyHandlers.ofString());
                    assertEquals(202, resp.statusCode(), resp.body());
                    JsonNode s = waitFor(http, server.port(), JSON.readTree(resp.body()).get("id").asText());
                    if (m.equals("good")) {
                        assertEquals("done", s.get("state").asText(), "after " + model + ": " + s);
                    } else {
                        assertEquals("failed", s.get("state").asText(), s.toString());
                        String error = s.get("error").asText();
                        assertFalse(error.isBlank() || error.contains("\n"), error);
                        assertTrue(error.length() < 400, error);
                        assertFalse(error.contains("\tat "), error);
                    }
                }
            }
            var models = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/api/models")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, models.statusCode());
        }
    }

    @Test
    void anyThrowableFailsOnlyItsJob() throws Exception {
        List<Throwable> throwables = List.of(new OutOfMemoryError("Java heap space"), new StackOverflowError(),
                new IllegalStateException("line one\nline two"), new AssertionError("bug"),
                new ExceptionInInitializerError("static init"), new NoClassDefFoundError("x/Y"), new InternalError("jvm"),
                new linlens.model.InputException("prompt too long: 99 tokens"));
        ConcurrentLinkedQueue<String> log = new ConcurrentLinkedQueue<>();
        var options = new Decomposition.Options(Precision.FP32, MlpPath.UP, 8, 8);
        try (JobQueue queue = new JobQueue(new ServedModels(List.of(TINY.toString())), 100, 16, log::add, (q, job) -> {
            int which = Integer.parseInt(job.results.get(0).prompt);
            if (which < throwables.size()) sneakyThrow(throwables.get(which));
            job.publish(0, java.util.Map.of("ok", 1));
        })) {
            List<Job> jobs = new ArrayList<>();
            for (int i = 0; i <= throwables.size(); i++) jobs.add(queue.submit("model", List.of(Integer.toString(i)), new Decomposition(), options));
            for (int i = 0; i < 400 && !jobs.getLast().finished(); i++) Thread.sleep(25);
            for (int i = 0; i < throwables.size(); i++) {
                Job j = jobs.get(i);
                assertEquals(Job.State.FAILED, j.state, throwables.get(i).toString());
                assertEquals("failed", j.stage);
                assertFalse(j.error.isBlank() || j.error.contains("\n"), j.error);
            }
            assertTrue(jobs.get(0).error.startsWith("out of memory"), jobs.get(0).error);
            assertTrue(jobs.get(1).error.contains("stack overflow"), jobs.get(1).error);
            assertEquals("prompt too long: 99 tokens", jobs.get(throwables.size() - 1).error);
            assertEquals(Job.State.DONE, jobs.getLast().state, "the worker went on to the next job");
            assertTrue(log.stream().anyMatch(l -> l.contains("line one line two")), log.toString());
        }
    }

    @SuppressWarnings("unchecked")
    static <T extends Throwable> void sneakyThrow(Throwable t) throws T {
        throw (T) t;
    }
}
