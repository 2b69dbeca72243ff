package linlens.tokenizer;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import linlens.format.CacheDirectory;
import linlens.format.ModelFormatException;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The second line of defence for the tokenizers native library: before a tokenizer.json is loaded
 * into this JVM, a child JVM (same Java, same class path) loads it and encodes and decodes a varied
 * text set. A Rust panic there aborts only the child, and the file is refused with one line. DJL
 * 0.36 has no setting that turns panics into exceptions: a panic inside its JNI functions aborts
 * the process (exit 134, "failed to initiate panic").
 *
 * <p>Cost: one JVM start and tokenizer load, about 0.3 s for a small tokenizer and 1–3 s for a
 * 250k-token one, once per distinct file content: passes are remembered by the sha256 of the JSON
 * given to the library, in memory and as lines of {@code <model cache>/.tokenizer-probes}. Failures
 * are not remembered (a fixed file is probed again). Where no child JVM can be started, the probe
 * is skipped and the Java checks stand alone.
 */
public final class TokenizerProbe {
    /** Changes whenever the text set or the library changes, so older passes do not count. */
    static final String VERSION = "1/djl-0.36.0";
    static final long TIMEOUT_S = 120;
    private static final String OK = "PROBE-OK", ERROR = "PROBE-ERROR: ";
    private static final Set<String> PASSED = ConcurrentHashMap.newKeySet();
    /** Child JVMs started so far (tests check that a remembered pass starts none). */
    static final java.util.concurrent.atomic.AtomicInteger LAUNCHES = new java.util.concurrent.atomic.AtomicInteger();

    private TokenizerProbe() {}

    /** Texts chosen to reach the normalizer, pre-tokenizer regexes, the model, special tokens and the decoder. */
    static List<String> texts(Iterable<String> addedTokens) {
        List<String> t = new ArrayList<>(List.of("", " ", "Hello world", "The quick brown fox jumps over the lazy dog.",
                "naïve café – “quotes” 日本語のテキスト 😀🎉 👩‍👩‍👧", "Привет, мир! مرحبا שלום",
                "\u0000\u0001\u0007\b\t\n\u000b\f\r\u001b\u007f", "\r\n\r\n  \t  \n", "  leading and trailing  ",
                "def f(x):\n    return x * 2\n", "1234567890 3.14159 1e-9 0x1F", "!!!???...,,,;;;:::\"'`~@#$%^&*()[]{}<>|\\/",
                "e" + "\u0301".repeat(200), "\u202eabc\u202c \u200f\u200e\u2066x\u2069 \u200b\u200d\ufeff",
                "<s></s><unk><bos><eos><pad>[CLS][SEP][UNK]<|endoftext|><|im_start|><|begin_of_text|><start_of_turn>",
                "a".repeat(300), "ab".repeat(300), " ".repeat(3000), "\n".repeat(500), "a ".repeat(500),
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", "1".repeat(400), "x" + "\u0000".repeat(50),
                "A\u030A\u212B\uFB01\u2460\uFF21 \u00BD \u2126", "\uD835\uDD18\uD835\uDD2B \uD80C\uDC00 \uDB40\uDC01"));
        StringBuilder all = new StringBuilder();
        for (String a : addedTokens) {
            t.add(a);
            t.add("x" + a + " y");
            all.append(a);
        }
        t.add(all.toString());
        return t;
    }

    /** Refuses {@code json} (the library's copy of a checked tokenizer.json) if loading or using it kills a child JVM. */
    static void check(TokenizerJsonValidator.Result checked, String name) {
        String json = checked.libraryJson();
        String key = sha256(VERSION + "\n" + json);
        if (PASSED.contains(key)) return;
        if (passedBefore(key)) {
            PASSED.add(key);
            return;
        }
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        String cp = System.getProperty("java.class.path");
        if (!Files.isExecutable(java) || cp == null || cp.isBlank()) return;
        List<String> cmd = List.of(java.toString(), "-Xmx2g", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "--enable-native-access=ALL-UNNAMED", "-cp", cp, TokenizerProbe.class.getName());
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            LAUNCHES.incrementAndGet();
        } catch (IOException | RuntimeException e) {
            return; // no child JVM here: the Java checks stand alone
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Thread reader = Thread.ofVirtual().start(() -> {
            try (InputStream in = p.getInputStream()) {
                byte[] buf = new byte[8192];
                for (int r; (r = in.read(buf)) > 0; ) synchronized (out) { if (out.size() < (1 << 20)) out.write(buf, 0, r); }
            } catch (IOException ignored) {
                // the child died; its exit code tells
            }
        });
        try (OutputStream in = p.getOutputStream()) {
            in.write(json.getBytes(StandardCharsets.UTF_8));
        } catch (IOException ignored) {
            // the child died before reading everything; its exit code tells
        }
        boolean done;
        try {
            done = p.waitFor(TIMEOUT_S, TimeUnit.SECONDS);
            if (!done) p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            reader.join(5000);
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new ModelFormatException(name + ": interrupted while checking the tokenizer");
        }
        String log;
        synchronized (out) { log = out.toString(StandardCharsets.UTF_8); }
        if (!done) throw new ModelFormatException(name + ": the tokenizers library did not load and run it within " + TIMEOUT_S + " s");
        if (p.exitValue() == 0 && log.contains(OK)) {
            PASSED.add(key);
            remember(key);
            return;
        }
        throw new ModelFormatException(name + ": " + failure(log, p.exitValue()));
    }

    /** One line for a probe's death: the Rust panic message, the library's error, or the exit code. */
    static String failure(String log, int exit) {
        List<String> lines = log.lines().toList();
        for (int i = 0; i < lines.size(); i++) {
            String l = lines.get(i);
            if (l.startsWith(ERROR)) return "the tokenizers library cannot load or run it (" + l.substring(ERROR.length()) + ")";
            if (l.contains("panicked at")) {
                String msg = i + 1 < lines.size() ? lines.get(i + 1).strip() : "";
                return "the tokenizers library crashes on it (Rust panic: " + (msg.isEmpty() ? l.strip() : msg) + ")";
            }
        }
        String last = lines.isEmpty() ? "" : lines.getLast().strip();
        return "the tokenizers library crashes on it (exit code " + exit + (last.isEmpty() ? "" : ": " + cut(last)) + ")";
    }

    private static String cut(String s) { return s.length() > 200 ? s.substring(0, 200) + "..." : s; }

    /**
     * Passes are lines of a hidden plain file in the model cache (a folder there would be listed
     * as a model); a line is appended in one write, so concurrent probes do not corrupt it.
     */
    private static Path passFile() { return CacheDirectory.models().resolve(".tokenizer-probes"); }

    private static boolean passedBefore(String key) {
        try {
            Path f = passFile();
            return Files.isRegularFile(f) && Files.size(f) < (64L << 20) && Files.readAllLines(f).contains(key);
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    private static void remember(String key) {
        try {
            Files.createDirectories(passFile().getParent());
            Files.writeString(passFile(), key + "\n", StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException | RuntimeException ignored) {
            // an unwritable cache only costs a probe next time
        }
    }

    static String sha256(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The child: reads the library's JSON from stdin, loads it, encodes and decodes the texts, then
     * decodes every id alone and all together; prints {@value #OK}.
     */
    public static void main(String[] args) throws IOException {
        PrintStream out = System.out;
        String json = new String(System.in.readAllBytes(), StandardCharsets.UTF_8);
        try (HuggingFaceTokenizer tok = HuggingFaceTokenizer.newInstance(
                new ByteArrayInputStream(json.getBytes(StandardCharsets.UTF_8)), Map.of("addSpecialTokens", "true"))) {
            TokenizerJsonValidator.Result checked = TokenizerJsonValidator.validate(json, -1, "tokenizer.json");
            List<String> added = new ArrayList<>();
            for (int i = 0; i < checked.size(); i++) if (checked.added()[i]) added.add(checked.pieces()[i]);
            for (String text : texts(added)) {
                for (boolean special : new boolean[] {true, false}) {
                    long[] ids = tok.encode(text, special, false).getIds();
                    tok.decode(ids, false);
                    tok.decode(ids, true);
                }
            }
            int size = checked.size();
            long[][] each = new long[size][];
            long[] all = new long[size];
            for (int i = 0; i < size; i++) {
                each[i] = new long[] {i};
                all[i] = i;
            }
            tok.batchDecode(each, false);
            tok.decode(all, false);
            out.println(OK);
        } catch (Exception e) {
            out.println(ERROR + String.valueOf(e.getMessage()).lines().findFirst().orElse(e.getClass().getSimpleName()));
            out.flush();
            System.exit(3);
        }
        out.flush();
        System.exit(0);
    }
}
