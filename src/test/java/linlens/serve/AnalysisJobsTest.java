package linlens.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import linlens.analysis.Analyses;
import linlens.analysis.Analysis;
import linlens.analysis.LayerAnalysis;
import linlens.analysis.ParamSpec;
import linlens.linear.Precision;
import linlens.linear.Site;
import linlens.model.MlpPath;
import linlens.model.ModelLoader;
import linlens.model.Transformer;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The app runs any analysis, not only decompose: a layers job through the job queue on the tiny
 * fixture (its progress, its arrays, a cancellation while it runs), and the list of analyses
 * with their options that the app's form and the Python client build requests from.
 */
@org.junit.jupiter.api.Timeout(300)
class AnalysisJobsTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String MODEL = JobFailureTest.TINY.toString(), NAME = "model";

    static {
        // as the other app tests: the JDK reads this once, at the first HttpClient of the JVM, which may be ours
        System.setProperty("jdk.httpclient.allowRestrictedHeaders", "host");
    }

    static void waitUntilFinished(Job job) throws InterruptedException {
        for (int i = 0; i < 6000 && !job.finished(); i++) Thread.sleep(10);
        assertTrue(job.finished(), "job " + job.id + " did not finish: " + job.stage);
    }

    static Map<String, byte[]> unzip(byte[] npz) throws Exception {
        Map<String, byte[]> entries = new LinkedHashMap<>();
        try (var zip = new ZipInputStream(new ByteArrayInputStream(npz))) {
            for (ZipEntry e; (e = zip.getNextEntry()) != null; ) entries.put(e.getName(), zip.readAllBytes());
        }
        return entries;
    }

    @Test
    void aLayersJobReportsItsSitesAndKeepsItsArrays() throws Exception {
        Transformer m = ModelLoader.load(JobFailureTest.TINY);
        int last = m.config().layers() - 1;
        var options = new LayerAnalysis.Options(new int[]{0, last}, List.of(Site.LAYER, Site.MLP), Precision.FP64, MlpPath.UP, 2, 3);
        ConcurrentLinkedQueue<String> log = new ConcurrentLinkedQueue<>();
        try (JobQueue queue = new JobQueue(new ServedModels(List.of(MODEL)), 4, 64, log::add)) {
            Job job = queue.submit(NAME, List.of("Hello there"), new LayerAnalysis(), options);
            waitUntilFinished(job);
            assertEquals(Job.State.DONE, job.state, job.error);
            // the last progress report: every site done
            assertEquals(4, job.done);
            assertEquals(4, job.total);
            Job.Status status = job.status(0);
            assertEquals("layers", status.analysis());
            assertEquals(List.of(0, last), JSON.convertValue(status.options().get("layers"), List.class));
            assertEquals(List.of("layer", "mlp"), status.options().get("keys"));
            assertEquals(List.of("forward", "layers"), status.results().getFirst().sections());

            var result = assertInstanceOf(LayerAnalysis.Result.class, job.results.getFirst().result);
            assertEquals(4, result.sites().size());
            for (var s : result.sites()) {
                assertTrue(s.cumulative().relativeError() <= 1e-12, s.layer() + s.key() + " " + s.cumulative().relativeError());
                assertTrue(s.layerwise().relativeError() <= 1e-12, s.layer() + s.key() + " " + s.layerwise().relativeError());
            }
            // its arrays: the same as 'layers --export' writes, with the manifest
            Map<String, byte[]> npz = unzip(job.results.getFirst().arrays);
            assertEquals(4 * 5 + 1, npz.size(), npz.keySet().toString());
            assertTrue(npz.containsKey("L" + last + "_mlp_cumulative.npy"), npz.keySet().toString());
            JsonNode manifest = JSON.readTree(npz.get("manifest.json"));
            assertEquals("layers", manifest.get("kind").asText());
            assertEquals(4 * 5, manifest.get("arrays").size());
        }
    }

    @Test
    void aLayersJobCancelledWhileItRunsStopsAtItsNextReport() throws Exception {
        Transformer m = ModelLoader.load(JobFailureTest.TINY);
        // every layer and site of a longer prompt: enough reports that a cancel lands before the last one
        var options = new LayerAnalysis.Options(null, null, Precision.FP64, MlpPath.UP, 2, 3);
        int sites = LayerAnalysis.defaultLayers(m.config().layers()).length * Site.values().length;
        String prompt = "Hello there, how are you today? ".repeat(4);
        try (JobQueue queue = new JobQueue(new ServedModels(List.of(MODEL)), 4, 1000, line -> {})) {
            List<String> outcomes = new ArrayList<>();
            Job cancelled = null;
            // the worker may outrun the watcher and finish first; then try again (rarely needed)
            for (int attempt = 0; attempt < 20 && cancelled == null; attempt++) {
                Job job = queue.submit(NAME, List.of(prompt), new LayerAnalysis(), options);
                while (!job.finished() && !(job.stage.equals("sites") && job.done < job.total - 1)) Thread.onSpinWait();
                queue.cancel(job.id);
                waitUntilFinished(job);
                outcomes.add(job.state.name());
                if (job.state == Job.State.CANCELLED) cancelled = job;
                else assertEquals(Job.State.DONE, job.state, job.error);
            }
            assertNotNull(cancelled, "no cancel landed while a job ran: " + outcomes);
            assertEquals("cancelled", cancelled.stage);
            assertNull(cancelled.error);
            assertTrue(cancelled.done < sites, cancelled.done + " of " + sites + " sites");
            assertNull(cancelled.results.getFirst().result, "a cancelled analysis has no result");
            assertNull(cancelled.results.getFirst().arrays);
            assertEquals(List.of("forward"), cancelled.status(0).results().getFirst().sections(), "only what came before the analysis");
            // the worker is free for the next job
            Job next = queue.submit(NAME, List.of("Hi"), new LayerAnalysis(),
                    new LayerAnalysis.Options(new int[]{0}, List.of(Site.LAYER), Precision.FP32, MlpPath.UP, 1, 1));
            waitUntilFinished(next);
            assertEquals(Job.State.DONE, next.state, next.error);
        }
    }

    @Test
    void theAppListsEveryAnalysisWithItsOptions() throws Exception {
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        try (AppServer server = AppServer.start(new AppServer.Config("127.0.0.1", 0, List.of(MODEL), 0, 64), line -> {})) {
            var r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/api/analyses")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, r.statusCode(), r.body());
            JsonNode list = JSON.readTree(r.body()).get("analyses");
            assertEquals(Analyses.names(), names(list));
            for (int i = 0; i < Analyses.ALL.size(); i++) {
                Analysis<?> a = Analyses.ALL.get(i);
                JsonNode entry = list.get(i);
                assertEquals(String.join(" ", a.description()), entry.get("description").asText());
                assertEquals(a.promptDescription(), entry.get("prompt_description").asText());
                assertEquals(a.defaultPrompt(), entry.get("default_prompt").asText());
                List<ParamSpec> params = a.params();
                assertEquals(params.size(), entry.get("options").size(), a.name());
                for (int p = 0; p < params.size(); p++) {
                    ParamSpec spec = params.get(p);
                    JsonNode o = entry.get("options").get(p);
                    String where = a.name() + "." + spec.name();
                    assertEquals(spec.name(), o.get("name").asText(), where);
                    assertEquals(spec.kind().name().toLowerCase(), o.get("kind").asText(), where);
                    assertEquals(spec.description(), o.get("description").asText(), where);
                    assertEquals(spec.required(), o.get("required").asBoolean(), where);
                    assertEquals(JSON.valueToTree(spec.defaultText() == null ? null : ParamSpec.valueForJson(spec.defaultValue())),
                            o.get("default"), where);
                }
            }
            // a few entries as the form shows them: the server's caps, the defaults in the API's spelling
            JsonNode decompose = list.get(0).get("options");
            assertEquals("decompose", list.get(0).get("name").asText());
            assertEquals("fp32", decompose.get(0).get("default").asText());
            assertEquals("up", decompose.get(1).get("default").asText());
            assertEquals(5, decompose.get(2).get("default").asInt());
            assertEquals(1, decompose.get(2).get("min").asInt());
            assertEquals(JobRequest.MAX_COMPONENTS, decompose.get(2).get("max").asInt());
            assertEquals(JobRequest.MAX_TOP, decompose.get(3).get("max").asInt());
            JsonNode steer = list.get(Analyses.names().indexOf("steer"));
            assertEquals("target", steer.get("options").get(0).get("name").asText());
            assertTrue(steer.get("options").get(0).get("required").asBoolean());
            assertEquals("The Golden Gate", steer.get("default_prompt").asText());
            var post = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/api/analyses"))
                    .POST(HttpRequest.BodyPublishers.ofString("{}")).header("Content-Type", "application/json").build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(405, post.statusCode(), post.body());
        }
    }

    static List<String> names(JsonNode list) {
        List<String> names = new ArrayList<>();
        for (JsonNode a : list) names.add(a.get("name").asText());
        return names;
    }
}
