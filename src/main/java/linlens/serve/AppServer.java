package linlens.serve;

import com.fasterxml.jackson.databind.ObjectMapper;
import linlens.report.HtmlReport;
import linlens.report.WebAssets;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.NetworkConnectionLimit;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Promise;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

import java.io.IOException;
import java.net.BindException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The local web app of {@code linlens serve}: the page, its assets, and the JSON API (see the
 * README), on Jetty. Requests are served on virtual threads while the job queue's worker
 * computes, so the server stays responsive during a long job.
 *
 * <p>Only this server's own pages may use the API: requests addressed to another host name (DNS
 * rebinding), sent from another origin ({@code Origin}, {@code Sec-Fetch-Site}) or with a body
 * that is not {@code application/json} (what a cross-site form or no-preflight fetch can send)
 * are refused. Every answer, Jetty's own for malformed HTTP included, is JSON {@code {"error",
 * "status"}} when it is an error, and carries the security headers. Connections are bounded in
 * number, and in the time they may take to send a request or sit idle.
 */
public final class AppServer implements AutoCloseable {
    /** The page's policy: its own scripts only, no framing, no forms, no plug-ins. */
    static final String CSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
            + "connect-src 'self'; font-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

    /**
     * How long a connection may take to send a whole request (headers from its opening or from
     * the previous answer, the body from the headers) or stall while being answered, and how
     * many connections may be open at once (more wait to be accepted).
     */
    public record Limits(Duration requestTimeout, int maxConnections) {
        public static final Limits DEFAULT = new Limits(Duration.ofSeconds(10), 64);

        public Limits {
            if (requestTimeout.toMillis() < 1 || maxConnections < 1) throw new IllegalArgumentException("limits must be positive");
        }
    }

    public record Config(String host, int port, List<String> models, int maxQueued, int maxTokens, Limits limits) {
        public Config(String host, int port, List<String> models, int maxQueued, int maxTokens) {
            this(host, port, models, maxQueued, maxTokens, Limits.DEFAULT);
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    // ids and indexes of at most 18 digits fit a long; longer ones are simply not found
    private static final Pattern JOB = Pattern.compile("/api/jobs/(\\d{1,18})");
    private static final Pattern RESULT = Pattern.compile("/api/jobs/(\\d{1,18})/results/(\\d{1,18})(?:/(result\\.json|decomposition\\.json|arrays\\.npz|report\\.html))?");
    private static final Map<String, String> ASSETS = Map.of(
            "/assets/figures.js", "text/javascript", "/assets/app.js", "text/javascript", "/assets/style.css", "text/css",
            "/assets/echarts.min.js", "text/javascript");
    private static final Set<String> LOOPBACK_NAMES = Set.of("127.0.0.1", "localhost", "[::1]");

    private final Server jetty;
    private final ServerConnector connector;
    private final ServedModels models;
    private final JobQueue queue;
    private final boolean loopback;
    private final InetAddress address;
    private final String host;
    private final Consumer<String> log;
    private final long requestTimeoutMs;
    private final Map<Connection, Exchange> connections = new ConcurrentHashMap<>();
    private final ScheduledExecutorService sweeper = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().name("linlens-http-timeouts").daemon().factory());
    private volatile Set<String> origins = Set.of();

    /** Where a connection is: answering a request, or since when it has been waiting for one. */
    private static final class Exchange {
        volatile boolean busy;
        volatile long waitingSince = System.nanoTime();
    }

    private AppServer(Config c, Consumer<String> log, JobQueue.Work work) throws IOException {
        this.log = log;
        this.host = c.host();
        models = new ServedModels(c.models());
        queue = work == null ? new JobQueue(models, c.maxQueued(), c.maxTokens(), log)
                : new JobQueue(models, c.maxQueued(), c.maxTokens(), log, work);
        address = InetAddress.getByName(c.host());
        loopback = address.isLoopbackAddress();
        requestTimeoutMs = c.limits().requestTimeout().toMillis();

        QueuedThreadPool threads = new QueuedThreadPool(16, 2);
        threads.setName("linlens-http");
        threads.setDaemon(true); // like the JDK server's: the caller decides how long the process lives
        threads.setVirtualThreadsExecutor(Executors.newVirtualThreadPerTaskExecutor());
        jetty = new Server(threads);
        HttpConfiguration http = new HttpConfiguration();
        http.setSendServerVersion(false);
        http.setSendXPoweredBy(false);
        http.setRequestHeaderSize(8 * 1024); // request line and headers together; 431 beyond
        connector = new ServerConnector(jetty, 1, 1, new HttpConnectionFactory(http));
        connector.setHost(address.getHostAddress());
        connector.setPort(c.port());
        connector.setIdleTimeout(requestTimeoutMs);
        connector.addEventListener(new Connection.Listener() {
            @Override public void onOpened(Connection connection) { connections.put(connection, new Exchange()); }
            @Override public void onClosed(Connection connection) { connections.remove(connection); }
        });
        jetty.addConnector(connector);
        jetty.addBean(new NetworkConnectionLimit(c.limits().maxConnections(), connector));
        jetty.setHandler(new App());
        jetty.setErrorHandler(new Errors());
    }

    /** Starts serving; {@code log} gets the occasional line (a failed job's cause, an internal error). */
    public static AppServer start(Config config, Consumer<String> log) throws IOException {
        return start(config, log, null);
    }

    /** As above, with the worker's {@code work} replaced (tests). */
    static AppServer start(Config config, Consumer<String> log, JobQueue.Work work) throws IOException {
        AppServer s = new AppServer(config, log, work);
        try {
            s.jetty.start();
        } catch (Exception e) {
            s.close();
            for (Throwable t = e; t != null; t = t.getCause())
                if (t instanceof BindException b) throw b;
            throw e instanceof IOException io ? io : new IOException("cannot start the server: " + e.getMessage(), e);
        }
        s.origins = s.ownOrigins();
        long period = Math.max(50, Math.min(1000, s.requestTimeoutMs / 4));
        s.sweeper.scheduleWithFixedDelay(s::closeStalled, period, period, TimeUnit.MILLISECONDS);
        return s;
    }

    public int port() { return connector.getLocalPort(); }

    public String url() { return "http://" + literal(address) + ":" + port() + "/"; }

    private static String literal(InetAddress a) {
        return a instanceof Inet6Address ? "[" + a.getHostAddress().replaceFirst("%.*$", "") + "]" : a.getHostAddress();
    }

    @Override
    public void close() {
        sweeper.shutdownNow();
        try {
            jetty.stop();
        } catch (Exception e) {
            log.accept("stopping the server: " + e);
        }
        queue.close();
    }

    // ------------------------------------------------------------------ connections

    /**
     * Closes connections that have waited longer than the request timeout for a whole request:
     * a client that opens a connection and sends its request slowly, or not at all, holds it
     * that long at most (Jetty's idle timeout alone restarts with every byte received).
     */
    private void closeStalled() {
        try {
            closeStalledNow();
        } catch (RuntimeException e) {
            log.accept("closing stalled connections: " + e); // and keep sweeping
        }
    }

    private void closeStalledNow() {
        long now = System.nanoTime(), limit = TimeUnit.MILLISECONDS.toNanos(requestTimeoutMs);
        connections.forEach((connection, x) -> {
            if (!x.busy && now - x.waitingSince > limit) connection.getEndPoint().close(new TimeoutException("request timeout"));
        });
    }

    /** The origins of this server's own pages: the loopback names, and the bound host when it is not loopback. */
    private Set<String> ownOrigins() {
        int port = port();
        Set<String> own = new java.util.HashSet<>();
        for (String name : LOOPBACK_NAMES) own.add("http://" + name + ":" + port);
        if (!loopback) {
            own.add("http://" + literal(address) + ":" + port);
            String named = host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host;
            own.add("http://" + named.toLowerCase(Locale.ROOT) + ":" + port);
        }
        return Set.copyOf(own);
    }

    // ------------------------------------------------------------------ routing

    /** One answer, built in full before anything is sent (so a failure midway still gets a clean error). */
    private record Reply(int status, String type, byte[] body, boolean appPolicy, String filename, String allow) {
        static Reply of(int status, String type, byte[] body) { return new Reply(status, type, body, true, null, null); }
    }

    private final class App extends Handler.Abstract {
        @Override
        public boolean handle(Request request, Response response, Callback callback) {
            Exchange x = connections.get(request.getConnectionMetaData().getConnection());
            if (x != null) x.busy = true;
            Reply reply;
            try {
                reply = answer(request);
            } catch (ApiException e) {
                Reply refused = error(e.status, e.getMessage());
                reply = e.allow == null ? refused : new Reply(refused.status, refused.type, refused.body, true, null, e.allow);
            } catch (Throwable e) {
                // the detail goes to the log only: an answer never carries exception text
                log.accept("internal error on " + request.getMethod() + " " + request.getHttpURI().getPath() + ": " + e);
                reply = error(500, "internal error");
            }
            // a refused request's body may be unread: the connection cannot carry another request
            boolean hasBody = request.getLength() > 0 || request.getHeaders().contains(HttpHeader.TRANSFER_ENCODING);
            if (hasBody && reply.status >= 400 && reply.status != 408) drain(request);
            if (reply.status == 408 || (hasBody && reply.status >= 400)) response.getHeaders().put(HttpHeader.CONNECTION, "close");
            send(response, reply, new Callback() {
                @Override public void succeeded() { idle(x); callback.succeeded(); }
                @Override public void failed(Throwable t) { idle(x); callback.failed(t); }
            });
            return true;
        }

        private void idle(Exchange x) {
            if (x == null) return;
            x.waitingSince = System.nanoTime();
            x.busy = false;
        }
    }

    /** Jetty's own errors (malformed HTTP, headers too large, ...) as our JSON, with our headers. */
    private final class Errors implements Request.Handler {
        @Override
        public boolean handle(Request request, Response response, Callback callback) {
            int status = request.getAttribute(ErrorHandler.ERROR_STATUS) instanceof Integer i ? i : 500;
            if (status < 400 || status > 599) status = 500;
            Throwable cause = request.getAttribute(ErrorHandler.ERROR_EXCEPTION) instanceof Throwable t ? t : null;
            String message;
            if (status >= 500) {
                if (cause != null) log.accept("internal error: " + cause);
                message = status == 505 ? "HTTP version not supported" : "internal error";
            } else {
                message = switch (status) {
                    case 400 -> "malformed HTTP request";
                    case 408 -> "request timed out";
                    case 413 -> "request too large";
                    case 414 -> "request line too long";
                    case 431 -> "request headers too large: at most 8 KiB";
                    default -> HttpStatus.getMessage(status).toLowerCase(Locale.ROOT);
                };
                String detail = request.getAttribute(ErrorHandler.ERROR_MESSAGE) instanceof String m ? JobRequest.shorten(m) : null;
                if (detail != null && !detail.isBlank() && !detail.equalsIgnoreCase(HttpStatus.getMessage(status)))
                    message += " (" + detail + ")";
            }
            // after a request Jetty could not take, the connection is not worth keeping: say so, so no client reuses it
            response.getHeaders().put(HttpHeader.CONNECTION, "close");
            send(response, error(status, message), callback);
            return true;
        }
    }

    private Reply answer(Request request) throws IOException {
        String method = request.getMethod();
        checkHost(request);
        String path = Request.getPathInContext(request);
        boolean changesState = !method.equals("GET") && !method.equals("HEAD");
        if (changesState || path.startsWith("/api/")) checkOrigin(request);
        Matcher m;
        if (path.equals("/") || path.equals("/index.html")) {
            allow(method, "GET");
            return Reply.of(200, "text/html; charset=utf-8", WebAssets.own("app.html").getBytes(StandardCharsets.UTF_8));
        } else if (ASSETS.containsKey(path)) {
            allow(method, "GET");
            String name = path.substring("/assets/".length());
            String body = name.equals("echarts.min.js") ? WebAssets.echarts() : WebAssets.own(name);
            return Reply.of(200, ASSETS.get(path) + "; charset=utf-8", body.getBytes(StandardCharsets.UTF_8));
        } else if (path.equals("/api/models")) {
            allow(method, "GET");
            return json(200, modelList());
        } else if (path.equals("/api/analyses")) {
            allow(method, "GET");
            return json(200, analysisList());
        } else if (path.equals("/api/jobs")) {
            allow(method, "POST");
            Job job = submit(JobRequest.parse(readBody(request)));
            return json(202, job.status(queue.queuePosition(job)));
        } else if ((m = JOB.matcher(path)).matches()) {
            allow(method, "GET", "DELETE");
            Job job = method.equals("DELETE") ? queue.cancel(m.group(1)) : queue.get(m.group(1));
            return json(200, job.status(queue.queuePosition(job)));
        } else if ((m = RESULT.matcher(path)).matches()) {
            allow(method, "GET");
            return result(queue.get(m.group(1)), Long.parseLong(m.group(2)), m.group(3));
        }
        throw new ApiException(404, "no such page: " + JobRequest.shorten(path));
    }

    /**
     * On a loopback address, only requests addressed to it: a page elsewhere cannot reach the
     * server through a name that resolves to 127.0.0.1 (DNS rebinding).
     */
    private void checkHost(Request request) {
        if (!loopback) return;
        String hostHeader = request.getHeaders().get(HttpHeader.HOST);
        String name = hostHeader == null ? "" : hostHeader.replaceFirst(":\\d+$", "").toLowerCase(Locale.ROOT);
        if (!LOOPBACK_NAMES.contains(name))
            throw new ApiException(403, "requests must be addressed to 127.0.0.1 or localhost");
    }

    /**
     * Only this server's own pages: browsers say where a request comes from in {@code
     * Sec-Fetch-Site} and {@code Origin}; a request from another site, or from a page with an
     * opaque origin ("null"), is refused. Clients that send neither (curl, scripts) pass.
     */
    private void checkOrigin(Request request) {
        String site = request.getHeaders().get("Sec-Fetch-Site");
        if (site != null && !site.equalsIgnoreCase("same-origin") && !site.equalsIgnoreCase("none"))
            throw new ApiException(403, "cross-site request refused: use the app's own page");
        String origin = request.getHeaders().get(HttpHeader.ORIGIN);
        if (origin == null) return;
        origin = origin.toLowerCase(Locale.ROOT);
        // bound to every address (0.0.0.0, ::), the page's origin is whichever address it was opened at
        String hostHeader = request.getHeaders().get(HttpHeader.HOST);
        boolean addressedHere = address.isAnyLocalAddress() && hostHeader != null && origin.equals("http://" + hostHeader.toLowerCase(Locale.ROOT));
        if (!origins.contains(origin) && !addressedHere)
            throw new ApiException(403, "request from another origin refused: use the app's own page");
    }

    private static void allow(String method, String... allowed) {
        if (!List.of(allowed).contains(method))
            throw new ApiException(405, "method " + JobRequest.shorten(method) + " not allowed here (use " + String.join(" or ", allowed) + ")",
                    String.join(", ", allowed));
    }

    record ModelEntry(String name, String path, boolean loaded) {}

    private Map<String, Object> modelList() {
        List<ModelEntry> list = new ArrayList<>();
        models.available().forEach((name, p) -> list.add(new ModelEntry(name, p.toString(), models.isLoaded(p))));
        return Map.of("models", list);
    }

    /** An option as the app's form and the Python client see it. */
    record OptionEntry(String name, String kind, String description, @com.fasterxml.jackson.annotation.JsonProperty("default") Object defaultValue,
                       boolean required, Long min, Long max) {}

    record AnalysisEntry(String name, String description, @com.fasterxml.jackson.annotation.JsonProperty("prompt_description") String promptDescription,
                         @com.fasterxml.jackson.annotation.JsonProperty("default_prompt") String defaultPrompt, boolean arrays,
                         List<OptionEntry> options) {}

    /** Every analysis with its options (names, kinds, defaults, bounds): what a request may ask for. */
    private static Map<String, Object> analysisList() {
        List<AnalysisEntry> list = new ArrayList<>();
        for (var a : linlens.analysis.Analyses.ALL) {
            List<OptionEntry> options = new ArrayList<>();
            for (var p : a.params()) {
                Integer cap = JobRequest.CAPS.get(p.name());
                Long max = cap != null ? Long.valueOf(cap) : p.max() == Long.MAX_VALUE ? null : p.max();
                Object def = p.defaultText() == null ? null : linlens.analysis.ParamSpec.valueForJson(p.defaultValue());
                options.add(new OptionEntry(p.name(), p.kind().name().toLowerCase(Locale.ROOT), p.description(), def, p.required(),
                        p.min() == Long.MIN_VALUE ? null : p.min(), max));
            }
            list.add(new AnalysisEntry(a.name(), String.join(" ", a.description()), a.promptDescription(), a.defaultPrompt(),
                    a.hasArrays(), options));
        }
        return Map.of("analyses", list);
    }

    // ------------------------------------------------------------------ jobs

    private Job submit(JobRequest r) {
        Map<String, java.nio.file.Path> available = models.available();
        if (!available.containsKey(r.model()))
            throw new ApiException(404, "unknown model '" + JobRequest.shorten(r.model()) + "' (available: " + String.join(", ", available.keySet()) + ")");
        return queue.submit(r.model(), r.prompts(), r.analysisType(), r.options(),
                r.chat() == null ? null : new linlens.model.Prompts.Chat(r.chat().system(), null));
    }

    /** One prompt's sections (for the page), or one of its downloads (as attachments). */
    private Reply result(Job job, long index, String download) throws IOException {
        if (index >= job.results.size()) throw new ApiException(404, "job " + job.id + " has no prompt " + index);
        Job.PromptResult r = job.results.get((int) index);
        if (download == null) return json(200, r.sections);
        var result = r.result;
        if (result == null) {
            // a decomposition's answer keeps the app's words since its first version
            String what = job.analysis instanceof linlens.analysis.Decomposition ? "decomposed" : "analysed";
            throw new ApiException(404, "prompt " + index + " of job " + job.id + " is not " + what + " (yet)");
        }
        String name = "linlens-job" + job.id + "-" + index + "-" + download;
        return switch (download) {
            case "result.json", "decomposition.json" -> new Reply(200, "application/json",
                    JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(result.document()), true, name, null);
            // the report carries its own policy (a meta CSP with its inline scripts' hashes): the app's would break it
            case "report.html" -> {
                String why = job.analysis.noReportUnchecked(job.options);
                if (why != null) throw new ApiException(404, new linlens.analysis.OptionException(why).render(linlens.analysis.OptionException.API));
                yield new Reply(200, "text/html; charset=utf-8", HtmlReport.of(result).html().getBytes(StandardCharsets.UTF_8), false, name, null);
            }
            default -> {
                if (r.arrays == null) throw new ApiException(404, "job " + job.id + " (" + job.analysis.name() + ") has no arrays to download");
                yield new Reply(200, "application/zip", r.arrays, true, name, null);
            }
        };
    }

    // ------------------------------------------------------------------ I/O

    /**
     * The body of a POST: JSON only (a cross-site form or a fetch without preflight cannot send
     * that type), at most {@link JobRequest#MAX_BODY} bytes, read within the request timeout.
     */
    private byte[] readBody(Request request) throws IOException {
        String type = request.getHeaders().get(HttpHeader.CONTENT_TYPE);
        String media = type == null ? "" : type.split(";", 2)[0].strip().toLowerCase(Locale.ROOT);
        if (!media.equals("application/json"))
            throw new ApiException(415, "the request body must be JSON, sent as Content-Type: application/json");
        long declared = request.getLength();
        if (declared > JobRequest.MAX_BODY) throw tooLarge();
        CompletableFuture<byte[]> body = new CompletableFuture<>();
        Content.Source.asByteArrayAsync(request, JobRequest.MAX_BODY + 1, new Promise.Invocable<>() {
            @Override public void succeeded(byte[] bytes) { body.complete(bytes); }
            @Override public void failed(Throwable failure) { body.completeExceptionally(failure); }
        });
        long left = requestTimeoutMs - TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - request.getHeadersNanoTime());
        try {
            byte[] bytes = body.get(Math.max(1, left), TimeUnit.MILLISECONDS);
            if (bytes.length > JobRequest.MAX_BODY) throw tooLarge();
            return bytes;
        } catch (TimeoutException e) {
            request.fail(e);
            throw new ApiException(408, "the request body took too long to arrive");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        } catch (ExecutionException e) {
            // Jetty refuses a body longer than the limit; otherwise the client went away or sent a broken chunk
            if (request.getLength() < 0 && Request.getContentBytesRead(request) > JobRequest.MAX_BODY) throw tooLarge();
            for (Throwable t = e.getCause(); t != null; t = t.getCause())
                if (t instanceof TimeoutException) throw new ApiException(408, "the request body took too long to arrive"); // Jetty's idle timeout came first
            throw new ApiException(400, "the request body could not be read");
        }
    }

    /** Refused bodies up to this size are read and dropped before the answer; larger ones are not waited for. */
    static final int DRAIN_LIMIT = 1 << 20;

    /**
     * Reads and drops what is left of a refused request's body (up to {@link #DRAIN_LIMIT}, within
     * the request timeout) before the connection is closed: TCP resets a socket closed with unread
     * data, and the reset can destroy the answer before the client reads it (seen with a 70 KB body
     * refused with 413 while the client was still sending).
     */
    private void drain(Request request) {
        if (request.getLength() > DRAIN_LIMIT) return;
        CompletableFuture<byte[]> rest = new CompletableFuture<>();
        try {
            Content.Source.asByteArrayAsync(request, DRAIN_LIMIT, new Promise.Invocable<>() {
                @Override public void succeeded(byte[] bytes) { rest.complete(bytes); }
                @Override public void failed(Throwable failure) { rest.completeExceptionally(failure); }
            });
            long left = requestTimeoutMs - TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - request.getHeadersNanoTime());
            rest.get(Math.max(1, left), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception ignored) {
            // too large, too slow or already failed: the connection closes after the answer all the same
        }
    }

    private static ApiException tooLarge() {
        return new ApiException(413, "request too large: at most " + JobRequest.MAX_BODY / 1024 + " KiB");
    }

    private static Reply json(int status, Object value) throws IOException {
        return Reply.of(status, "application/json", JSON.writeValueAsBytes(value));
    }

    private static Reply error(int status, String message) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("error", message);
        body.put("status", status);
        try {
            return Reply.of(status, "application/json", JSON.writeValueAsBytes(body));
        } catch (IOException e) {
            throw new IllegalStateException(e); // a map of a string and a number always serializes
        }
    }

    /**
     * Sends a reply with the headers every answer carries. The app's content security policy
     * goes on everything but the report download, which brings its own.
     */
    private static void send(Response response, Reply reply, Callback callback) {
        var h = response.getHeaders();
        response.setStatus(reply.status);
        h.put(HttpHeader.CONTENT_TYPE, reply.type);
        h.put(HttpHeader.CACHE_CONTROL, "no-store");
        h.put("X-Content-Type-Options", "nosniff");
        h.put("X-Frame-Options", "DENY");
        h.put("Referrer-Policy", "no-referrer");
        h.put("Cross-Origin-Resource-Policy", "same-origin");
        if (reply.appPolicy) h.put("Content-Security-Policy", CSP);
        else h.remove("Content-Security-Policy");
        if (reply.filename != null) h.put(HttpHeader.CONTENT_DISPOSITION, "attachment; filename=\"" + reply.filename + "\"");
        if (reply.allow != null) h.put(HttpHeader.ALLOW, reply.allow);
        h.put(HttpHeader.CONTENT_LENGTH, reply.body.length);
        response.write(true, ByteBuffer.wrap(reply.body), callback);
    }
}
