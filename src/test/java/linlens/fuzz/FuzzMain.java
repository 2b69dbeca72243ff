package linlens.fuzz;

import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;

import java.io.PrintWriter;

import static org.junit.platform.engine.discovery.DiscoverySelectors.selectMethod;

/**
 * Fuzzes one {@code @FuzzTest} method for a bounded time, the way bin/fuzz runs each target
 * (Jazzer fuzzes a single test per JVM). Run with {@code -DJAZZER_FUZZ=1} on the test classpath.
 *
 * <p>Usage: {@code FuzzMain CLASS#METHOD SECONDS RSS_LIMIT_MB [KEEP_GOING]}; KEEP_GOING &gt; 1 lets
 * Jazzer go on after a finding until it has that many distinct ones. Exit code 0: no finding; 1: a
 * finding (Jazzer saved the input under src/test/resources/linlens/fuzz/CLASSInputs/METHOD/).
 */
public final class FuzzMain {
    private FuzzMain() {}

    public static void main(String[] args) throws ClassNotFoundException {
        if (args.length < 3 || args.length > 4) {
            System.err.println("usage: FuzzMain CLASS#METHOD SECONDS RSS_LIMIT_MB [KEEP_GOING]");
            System.exit(2);
        }
        String target = args[0].contains(".") ? args[0] : FuzzMain.class.getPackageName() + "." + args[0];
        Class<?> cls = Class.forName(target.substring(0, target.indexOf('#')));
        String name = target.substring(target.indexOf('#') + 1);
        var method = java.util.Arrays.stream(cls.getDeclaredMethods()).filter(m -> m.getName().equals(name)).findFirst();
        if (method.isEmpty()) {
            System.err.println("linlens-fuzz: no fuzz test " + target);
            System.exit(2);
        }
        // libFuzzer flags given last win over those Jazzer derives from @FuzzTest (maxDuration).
        LauncherDiscoveryRequest request = LauncherDiscoveryRequestBuilder.request()
                .selectors(selectMethod(cls, method.get()))
                .configurationParameter("jazzer.internal.arg.0", "linlens-fuzz")
                .configurationParameter("jazzer.internal.arg.1", "-max_total_time=" + Integer.parseInt(args[1]))
                .configurationParameter("jazzer.internal.arg.2", "-rss_limit_mb=" + Integer.parseInt(args[2]))
                .configurationParameter("jazzer.internal.arg.3", "-timeout=60")
                .configurationParameter("jazzer.internal.arg.4", "-print_final_stats=1")
                .configurationParameter("jazzer.keep_going", args.length == 4 ? Integer.toString(Integer.parseInt(args[3])) : "1")
                .build();
        Launcher launcher = LauncherFactory.create();
        SummaryGeneratingListener summary = new SummaryGeneratingListener();
        launcher.execute(request, summary);
        var s = summary.getSummary();
        s.printFailuresTo(new PrintWriter(System.err, true), 40);
        if (s.getTestsFoundCount() == 0) {
            System.err.println("linlens-fuzz: no fuzz test " + target);
            System.exit(2);
        }
        System.exit(s.getTotalFailureCount() == 0 ? 0 : 1);
    }
}
