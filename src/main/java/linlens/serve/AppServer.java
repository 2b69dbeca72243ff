package linlens.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import linlens.analysis.Decomposition;
import linlens.blas.Arith;
import linlens.format.Npy;
import linlens.linear.Precision;
import linlens.model.MlpPath;
import linlens.report.HtmlReport;
import linlens.report.WebAssets;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * The local web app of {@code linlens serve}: the page, its assets, and the JSON API (see the
 * README). Requests are served on their own threads while the job queue's worker computes, so
 * the server stays responsive during a long job.
 */
public final class AppServer implements AutoCloseable {
    /** Largest request body accepted (HTTP 413 beyond). */
    static final int MAX_BODY = 64 * 1024;
    /** Longest prompt in characters (HTTP 413 beyond); the token limit is checked by the job. */
    static final int MAX_PROMPT_CHARS = 8000;
    static final int MAX_PROMPTS = 2, MAX_COMPONENTS = 64, MAX_TOP = 50;

    public record Config(String host, int port, List<String> models, int maxQueued, int maxTokens) {}

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern JOB = Pattern.compile("/api/jobs/(\\d+)");
    private static final Pattern RESULT = Pattern.compile("/api/jobs/(\\d+)/results/(\\d+)(?:/(decomposition\\.json|arrays\\.npz|report\\.html))?");
    private static final Set<String> JOB_FIELDS = Set.of("model", "prompts", "precision", "mlp_path", "components", "top");
    private static final Map<String, String> ASSETS = Map.of(
            "/assets/figures.js", "text/javascript", "/assets/app.js", "text/javascript", "/assets/style.css", "text/css",
            "/assets/echarts.min.js", "text/javascript");

    private final HttpServer http;
    private final ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor();
    private final ServedModels models;
    private final JobQueue queue;
    private final boolean loopback;

    private AppServer(Config c, Consumer<String> log) throws IOException {
        models = new ServedModels(c.models());
        queue = new JobQueue(models, c.maxQueued(), c.maxTokens(), log);
        InetAddress address = InetAddress.getByName(c.host());
        loopback = address.isLoopbackAddress();
        http = HttpServer.create(new InetSocketAddress(address, c.port()), 0);
        http.setExecutor(threads);
        http.createContext("/", this::handle);
    }

    /** Starts serving; {@code log} gets the occasional line (a failed job's cause). */
    public static AppServer start(Config config, Consumer<String> log) throws IOException {
        AppServer s = new AppServer(config, log);
        s.http.start();
        return s;
    }

    public int port() { return http.getAddress().getPort(); }

    public String url() {
        return "http://" + http.getAddress().getAddress().getHostAddress() + ":" + port() + "/";
    }

    @Override
    public void close() {
        http.stop(0);
        queue.close();
        threads.shutdownNow();
    }

    // ------------------------------------------------------------------ routing

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            try {
                checkHost(ex);
                route(ex, ex.getRequestURI().getPath(), ex.getRequestMethod());
            } catch (ApiException e) {
                sendJson(ex, e.status, Map.of("error", e.getMessage(), "status", e.status));
            } catch (RuntimeException e) {
                sendJson(ex, 500, Map.of("error", "error: " + e, "status", 500));
            }
        }
    }

    /**
     * On a loopback address, only requests addressed to it: a page elsewhere cannot reach the
     * server through a name that resolves to 127.0.0.1 (DNS rebinding).
     */
    private void checkHost(HttpExchange ex) {
        if (!loopback) return;
        String host = ex.getRequestHeaders().getFirst("Host");
        String name = host == null ? "" : host.replaceFirst(":\\d+$", "");
        if (!Set.of("127.0.0.1", "localhost", "[::1]").contains(name))
            throw new ApiException(403, "requests must be addressed to 127.0.0.1 or localhost");
    }

    private void route(HttpExchange ex, String path, String method) throws IOException {
        Matcher m;
        if (path.equals("/") || path.equals("/index.html")) {
            allow(method, "GET");
            send(ex, 200, "text/html; charset=utf-8", WebAssets.own("app.html").getBytes(StandardCharsets.UTF_8));
        } else if (ASSETS.containsKey(path)) {
            allow(method, "GET");
            String name = path.substring("/assets/".length());
            String body = name.equals("echarts.min.js") ? WebAssets.echarts() : WebAssets.own(name);
            send(ex, 200, ASSETS.get(path) + "; charset=utf-8", body.getBytes(StandardCharsets.UTF_8));
        } else if (path.equals("/api/models")) {
            allow(method, "GET");
            sendJson(ex, 200, modelList());
        } else if (path.equals("/api/jobs")) {
            allow(method, "POST");
            Job job = submit(readJson(ex));
            sendJson(ex, 202, job.status(queue.queuePosition(job)));
        } else if ((m = JOB.matcher(path)).matches()) {
            allow(method, "GET", "DELETE");
            Job job = method.equals("DELETE") ? queue.cancel(m.group(1)) : queue.get(m.group(1));
            sendJson(ex, 200, job.status(queue.queuePosition(job)));
        } else if ((m = RESULT.matcher(path)).matches()) {
            allow(method, "GET");
            result(ex, queue.get(m.group(1)), Integer.parseInt(m.group(2)), m.group(3));
        } else {
            throw new ApiException(404, "no such page: " + path);
        }
    }

    private static void allow(String method, String... allowed) {
        if (!List.of(allowed).contains(method))
            throw new ApiException(405, "method " + method + " not allowed here (use " + String.join(" or ", allowed) + ")");
    }

    record ModelEntry(String name, String path, boolean loaded) {}

    private Map<String, Object> modelList() {
        List<ModelEntry> list = new ArrayList<>();
        models.available().forEach((name, p) -> list.add(new ModelEntry(name, p.toString(), models.isLoaded(p))));
        return Map.of("models", list);
    }

    // ------------------------------------------------------------------ jobs

    private Job submit(JsonNode body) {
        for (var it = body.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!JOB_FIELDS.contains(f)) throw new ApiException(400, "unknown field '" + f + "' (known: " + String.join(", ", JOB_FIELDS) + ")");
        }
        String model = text(body, "model", null);
        if (model == null) throw new ApiException(400, "missing 'model': pick one of " + String.join(", ", models.available().keySet()));
        if (!models.available().containsKey(model))
            throw new ApiException(404, "unknown model '" + model + "' (available: " + String.join(", ", models.available().keySet()) + ")");
        JsonNode ps = body.get("prompts");
        if (ps == null || !ps.isArray() || ps.isEmpty() || ps.size() > MAX_PROMPTS)
            throw new ApiException(400, "'prompts' must be a list of 1 or " + MAX_PROMPTS + " prompts");
        List<String> prompts = new ArrayList<>();
        for (JsonNode p : ps) {
            if (!p.isTextual()) throw new ApiException(400, "each prompt must be a string");
            String s = p.asText();
            if (s.isBlank()) throw new ApiException(400, "empty prompt: type some text");
            if (s.length() > MAX_PROMPT_CHARS)
                throw new ApiException(413, "prompt too long: " + s.length() + " characters, at most " + MAX_PROMPT_CHARS);
            prompts.add(s);
        }
        Precision precision = switch (text(body, "precision", "fp32")) {
            case "fp32" -> Precision.FP32;
            case "fp64" -> Precision.FP64;
            default -> throw new ApiException(400, "'precision' must be fp32 or fp64");
        };
        MlpPath path = switch (text(body, "mlp_path", "up")) {
            case "up" -> MlpPath.UP;
            case "gate" -> MlpPath.GATE;
            default -> throw new ApiException(400, "'mlp_path' must be up or gate");
        };
        var options = new Decomposition.Options(precision, path, integer(body, "components", 8, MAX_COMPONENTS),
                integer(body, "top", 8, MAX_TOP));
        return queue.submit(model, prompts, options);
    }

    private static String text(JsonNode body, String field, String absent) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) return absent;
        if (!v.isTextual()) throw new ApiException(400, "'" + field + "' must be a string");
        return v.asText();
    }

    private static int integer(JsonNode body, String field, int absent, int max) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) return absent;
        if (!v.canConvertToInt() || !v.isIntegralNumber() || v.asInt() < 1 || v.asInt() > max)
            throw new ApiException(400, "'" + field + "' must be an integer from 1 to " + max);
        return v.asInt();
    }

    /** One prompt's sections (for the page), or one of its downloads. */
    private void result(HttpExchange ex, Job job, int index, String download) throws IOException {
        if (index >= job.results.size()) throw new ApiException(404, "job " + job.id + " has no prompt " + index);
        Job.PromptResult r = job.results.get(index);
        if (download == null) {
            sendJson(ex, 200, r.sections);
            return;
        }
        var detail = r.detail;
        if (detail == null) throw new ApiException(404, "prompt " + index + " of job " + job.id + " is not decomposed (yet)");
        String name = "linlens-job" + job.id + "-" + index + "-" + download;
        ex.getResponseHeaders().set("Content-Disposition", "attachment; filename=\"" + name + "\"");
        switch (download) {
            case "decomposition.json" -> send(ex, 200, "application/json", JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(detail.result()));
            case "report.html" -> send(ex, 200, "text/html; charset=utf-8", HtmlReport.of(detail).html().getBytes(StandardCharsets.UTF_8));
            default -> send(ex, 200, "application/zip", npz(detail));
        }
    }

    /**
     * The arrays as a NumPy .npz: y (d), reconstructed = Σ J_i x_i (d), singular_values (n, d)
     * in float64, and jacobian (n, d, d) in the job's precision.
     */
    private static byte[] npz(Decomposition.Detail<?> d) throws IOException {
        var svd = d.result().svd();
        int n = svd.size(), dim = d.y().length;
        double[] sv = new double[n * dim];
        for (int t = 0; t < n; t++) System.arraycopy(svd.get(t).singularValues(), 0, sv, t * dim, dim);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
            entry(zip, "y.npy", out -> Npy.write(out, new int[]{dim}, d.y(), 0, dim));
            entry(zip, "reconstructed.npy", out -> Npy.write(out, new int[]{dim}, d.reconstructed(), 0, dim));
            entry(zip, "singular_values.npy", out -> Npy.write(out, new int[]{n, dim}, sv, 0, sv.length));
            int[] shape = {n, dim, dim};
            entry(zip, "jacobian.npy", out -> {
                if (d.arith() == Arith.F32) Npy.write(out, shape, (float[]) d.jacobian(), 0, n * dim * dim);
                else Npy.write(out, shape, (double[]) d.jacobian(), 0, n * dim * dim);
            });
        }
        return bytes.toByteArray();
    }

    private interface EntryWriter { void write(OutputStream out) throws IOException; }

    private static void entry(ZipOutputStream zip, String name, EntryWriter w) throws IOException {
        zip.putNextEntry(new ZipEntry(name));
        w.write(zip);
        zip.closeEntry();
    }

    // ------------------------------------------------------------------ I/O

    private static JsonNode readJson(HttpExchange ex) throws IOException {
        byte[] body;
        try (InputStream in = ex.getRequestBody()) {
            body = in.readNBytes(MAX_BODY + 1);
        }
        if (body.length > MAX_BODY) throw new ApiException(413, "request too large: at most " + MAX_BODY / 1024 + " KiB");
        JsonNode node;
        try {
            node = JSON.readTree(body);
        } catch (IOException e) {
            throw new ApiException(400, "the request body is not valid JSON");
        }
        if (node == null || !node.isObject()) throw new ApiException(400, "the request body must be a JSON object");
        return node;
    }

    private static void sendJson(HttpExchange ex, int status, Object value) throws IOException {
        send(ex, status, "application/json", JSON.writeValueAsBytes(value));
    }

    private static void send(HttpExchange ex, int status, String type, byte[] body) throws IOException {
        ex.getResponseHeaders().set("Content-Type", type);
        ex.getResponseHeaders().set("Cache-Control", "no-store");
        ex.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(body);
        }
    }
}
