package linlens.testing;

import org.junit.platform.launcher.LauncherSession;
import org.junit.platform.launcher.LauncherSessionListener;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Says in one line, when the test JVM's launcher session ends, that the real-model tests were
 * left out and how to run them, so that the fast default {@code mvn test} is never mistaken for
 * the whole suite. pom.xml passes the excluded tags as {@value #PROPERTY}; launchers that don't
 * (bin/fuzz) print nothing. Registered in META-INF/services.
 */
public final class ExcludedTestsNotice implements LauncherSessionListener {
    static final String PROPERTY = "linlens.excludedTags";

    @Override
    public void launcherSessionClosed(LauncherSession session) {
        String excluded = System.getProperty(PROPERTY, "");
        if (Arrays.stream(excluded.split(",")).map(String::strip).noneMatch(RealModel.TAG::equals)) return;
        // Straight to the process's stderr: surefire files System.out and System.err under
        // target/surefire-reports (redirectTestOutputToFile) but copies the fork's own stderr to the console.
        PrintStream console = new PrintStream(new FileOutputStream(FileDescriptor.err), true, StandardCharsets.UTF_8);
        console.println("Tests tagged " + RealModel.TAG + " (they need the demo model) were excluded:"
                + " run everything with 'mvn test -Pall' (bin/test and CI do), one class with -Dtest=NAME.");
    }
}
