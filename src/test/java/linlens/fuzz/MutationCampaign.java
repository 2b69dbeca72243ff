package linlens.fuzz;

import linlens.cli.Main;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.RandomAccessFile;
import java.io.StringWriter;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The CLI-level mutation campaign: mutants of every seed model in the repository (each tiny GGUF
 * file and Hugging Face folder, the safetensors fixtures inside a tiny folder, and the demo model
 * when cached) run through {@code linlens decompose}, {@code predict} and {@code tokenize}
 * in-process ({@link Main#execute}) in a worker JVM. Each case ends as
 * <ul>
 * <li>ran: exit 0;</li>
 * <li>one-line error: exit 2 and exactly one stderr line, starting with "linlens: ";</li>
 * <li>a finding: anything else (exit 1, several stderr lines, a trace, a timeout, the worker JVM
 *     dying, e.g. when native code aborts). The supervisor restarts a dead or hung worker.</li>
 * </ul>
 * Prints cases and outcomes per seed and the findings grouped by exception and place (or first
 * stderr line), and saves up to three mutants per group with their command lines under
 * {@code OUT/findings/}. Cases are reproducible from {@code --seed}.
 *
 * <p>Usage (bin/fuzz --campaign N): {@code MutationCampaign --cases N [--seed X] [--time-limit S]
 * [--out DIR] [--classpath CP]}; {@code --rebuild DIR} rebuilds a saved demo-model mutant from its
 * patches. Exit code 1 when there were findings.
 */
public final class MutationCampaign {
    static final String RESULT = "@@linlens-campaign-result";
    static final List<String> PROMPTS = List.of("The bridge out of Marin is the", "Hello world", "a");
    static final int CASES_PER_WORKER = 400;

    // ---- seeds --------------------------------------------------------------------------------

    /** A seed model: one GGUF file, or a folder of files (a Hugging Face model folder). */
    sealed interface Seed permits GgufSeed, FolderSeed, DemoSeed {
        String name();
    }

    record GgufSeed(String name, byte[] bytes) implements Seed {}

    record FolderSeed(String name, Map<String, byte[]> files) implements Seed {}

    /** The cached demo model: too big to copy per case, so one working copy is patched in place and restored. */
    record DemoSeed(String name, Path original, byte[] head, long size) implements Seed {}

    static List<Seed> seeds() throws IOException {
        List<Seed> seeds = new ArrayList<>();
        for (String f : Fixtures.GGUF_FAMILIES) seeds.add(new GgufSeed("gguf/" + f, Files.readAllBytes(Fixtures.gguf(f))));
        for (String f : Fixtures.HF_FAMILIES) seeds.add(new FolderSeed("hf/" + f, folder(Fixtures.hf(f))));
        // The safetensors fixtures hold no model: they stand in for the weights of the tiny Llama
        // folder, so the CLI reads them (and their mutants) before it finds tensors missing.
        Map<String, byte[]> llama = folder(Fixtures.hf("llama3"));
        llama.remove("model.safetensors");
        Map<String, byte[]> single = new TreeMap<>(llama), sharded = new TreeMap<>(llama);
        single.putAll(folder(Fixtures.SAFETENSORS.resolve("single")));
        sharded.putAll(folder(Fixtures.SAFETENSORS.resolve("sharded")));
        seeds.add(new FolderSeed("safetensors/single", single));
        seeds.add(new FolderSeed("safetensors/sharded", sharded));
        Path demo = linlens.model.ModelCache.dir().resolve("gemma-3-270m.gguf");
        if (Files.isRegularFile(demo)) {
            byte[] head;
            try (var in = Files.newInputStream(demo)) {
                head = in.readNBytes(32 << 20);
            }
            seeds.add(new DemoSeed("demo/gemma-3-270m", demo, head, Files.size(demo)));
        }
        return seeds;
    }

    private static Map<String, byte[]> folder(Path dir) throws IOException {
        Map<String, byte[]> files = new TreeMap<>();
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.filter(Files::isRegularFile).toList()) files.put(p.getFileName().toString(), Files.readAllBytes(p));
        }
        return files;
    }

    // ---- cases --------------------------------------------------------------------------------

    /** One mutant and the command run on it. {@code patches}: the demo model's in-place edits. */
    record Case(int id, Seed seed, String mutated, String what, List<String> args, Path model,
                Map<String, byte[]> files, List<Mutators.Patch> patches, int timeoutSeconds) {}

    /** Writes case {@code id}'s mutant under {@code work} and returns the case (deterministic in seed and id). */
    static Case make(int id, long campaignSeed, Seed seed, Path work) throws IOException {
        Random r = new Random(mix(campaignSeed, id));
        String prompt = PROMPTS.get(r.nextInt(PROMPTS.size()));
        String command;
        int pick = r.nextInt(100);
        // the demo model's decomposition takes seconds to minutes on a busy machine: its mutants
        // get the load + forward pass (predict) and the tokenizer only
        if (seed instanceof DemoSeed) command = pick < 20 ? "predict" : "tokenize";
        else command = pick < 50 ? "decompose" : pick < 80 ? "predict" : "tokenize";
        Path model;
        String mutated, what;
        Map<String, byte[]> files = new TreeMap<>();
        List<Mutators.Patch> patches = List.of();
        switch (seed) {
            case GgufSeed g -> {
                Mutators.Mutant m = Mutators.gguf(g.bytes(), r);
                model = work.resolve("model.gguf");
                Files.write(model, m.bytes());
                files.put("model.gguf", m.bytes());
                mutated = "model.gguf";
                what = m.what();
            }
            case FolderSeed f -> {
                model = work.resolve("model");
                clear(model);
                Files.createDirectories(model);
                files.putAll(f.files());
                List<String> names = new ArrayList<>(files.keySet());
                mutated = pickFile(names, r);
                if (r.nextInt(100) < 4) {
                    files.remove(mutated);
                    what = "deleted";
                } else {
                    Mutators.Mutant m = mutated.endsWith(".json") ? Mutators.json(files.get(mutated), r)
                            : Mutators.safetensors(files.get(mutated), r);
                    files.put(mutated, m.bytes());
                    what = m.what();
                }
                for (var e : files.entrySet()) Files.write(model.resolve(e.getKey()), e.getValue());
            }
            case DemoSeed d -> {
                StringBuilder sb = new StringBuilder();
                patches = Mutators.ggufPatches(d.head(), d.size(), r, sb);
                model = work.resolve("demo.gguf");
                patch(model, d, patches);
                mutated = "gemma-3-270m.gguf";
                what = sb.toString();
            }
        }
        List<String> args = new ArrayList<>(List.of(command, "--model", model.toString(), "--prompt", prompt, "--quiet"));
        if (command.equals("decompose")) args.addAll(List.of("--components", "2", "--top", "3"));
        return new Case(id, seed, mutated, what, args, model, files, patches, seed instanceof DemoSeed ? 120 : 30);
    }

    /**
     * A well-spread random seed per case: java.util.Random's first outputs for nearby seeds are
     * close in their high bits (offsets, power-of-two bounds), so neighbouring cases would mutate
     * nearly the same places. SplitMix64's finalizer decorrelates them.
     */
    static long mix(long campaignSeed, int id) {
        long z = campaignSeed * 0x9E3779B97F4A7C15L + id;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** config.json and the weights most often; the tokenizer files, index and the rest less. */
    private static String pickFile(List<String> names, Random r) {
        int w = r.nextInt(100);
        String want = w < 35 ? "config.json" : w < 60 ? ".safetensors" : w < 78 ? "tokenizer.json"
                : w < 86 ? "tokenizer_config.json" : w < 94 ? "index.json" : "";
        // "config.json" means that file only, not tokenizer_config.json or generation_config.json
        List<String> match = names.stream().filter(n -> !want.isEmpty()
                && (want.equals("config.json") ? n.equals(want) : n.endsWith(want))).toList();
        return match.isEmpty() ? names.get(r.nextInt(names.size())) : match.get(r.nextInt(match.size()));
    }

    private static void clear(Path dir) throws IOException {
        if (!Files.exists(dir)) return;
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
        }
    }

    /** Applies patches to the demo model's working copy (made on first use). */
    static void patch(Path copy, DemoSeed d, List<Mutators.Patch> patches) throws IOException {
        if (!Files.exists(copy) || Files.size(copy) != d.size()) {
            Files.copy(d.original(), copy, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        try (RandomAccessFile f = new RandomAccessFile(copy.toFile(), "rw")) {
            for (Mutators.Patch p : patches) {
                if (p.truncateTo() >= 0) f.setLength(Math.min(f.length(), p.truncateTo()));
                else if (p.offset() < f.length()) {
                    f.seek(p.offset());
                    f.write(p.bytes(), 0, (int) Math.min(p.bytes().length, f.length() - p.offset()));
                }
            }
        }
    }

    /** Undoes {@link #patch}: the original bytes at each patched range, and the cut-off tail. */
    static void restore(Path copy, DemoSeed d, List<Mutators.Patch> patches) throws IOException {
        try (FileChannel src = FileChannel.open(d.original(), StandardOpenOption.READ);
             FileChannel dst = FileChannel.open(copy, StandardOpenOption.WRITE)) {
            long have = dst.size();
            if (have < d.size()) src.transferTo(have, d.size() - have, dst.position(have));
            for (Mutators.Patch p : patches) {
                if (p.truncateTo() >= 0) continue;
                var buf = java.nio.ByteBuffer.allocate(p.bytes().length);
                src.read(buf, p.offset());
                buf.flip();
                dst.write(buf, p.offset());
            }
        }
    }

    // ---- worker -------------------------------------------------------------------------------

    /** Reads one tab-separated command line per line, runs it, answers on the real stdout. */
    static void worker() throws IOException {
        PrintStream protocol = new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8);
        System.setOut(System.err); // anything the code prints stays off the protocol channel
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String line; (line = in.readLine()) != null; ) {
            String[] args = line.split("\t", -1);
            StringWriter out = new StringWriter(), err = new StringWriter();
            long t0 = System.nanoTime();
            int rc;
            try {
                rc = Main.execute(args, new PrintWriter(out, true), new PrintWriter(err, true));
            } catch (Throwable t) {
                rc = -1;
                PrintWriter pw = new PrintWriter(err, true);
                pw.println("[uncaught by Main.execute] " + t);
                t.printStackTrace(pw);
            }
            protocol.println(RESULT + "\t" + rc + "\t" + (System.nanoTime() - t0) / 1_000_000 + "\t" + escape(err.toString()));
        }
    }

    static String escape(String s) {
        return s.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t");
    }

    static String unescape(String s) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c != '\\' || i + 1 == s.length()) { sb.append(c); continue; }
            char n = s.charAt(++i);
            sb.append(switch (n) { case 'n' -> '\n'; case 'r' -> '\r'; case 't' -> '\t'; default -> n; });
        }
        return sb.toString();
    }

    /** The supervisor's handle on one worker JVM. */
    static final class Worker implements AutoCloseable {
        final Process process;
        final BufferedWriter to;
        final BlockingQueue<String> results = new LinkedBlockingQueue<>();
        final ArrayDeque<String> stderrTail = new ArrayDeque<>();
        int cases;

        Worker(String classpath, Path log) throws IOException {
            List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "--enable-native-access=ALL-UNNAMED", "-XX:+UseParallelGC", "-Xmx3g",
                    // repeated exceptions keep their stack traces, which name the place a finding is grouped by
                    "-XX:-OmitStackTraceInFastThrow", "-cp", classpath,
                    MutationCampaign.class.getName(), "--worker");
            process = new ProcessBuilder(cmd).redirectOutput(ProcessBuilder.Redirect.PIPE).start();
            to = new BufferedWriter(new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8));
            Thread.ofPlatform().daemon().start(() -> {
                try (var r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                    for (String l; (l = r.readLine()) != null; ) if (l.startsWith(RESULT)) results.add(l);
                } catch (IOException ignored) {
                    // the worker died; the EOF marker below tells the supervisor
                }
                results.add("EOF");
            });
            Thread.ofPlatform().daemon().start(() -> {
                try (var r = new BufferedReader(new InputStreamReader(process.getErrorStream(), StandardCharsets.UTF_8));
                     var w = Files.newBufferedWriter(log, StandardOpenOption.CREATE, StandardOpenOption.APPEND)) {
                    for (String l; (l = r.readLine()) != null; ) {
                        w.write(l);
                        w.newLine();
                        synchronized (stderrTail) {
                            stderrTail.add(l);
                            if (stderrTail.size() > 60) stderrTail.removeFirst();
                        }
                    }
                } catch (IOException ignored) {
                    // the worker is gone
                }
            });
        }

        List<String> tail() {
            synchronized (stderrTail) {
                List<String> t = new ArrayList<>(stderrTail);
                stderrTail.clear();
                return t;
            }
        }

        @Override
        public void close() {
            process.destroyForcibly();
            try {
                process.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** What one case came to. {@code kind}: ran, one-line, finding; {@code group}: the finding's key. */
    record Outcome(String kind, int exit, long millis, String stderr, String group) {}

    static Outcome classify(int rc, long millis, String stderr, Path work) {
        String err = stderr.replace(work.toAbsolutePath().toString(), "<work>").replace(work.toString(), "<work>");
        List<String> lines = err.strip().lines().toList();
        if (rc == 0) return new Outcome("ran", rc, millis, err, null);
        if (rc == 2 && lines.size() == 1 && lines.get(0).startsWith("linlens: "))
            return new Outcome("one-line", rc, millis, err, null);
        String first = lines.isEmpty() ? "(no stderr)" : lines.get(0);
        String group = (rc == -1 ? "uncaught" : "exit " + rc) + (lines.size() > 1 ? ", " + lines.size() + " stderr lines" : "")
                + ": " + normalize(first);
        return new Outcome("finding", rc, millis, err, group);
    }

    /** Strips what varies between mutants of one bug (paths, numbers) so they group together. */
    static String normalize(String line) {
        String s = line.replaceAll("<work>[^ :,)']*", "<model>").replaceAll("-?\\d+(\\.\\d+)?([eE][-+]?\\d+)?", "#");
        return s.length() > 150 ? s.substring(0, 147) + "..." : s;
    }

    /** For exit-1 findings: the exception class and the first linlens frame of the --verbose trace. */
    static String where(String verboseStderr) {
        String exception = null, frame = null;
        for (String l : verboseStderr.lines().toList()) {
            String t = l.strip();
            if (exception == null && t.matches("^(Caused by: )?[a-zA-Z_$][\\w$.]*(Exception|Error)(: .*)?$")) exception = t.replaceFirst(":.*", "");
            if (frame == null && t.startsWith("at linlens.") && !t.startsWith("at linlens.cli.")) frame = t.substring(3).replaceAll("\\(.*", "");
        }
        if (exception == null) return null;
        return exception + (frame == null ? "" : " at " + frame);
    }

    // ---- supervisor ---------------------------------------------------------------------------

    public static void main(String[] argv) throws Exception {
        Map<String, String> o = new LinkedHashMap<>();
        for (int i = 0; i < argv.length; i++) {
            String a = argv[i];
            if (a.equals("--worker")) { worker(); return; }
            if (!a.startsWith("--") || i + 1 == argv.length) usage("bad argument " + a);
            o.put(a.substring(2), argv[++i]);
        }
        if (o.containsKey("rebuild")) { rebuild(Path.of(o.get("rebuild"))); return; }
        int cases = Integer.parseInt(o.getOrDefault("cases", "1000"));
        long seed = Long.parseLong(o.getOrDefault("seed", "1"));
        long limit = Long.parseLong(o.getOrDefault("time-limit", "0"));
        Path out = Path.of(o.getOrDefault("out", "target/fuzz-campaign"));
        String cp = o.getOrDefault("classpath", System.getProperty("java.class.path"));
        System.exit(run(cases, seed, limit, out, cp));
    }

    private static void usage(String why) {
        System.err.println("MutationCampaign: " + why
                + "\nusage: MutationCampaign --cases N [--seed X] [--time-limit SECONDS] [--out DIR] [--classpath CP] | --rebuild FINDING_DIR");
        System.exit(2);
    }

    static int run(int nCases, long seed, long limitSeconds, Path out, String cp) throws Exception {
        clear(out.resolve("findings"));
        Path work = out.resolve("work");
        Files.createDirectories(work);
        Files.createDirectories(out.resolve("findings"));
        List<Seed> seeds = seeds();
        Map<String, int[]> perSeed = new LinkedHashMap<>(); // ran, one-line, finding, cases
        for (Seed s : seeds) perSeed.put(s.name(), new int[4]);
        Map<String, List<String>> groups = new LinkedHashMap<>();
        Map<String, Integer> groupDirs = new LinkedHashMap<>();
        long t0 = System.nanoTime();
        Path log = out.resolve("worker-stderr.log");
        Files.deleteIfExists(log);
        Worker w = new Worker(cp, log);
        int done = 0;
        try (PrintWriter caseLog = new PrintWriter(Files.newBufferedWriter(out.resolve("cases.tsv")), true)) {
            caseLog.println("case\tseed\tfile\tcommand\toutcome\texit\tms\tmutation\tstderr");
            for (int id = 0; id < nCases; id++) {
                if (limitSeconds > 0 && (System.nanoTime() - t0) / 1e9 > limitSeconds) {
                    System.err.println("campaign: time limit reached after " + id + " cases");
                    break;
                }
                Seed s = seeds.get(id % seeds.size());
                Case c = make(id, seed, s, work);
                if (w.cases++ >= CASES_PER_WORKER) { // loaded models keep their mappings: start afresh now and then
                    w.close();
                    w = new Worker(cp, log);
                    w.cases = 1;
                }
                w.tail();
                w.to.write(String.join("\t", c.args()));
                w.to.newLine();
                w.to.flush();
                String res = w.results.poll(c.timeoutSeconds(), TimeUnit.SECONDS);
                Outcome oc;
                if (res == null) {
                    oc = new Outcome("finding", -9, c.timeoutSeconds() * 1000L, "", "timeout: no answer in " + c.timeoutSeconds() + " s");
                    w.close();
                    w = new Worker(cp, log);
                } else if (res.equals("EOF")) {
                    w.process.waitFor(10, TimeUnit.SECONDS);
                    int code = w.process.isAlive() ? -1 : w.process.exitValue();
                    Thread.sleep(200); // let the stderr reader catch the last lines
                    List<String> tail = w.tail();
                    String cause = tail.stream().filter(l -> l.contains("panicked") || l.contains("fatal") || l.contains("SIG")
                            || l.contains("Error")).findFirst().orElse(tail.isEmpty() ? "" : tail.get(tail.size() - 1));
                    oc = new Outcome("finding", code, 0, String.join("\n", tail),
                            "worker JVM died (exit " + code + "): " + normalize(cause.replace(work.toString(), "<work>")));
                    w.close();
                    w = new Worker(cp, log);
                } else {
                    String[] f = res.split("\t", 4);
                    oc = classify(Integer.parseInt(f[1]), Long.parseLong(f[2]), unescape(f[3]), work);
                    if (oc.kind().equals("finding") && (oc.exit() == 1 || oc.exit() == -1)) {
                        // the --verbose trace names the exception and where it was thrown
                        List<String> verbose = new ArrayList<>(c.args());
                        verbose.add("--verbose");
                        w.to.write(String.join("\t", verbose));
                        w.to.newLine();
                        w.to.flush();
                        String vr = w.results.poll(c.timeoutSeconds(), TimeUnit.SECONDS);
                        if (vr != null && !vr.equals("EOF")) {
                            String trace = unescape(vr.split("\t", 4)[3]);
                            String place = oc.exit() == -1 ? where(oc.stderr()) : where(trace);
                            oc = new Outcome(oc.kind(), oc.exit(), oc.millis(), oc.stderr() + "\n--- with --verbose ---\n" + trace,
                                    place == null ? oc.group() : "exit " + oc.exit() + ": " + place);
                        }
                    }
                }
                int[] counts = perSeed.get(s.name());
                counts[3]++;
                counts[switch (oc.kind()) { case "ran" -> 0; case "one-line" -> 1; default -> 2; }]++;
                String firstErr = oc.stderr().strip().lines().findFirst().orElse("");
                caseLog.println(printable(c.id() + "\t" + s.name() + "\t" + c.mutated() + "\t" + c.args().get(0) + "\t" + oc.kind() + "\t"
                        + oc.exit() + "\t" + oc.millis() + "\t" + c.what() + "\t" + firstErr.replace('\t', ' '), 400));
                if (oc.group() != null) {
                    List<String> members = groups.computeIfAbsent(oc.group(), k -> new ArrayList<>());
                    members.add(s.name() + "#" + c.id());
                    groupDirs.putIfAbsent(oc.group(), groupDirs.size() + 1);
                    if (members.size() <= 3) save(out, groupDirs.get(oc.group()), c, oc);
                    System.err.println(printable("campaign: case " + c.id() + " (" + s.name() + ", " + c.mutated() + ", "
                            + c.args().get(0) + "): FINDING " + oc.group(), 400));
                }
                if (s instanceof DemoSeed d) restore(c.model(), d, c.patches());
                done++;
                if (done % 100 == 0)
                    System.err.printf("campaign: %d cases, %d finding groups, %.0f s%n", done, groups.size(), (System.nanoTime() - t0) / 1e9);
            }
        } finally {
            w.close();
            Files.deleteIfExists(work.resolve("demo.gguf")); // the demo model's 250 MB working copy
        }
        String summary = summary(done, (System.nanoTime() - t0) / 1e9, seed, perSeed, groups, groupDirs);
        summary = printable(summary, Integer.MAX_VALUE);
        System.out.print(summary);
        Files.writeString(out.resolve("summary.txt"), summary);
        return groups.isEmpty() ? 0 : 1;
    }

    /**
     * Text safe to write as UTF-8 and one line per record where asked: lone surrogates (which
     * mutants contain on purpose) become '?', and at most {@code max} characters are kept.
     */
    static String printable(String s, int max) {
        String t = new String(s.getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8);
        if (max < 100_000) t = t.replace('\n', ' ').replace('\r', ' ');
        return t.length() > max ? t.substring(0, max) + "..." : t;
    }

    /** Saves a finding's mutant, command line and stderr under OUT/findings/NNN/case-ID/. */
    static void save(Path out, int group, Case c, Outcome oc) throws IOException {
        Path dir = out.resolve("findings").resolve(String.format("%03d", group)).resolve("case-" + c.id());
        Files.createDirectories(dir);
        Path model;
        if (c.seed() instanceof DemoSeed d) {
            StringBuilder p = new StringBuilder("# patches to " + d.original() + " (apply: bin/fuzz --rebuild " + dir + ")\n");
            for (Mutators.Patch x : c.patches())
                p.append(x.truncateTo() >= 0 ? "truncate " + x.truncateTo() : "write " + x.offset() + " " + HexFormat.of().formatHex(x.bytes())).append('\n');
            Files.writeString(dir.resolve("patches.txt"), p);
            model = dir.resolve("model.gguf");
        } else if (c.seed() instanceof GgufSeed) {
            model = dir.resolve("model.gguf");
            Files.write(model, c.files().get("model.gguf"));
        } else {
            model = dir.resolve("model");
            Files.createDirectories(model);
            for (var e : c.files().entrySet()) Files.write(model.resolve(e.getKey()), e.getValue());
        }
        List<String> args = new ArrayList<>(c.args());
        args.set(2, model.toString());
        StringBuilder sb = new StringBuilder();
        sb.append("finding: ").append(oc.group()).append('\n');
        sb.append("seed: ").append(c.seed().name()).append("\nmutated: ").append(c.mutated()).append("\nmutation: ").append(c.what()).append('\n');
        sb.append("command: bin/linlens");
        for (String a : args) sb.append(' ').append(a.matches("[\\w./=:-]+") ? a : "'" + a.replace("'", "'\\''") + "'");
        sb.append("\nexit: ").append(oc.exit()).append("\n--- stderr ---\n").append(oc.stderr()).append('\n');
        Files.writeString(dir.resolve("case.txt"), printable(sb.toString(), 200_000));
    }

    /** Rebuilds a saved demo-model mutant (FINDING_DIR/model.gguf) from FINDING_DIR/patches.txt. */
    static void rebuild(Path dir) throws IOException {
        List<String> lines = Files.readAllLines(dir.resolve("patches.txt"));
        Path original = Path.of(lines.get(0).replaceFirst("^# patches to (.*) \\(apply.*$", "$1"));
        List<Mutators.Patch> ps = new ArrayList<>();
        for (String l : lines.subList(1, lines.size())) {
            String[] f = l.split(" ");
            ps.add(f[0].equals("truncate") ? Mutators.Patch.truncate(Long.parseLong(f[1]))
                    : Mutators.Patch.write(Long.parseLong(f[1]), HexFormat.of().parseHex(f[2])));
        }
        DemoSeed d = new DemoSeed("demo", original, new byte[0], Files.size(original));
        patch(dir.resolve("model.gguf"), d, ps);
        System.out.println("wrote " + dir.resolve("model.gguf"));
    }

    static String summary(int done, double seconds, long seed, Map<String, int[]> perSeed,
                          Map<String, List<String>> groups, Map<String, Integer> dirs) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format("Mutation campaign: %d cases in %.0f s (seed %d)%n%n", done, seconds, seed));
        sb.append(String.format("%-22s %6s %6s %10s %9s%n", "seed", "cases", "ran", "one-line", "findings"));
        int[] tot = new int[4];
        for (var e : perSeed.entrySet()) {
            int[] c = e.getValue();
            for (int i = 0; i < 4; i++) tot[i] += c[i];
            sb.append(String.format("%-22s %6d %6d %10d %9d%n", e.getKey(), c[3], c[0], c[1], c[2]));
        }
        sb.append(String.format("%-22s %6d %6d %10d %9d%n%n", "total", tot[3], tot[0], tot[1], tot[2]));
        if (groups.isEmpty()) {
            sb.append("No findings: every case ran or ended with one 'linlens: ' line and exit 2.\n");
            return sb.toString();
        }
        sb.append("Findings by group (saved under findings/NNN/):\n");
        groups.entrySet().stream().sorted((a, b) -> b.getValue().size() - a.getValue().size()).forEach(e -> {
            List<String> m = e.getValue();
            sb.append(String.format("  %03d  %5d  %s%n             e.g. %s%n", dirs.get(e.getKey()), m.size(), e.getKey(),
                    String.join(", ", m.subList(0, Math.min(4, m.size())))));
        });
        return sb.toString();
    }
}
