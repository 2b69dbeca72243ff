package linlens.spark;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static linlens.spark.SparkTesting.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * A real Spark standalone cluster on the loopback address: a Master and a Worker, each a child JVM
 * started as Spark's own scripts would start them (random ports, REST server off, a SPARK_HOME
 * whose jars/ are Spark's), and the scan submitted to it as 'linlens scan --engine spark --master
 * spark://...' does, the linlens jars shipped to the executors (spark.jars). Its rows must be the
 * local engine's, the concept group's too: the Worker's concept folder (LINLENS_CONCEPTS, which its
 * executors inherit) is empty, so the driver's made concept can only have come with the tasks.
 * The cluster is stopped at the end, its executors with it; nothing is left running.
 */
@Tag("spark")
class StandaloneClusterTest {
    private static Path home, workerConcepts;
    private static Process master, worker;
    private static String url;
    private static final List<ProcessHandle> started = new ArrayList<>();

    @BeforeAll
    static void startCluster() throws Exception {
        home = Files.createTempDirectory("linlens-spark-cluster");
        workerConcepts = Files.createDirectories(home.resolve("cluster-concepts"));
        List<String> sparkJars = classpath("classpath-spark.txt");
        // the Worker builds each executor's class path from $SPARK_HOME/jars: Spark's jars, as a cluster has them
        Path jars = Files.createDirectories(home.resolve("spark-home/jars"));
        for (String j : sparkJars) Files.createSymbolicLink(jars.resolve(Path.of(j).getFileName()), Path.of(j));
        master = start("master", "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", "0", "--webui-port", "0");
        Matcher m = waitFor(home.resolve("master.log"), Pattern.compile("Starting Spark master at (spark://127\\.0\\.0\\.1:\\d+)"), master);
        url = m.group(1);
        worker = start("worker", "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1", "--port", "0", "--webui-port", "0",
                "--cores", "2", "--memory", "2g", "--work-dir", Files.createDirectories(home.resolve("work")).toString(), url);
        waitFor(home.resolve("worker.log"), Pattern.compile("Successfully registered with master"), worker);
    }

    private static Process start(String name, String mainClass, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(javaBin(), "-Xmx512m", "-Dspark.master.rest.enabled=false",
                "-cp", String.join(":", classpath("classpath-spark.txt")), mainClass));
        cmd.addAll(Arrays.asList(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(home.resolve(name + ".log").toFile());
        pb.environment().put("SPARK_HOME", home.resolve("spark-home").toString());
        pb.environment().put("SPARK_SCALA_VERSION", "2.13");
        pb.environment().put("SPARK_LOCAL_IP", "127.0.0.1");
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        // not the test JVM's concept folder (the driver's): an empty one of the cluster's own
        pb.environment().put("LINLENS_CONCEPTS", workerConcepts.toString());
        Process p = pb.start();
        started.add(p.toHandle());
        return p;
    }

    private static String javaBin() { return Path.of(System.getProperty("java.home"), "bin", "java").toString(); }

    /** Waits (at most 3 minutes) for a line of a child's log. */
    private static Matcher waitFor(Path log, Pattern line, Process p) throws Exception {
        long end = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
        while (System.nanoTime() < end) {
            if (Files.exists(log)) {
                Matcher m = line.matcher(Files.readString(log));
                if (m.find()) return m;
            }
            if (!p.isAlive()) fail(log.getFileName() + ": exited with " + p.exitValue() + ":\n" + Files.readString(log));
            Thread.sleep(200);
        }
        return fail("no '" + line + "' in " + log + " after 3 minutes:\n" + Files.readString(log));
    }

    /** Jars of a class path Maven wrote into target/ (pom.xml, 'spark-classpath' and 'test-classpath'). */
    private static List<String> classpath(String file) throws IOException {
        return List.of(Files.readString(Path.of("target", file)).strip().split(":"));
    }

    @AfterAll
    static void stopCluster() throws Exception {
        // the Worker's descendants (its executors) are stopped with it; said below if one is not
        List<ProcessHandle> all = new ArrayList<>();
        for (ProcessHandle h : started) {
            all.add(h);
            h.descendants().forEach(all::add);
        }
        for (Process p : new Process[]{worker, master}) {
            if (p == null) continue;
            p.destroy();   // SIGTERM: Spark's shutdown hooks stop executors and close ports (exit 143)
            if (!p.waitFor(60, TimeUnit.SECONDS)) p.destroyForcibly().waitFor();
        }
        List<ProcessHandle> alive = new ArrayList<>();
        for (ProcessHandle h : all) {
            if (h.isAlive()) h.onExit().get(30, TimeUnit.SECONDS);
            if (h.isAlive()) {
                alive.add(h);
                h.destroyForcibly();
            }
        }
        try (Stream<Path> s = Files.walk(home)) {
            for (Path p : s.sorted((a, b) -> b.compareTo(a)).toList()) Files.deleteIfExists(p);
        }
        assertEquals(List.of(), alive, "processes left running by the cluster");
    }

    @Test
    void clusterGivesTheLocalEnginesRows() throws Exception {
        Path dir = Files.createDirectories(home.resolve("scan")), data = dataset(dir), out = dir.resolve("spark");
        makeConcept();
        var expected = localRows(dir, data);

        // what bin/linlens ships: the module's jar and the core's jars that Spark lacks
        Set<String> spark = new LinkedHashSet<>(classpath("classpath-spark.txt"));
        List<String> ship = new ArrayList<>(List.of(moduleJar(dir).toString()));
        for (String j : classpath("classpath-test.txt")) if (!spark.contains(j)) ship.add(j);
        Map<String, String> properties = Map.of(SparkScanEngine.JARS_PROPERTY, String.join(",", ship),
                "spark.driver.host", "127.0.0.1", "spark.driver.bindAddress", "127.0.0.1", "spark.executor.memory", "1g");
        properties.forEach(System::setProperty);
        Run r;
        try {
            r = cli(concat(new String[]{"scan", "--engine", "spark", "--master", url, "--model", MODEL.toString(),
                    "--dataset", data.toString(), "--out", out.toString(), "--threads", "1", "--quiet"}, ANALYSES));
        } finally {
            properties.keySet().forEach(System::clearProperty);
        }
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("scanned 12 prompts (3 with an error)"), r.out());
        var actual = rows(out);
        assertSameRows(expected, actual);
        assertNotNull(actual.get(0L).get("concept_logit DOUBLE"));
        try (Stream<Path> files = Files.list(workerConcepts)) {
            assertEquals(List.of(), files.toList(), "the worker's concept folder stays empty");
        }
        // the rows were computed on the cluster's executor, not in this JVM
        assertTrue(Files.readString(home.resolve("worker.log")).contains("Launch command"), "the worker launched an executor");
    }

    /** This module's classes as a jar (the tests run before 'package' makes target/linlens-spark.jar). */
    private static Path moduleJar(Path dir) throws IOException {
        Path classes = Path.of("target", "classes"), jar = dir.resolve("linlens-spark-classes.jar");
        try (OutputStream o = Files.newOutputStream(jar); JarOutputStream j = new JarOutputStream(o); Stream<Path> files = Files.walk(classes)) {
            for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
                j.putNextEntry(new JarEntry(classes.relativize(f).toString().replace('\\', '/')));
                Files.copy(f, j);
                j.closeEntry();
            }
        }
        return jar;
    }
}
