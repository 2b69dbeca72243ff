package linlens.cli;

import linlens.model.InputException;
import linlens.serve.AppServer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

@Command(name = "serve", header = "The local web app: prompts, figures, downloads", description = {
        "Serve the Linear Lens web app: type a prompt, watch its decomposition fill in, compare two prompts,",
        "download JSON, NumPy and HTML exports. Offers the cached models and those given with --model."})
public final class ServeCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--host", description = "Address to bind (default: ${DEFAULT-VALUE}; anything else exposes the app to the network).",
            defaultValue = "127.0.0.1")
    String host;

    @Option(names = "--port", description = "Port (default: ${DEFAULT-VALUE}; 0 picks a free one).", defaultValue = "8765")
    int port;

    @Option(names = "--model", paramLabel = "MODEL", description = "A model file (.gguf) or cached name to offer besides the cache (repeatable).")
    List<String> models = new ArrayList<>();

    @Option(names = "--queue", description = "Jobs that may wait behind the running one (default: ${DEFAULT-VALUE}: one job at a time).",
            defaultValue = "0")
    int queue;

    @Option(names = "--max-tokens", description = "Longest prompt in tokens (default: ${DEFAULT-VALUE}).", defaultValue = "64")
    int maxTokens;

    @Option(names = "--verbose", description = "Stack traces on errors.")
    boolean verbose;

    @Option(names = "--quiet", description = "No log lines, only the address.")
    boolean quiet;

    @picocli.CommandLine.Mixin ThreadsOption threads;

    /** Bounds far above any sensible use: a typo must not queue a million jobs or admit prompts no job could finish. */
    static final int MAX_QUEUE = 1000, MAX_TOKENS = 1 << 16;

    @Override
    public Integer call() throws Exception {
        Bounds.within("--port", port, 0, 65535, null);
        Bounds.within("--queue", queue, 0, MAX_QUEUE, null);
        Bounds.within("--max-tokens", maxTokens, 1, MAX_TOKENS, null);
        threads.apply();
        var err = spec.commandLine().getErr();
        AppServer server;
        try {
            server = AppServer.start(new AppServer.Config(host, port, models, queue, maxTokens), line -> { if (!quiet) err.println(line); });
        } catch (java.net.BindException e) {
            throw new InputException("cannot listen on " + host + ":" + port + ": " + e.getMessage());
        } catch (java.net.UnknownHostException e) {
            throw new InputException("unknown host " + host);
        }
        if (!quiet && !InetAddress.getByName(host).isLoopbackAddress())
            err.println("linlens serve: warning: bound to " + host + ", reachable from the network");
        var out = spec.commandLine().getOut();
        out.println("Linear Lens is serving on " + server.url());
        out.flush();
        Runtime.getRuntime().addShutdownHook(new Thread(server::close));
        new CountDownLatch(1).await(); // until the process is stopped
        return 0;
    }
}
