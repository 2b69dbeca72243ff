package linlens.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import linlens.cli.Main;
import linlens.format.ModelFormatException;
import linlens.format.ModelLimits;
import linlens.testing.GgufEdit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Mutated copies of the tiny fixtures, as a hostile download would be: every one must end in one
 * {@link ModelFormatException} naming the file and the field, never a raw JVM exception, a hang or
 * an OutOfMemoryError; and a model whose numbers turn non-finite must say so instead of predicting
 * token -1.
 */
class HostileModelFilesTest {
    static final Path TINY = Path.of("src/test/resources/reference/tiny");
    static final ObjectMapper JSON = new ObjectMapper();
    @TempDir Path dir;

    // ---- helpers

    GgufEdit llama() throws IOException { return GgufEdit.read(TINY.resolve("llama3/model.gguf")); }

    Path write(GgufEdit e) throws IOException { return e.write(Files.createTempFile(dir, "model", ".gguf")); }

    /** Loading fails with one line that starts with the file and contains every {@code parts}. */
    static String refused(Path file, String... parts) {
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> ModelLoader.load(file));
        String m = e.getMessage();
        assertEquals(1, m.lines().count(), m);
        assertTrue(m.startsWith(file.toString()), "names the file: " + m);
        for (String p : parts) assertTrue(m.contains(p), "expected '" + p + "' in: " + m);
        return m;
    }

    /** A copy of a tiny model's Hugging Face folder. */
    Path hf(String family) throws IOException {
        Path to = Files.createTempDirectory(dir, family);
        try (var files = Files.list(TINY.resolve(family).resolve("hf"))) {
            for (Path f : files.toList()) Files.copy(f, to.resolve(f.getFileName()));
        }
        return to;
    }

    Path hfConfig(String family, Consumer<ObjectNode> edit) throws IOException {
        Path f = hf(family);
        ObjectNode c = (ObjectNode) JSON.readTree(f.resolve("config.json").toFile());
        edit.accept(c);
        JSON.writeValue(f.resolve("config.json").toFile(), c);
        return f;
    }

    /** The folder's config.json with one literal replaced (for values Jackson would not write, such as NaN). */
    static void replaceInConfig(Path folder, String from, String to) throws IOException {
        Path c = folder.resolve("config.json");
        String s = Files.readString(c);
        assertTrue(s.contains(from), "config.json lacks " + from);
        Files.writeString(c, s.replace(from, to));
    }

    static Path mkfifo(Path p) throws Exception {
        Process pr = new ProcessBuilder("mkfifo", p.toString()).redirectErrorStream(true).start();
        assertEquals(0, pr.waitFor(), new String(pr.getInputStream().readAllBytes()));
        return p;
    }

    // ---- GGUF hyperparameters: counts, dimensions, consistency, non-finite numbers

    @Test
    void ggufCountsAreBoundedAndPositive() throws IOException {
        refused(write(llama().u32("llama.block_count", 0)), "llama.block_count = 0 must be ≥ 1");
        refused(write(llama().i32("llama.block_count", -1)), "llama.block_count = -1 must be ≥ 1");
        refused(write(llama().u32("llama.block_count", 1L << 31)), "llama.block_count = 2147483648 is implausibly large");
        refused(write(llama().u64("llama.embedding_length", 1L << 62)), "llama.embedding_length = 4611686018427387904 is implausibly large");
        refused(write(llama().u32("llama.attention.head_count", 0)), "llama.attention.head_count = 0 must be ≥ 1");
        refused(write(llama().u32("llama.attention.head_count_kv", 0)), "llama.attention.head_count_kv = 0 must be ≥ 1");
        refused(write(llama().u32("llama.attention.key_length", 0)), "llama.attention.key_length = 0 must be ≥ 1");
        refused(write(llama().u32("llama.feed_forward_length", 1L << 31)), "llama.feed_forward_length = 2147483648 is implausibly large");
        refused(write(llama().u64("llama.feed_forward_length", -1)), "llama.feed_forward_length = -1 must be ≥ 1");
        refused(write(llama().u32("llama.context_length", 0)), "llama.context_length = 0 must be ≥ 1");
        refused(write(llama().i32("llama.attention.sliding_window", -1)), "llama.attention.sliding_window = -1 must be ≥ 0");
        refused(write(llama().str("llama.block_count", "three")), "non-integer metadata llama.block_count");
    }

    @Test
    void ggufHeadsMustAgree() throws IOException {
        refused(write(llama().u32("llama.attention.head_count_kv", 3)),
                "llama.attention.head_count = 4 is not a multiple of llama.attention.head_count_kv = 3");
        refused(write(llama().u32("llama.rope.dimension_count", 9)), "llama.rope.dimension_count = 9 exceeds the head size llama.attention.key_length = 8");
        refused(write(llama().u32("llama.rope.dimension_count", 7)), "llama.rope.dimension_count = 7 must be even");
        refused(write(llama().u32("llama.rope.dimension_count", 0)), "llama.rope.dimension_count = 0 must be ≥ 2");
        refused(write(llama().u32("llama.attention.head_count", 4096).u32("llama.attention.head_count_kv", 4096)
                .u32("llama.attention.key_length", 4096).u32("llama.attention.value_length", 4096)
                .u32("llama.rope.dimension_count", 8)), "is implausibly large");
    }

    @Test
    void ggufNonFiniteHyperparameters() throws IOException {
        refused(write(llama().f32("llama.attention.layer_norm_rms_epsilon", Float.NaN)),
                "llama.attention.layer_norm_rms_epsilon = NaN must be a finite number > 0");
        refused(write(llama().f32("llama.attention.layer_norm_rms_epsilon", -1e-5f)), "layer_norm_rms_epsilon = -");
        refused(write(llama().f32("llama.rope.freq_base", Float.POSITIVE_INFINITY)), "llama.rope.freq_base = Infinity");
        refused(write(llama().f64("llama.rope.freq_base", 0)), "llama.rope.freq_base = 0.0 must be a finite number > 0");
        refused(write(llama().f32Value("rope_freqs.weight", 1, 0f)), "tensor rope_freqs.weight[1] = 0.0 must be a finite number > 0");
    }

    // ---- GGUF structure: offsets, shapes, strings, arrays, header counts

    @Test
    void ggufTensorOffsetNear2To63() throws IOException {
        refused(write(llama().offset("blk.0.attn_q.weight", Long.MAX_VALUE - 16)), "tensor blk.0.attn_q.weight lies outside the file");
        refused(write(llama().offset("blk.0.attn_q.weight", -32)), "tensor blk.0.attn_q.weight lies outside the file");
    }

    @Test
    void ggufShapesThatWrapOrDisagreeWithTheConfig() throws IOException {
        refused(write(llama().dims("blk.0.attn_q.weight", 1L << 32, 1L << 32)), "tensor blk.0.attn_q.weight has shape",
                "more than 2^31-1 rows or columns");
        refused(write(llama().dims("blk.0.attn_q.weight", 32, 1L << 62, 1L << 62)), "tensor blk.0.attn_q.weight");
        refused(write(llama().dims("blk.0.attn_q.weight", 32, 16)), "tensor blk.0.attn_q.weight has 16 rows of 32, expected 32 rows of 32");
        refused(write(llama().dims("blk.1.ffn_norm.weight", 16)), "tensor blk.1.ffn_norm.weight has 16 values, expected 32");
        refused(write(llama().dims("blk.0.attn_q.weight", 32, 0)), "tensor blk.0.attn_q.weight has a non-positive dimension");
        // a type the dequantizer cannot read is refused when the model loads, not at the first prompt
        refused(write(llama().tensorType("blk.0.attn_norm.weight", 27)), "tensor blk.0.attn_norm.weight is stored as I64");
    }

    @Test
    void ggufStringsAndArraysAreCheckedAgainstTheBytesLeft() throws IOException {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(8).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        refused(write(llama().raw("general.name", 8, b.putLong(0, 1L << 62).array().clone())),
                "metadata general.name needs 4611686018427387904 bytes");
        java.nio.ByteBuffer arr = java.nio.ByteBuffer.allocate(12).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(8).putLong(1L << 40);
        refused(write(llama().raw("general.tags", 9, arr.array())), "general.tags: array of 1099511627776 values");
        // a count that fits in the bytes left as bytes but not as 8-byte values
        java.nio.ByteBuffer longs = java.nio.ByteBuffer.allocate(12).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(10).putLong(100_000);
        refused(write(llama().raw("general.tags", 9, longs.array())), "general.tags: array of 100000 values");
        java.nio.ByteBuffer deep = java.nio.ByteBuffer.allocate(12 * 21).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 20; i++) deep.putInt(9).putLong(1);
        deep.putInt(4).putLong(0);
        refused(write(llama().raw("general.tags", 9, deep.array())), "general.tags nests arrays deeper than 8 levels");
        refused(write(llama().raw("general.tags", 77, new byte[0])), "metadata general.tags has unknown value type 77");
        refused(write(llama().u32("general.alignment", 3)), "general.alignment = 3 must be a power of two");
        refused(write(llama().f32("general.alignment", 32f)), "general.alignment = 32.0 is not an integer");
    }

    @Test
    void ggufHeaderCounts() throws IOException {
        byte[] b = llama().bytes();
        java.nio.ByteBuffer h = java.nio.ByteBuffer.wrap(b).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        long nKv = h.getLong(16);
        Path p = dir.resolve("counts.gguf");
        h.putLong(16, 1L << 40);
        refused(Files.write(p, b), "implausible header counts (tensors=", "metadata=1099511627776)");
        h.putLong(16, nKv).putLong(8, 999_999);
        refused(Files.write(p, b), "truncated or corrupt header", "999999 tensors");
        h.putLong(8, -1);
        refused(Files.write(p, b), "implausible header counts (tensors=18446744073709551615");
    }

    // ---- only regular files

    @Test
    void fifoDeviceAndDirectoryAreRefusedWithoutOpening() throws Exception {
        Path fifo = mkfifo(dir.resolve("pipe.gguf"));
        assertTimeoutPreemptively(Duration.ofSeconds(20), () -> {
            refused(fifo, "is a device, named pipe or socket, not a GGUF model file");
        });
        if (Files.exists(Path.of("/dev/zero")))
            assertTimeoutPreemptively(Duration.ofSeconds(20), () -> { refused(Path.of("/dev/zero"), "not a GGUF model file"); });
        // a folder with a pipe for config.json, tokenizer.json or a weights file
        for (String name : new String[] {"config.json", "tokenizer.json", "model.safetensors"}) {
            Path f = hf("llama3");
            Files.delete(f.resolve(name));
            mkfifo(f.resolve(name));
            assertTimeoutPreemptively(Duration.ofSeconds(20), () -> {
                ModelFormatException e = assertThrows(ModelFormatException.class, () -> ModelLoader.load(f));
                assertTrue(e.getMessage().startsWith(f.resolve(name) + ": is a device, named pipe or socket"), e.getMessage());
            });
        }
        Path f = hf("llama3");
        Files.delete(f.resolve("model.safetensors"));
        Files.createDirectory(f.resolve("model.safetensors"));
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> ModelLoader.load(f));
        assertTrue(e.getMessage().contains("model.safetensors: is a directory"), e.getMessage());
    }

    // ---- config.json

    @Test
    void configCountsAndTypes() throws IOException {
        Path f = hfConfig("llama3", c -> c.put("hidden_size", 0));
        refused(f, f.resolve("config.json") + ": hidden_size = 0 must be ≥ 1");
        f = hfConfig("llama3", c -> c.put("num_hidden_layers", -1));
        refused(f, "config.json: num_hidden_layers = -1 must be ≥ 1");
        f = hfConfig("llama3", c -> c.put("num_attention_heads", 1L << 31));
        refused(f, "config.json: num_attention_heads = 2147483648 is implausibly large");
        f = hfConfig("llama3", c -> c.put("intermediate_size", 1L << 62));
        refused(f, "config.json: intermediate_size = 4611686018427387904 is implausibly large");
        f = hfConfig("llama3", c -> c.put("num_key_value_heads", 0));
        refused(f, "config.json: num_key_value_heads = 0 must be ≥ 1");
        f = hfConfig("llama3", c -> c.put("num_key_value_heads", 3));
        refused(f, "config.json: num_attention_heads = 4 is not a multiple of num_key_value_heads = 3");
        f = hfConfig("llama3", c -> c.put("hidden_size", "32"));
        refused(f, "config.json: missing or non-numeric 'hidden_size'");
        f = hfConfig("llama3", c -> c.put("hidden_size", 32.5));
        refused(f, "config.json: hidden_size = 32.5 is not an integer");
        f = hfConfig("llama3", c -> c.put("max_position_embeddings", 0));
        refused(f, "config.json: max_position_embeddings = 0 must be ≥ 1");
        f = hfConfig("llama3", c -> c.put("sliding_window", -1));
        refused(f, "config.json: sliding_window = -1 must be ≥ 0");
        f = hfConfig("llama3", c -> c.put("vocab_size", 1L << 62));
        refused(f, "config.json: vocab_size = 4611686018427387904 is implausibly large");
        f = hfConfig("llama3", c -> c.put("vocab_size", 299));
        refused(f, "config.json: vocab_size = 299 but tensor model.embed_tokens.weight has 300 rows");
        f = hfConfig("llama3", c -> c.put("head_dim", 6));
        refused(f, "tensor model.layers.0.self_attn.q_proj.weight has 32 rows of 32, expected 24 rows of 32");
        f = hf("llama3");
        Files.writeString(f.resolve("config.json"), "[1, 2, 3]");
        refused(f, "config.json: not a JSON object");
    }

    @Test
    void configNumbersMustBeFiniteAndInRange() throws IOException {
        Path f = hf("llama3");
        replaceInConfig(f, "\"rms_norm_eps\": 1e-05", "\"rms_norm_eps\": NaN");
        refused(f, "config.json: rms_norm_eps = NaN must be a finite number > 0");
        f = hfConfig("llama3", c -> c.put("partial_rotary_factor", 1.5));
        refused(f, "config.json: partial_rotary_factor = 1.5 is outside (0, 1]");
        f = hfConfig("phi3", c -> ((ObjectNode) c.get("rope_parameters")).put("partial_rotary_factor", 0));
        refused(f, "config.json: rope_parameters.partial_rotary_factor = 0.0 is outside (0, 1]");
        f = hfConfig("llama3", c -> ((ObjectNode) c.get("rope_parameters")).put("rope_theta", 0));
        refused(f, "config.json: rope_parameters.rope_theta = 0.0 must be a finite number > 0");
        f = hfConfig("llama3", c -> ((ObjectNode) c.get("rope_parameters")).put("low_freq_factor", 4.0));
        refused(f, "config.json: rope_parameters.high_freq_factor = 4.0 must exceed rope_parameters.low_freq_factor = 4.0");
        f = hfConfig("llama3", c -> ((ObjectNode) c.get("rope_parameters")).remove("factor"));
        refused(f, "config.json: missing or non-numeric 'rope_parameters.factor'");
        f = hfConfig("phi3", c -> ((ObjectNode) c.get("rope_parameters")).putArray("short_factor").add(1.0).add("x"));
        refused(f, "config.json: rope_parameters.short_factor[1] = \"x\" is not a number");
        f = hf("phi3");
        replaceInConfig(f, "4.5", "-Infinity");
        refused(f, "config.json: rope_parameters.long_factor[1] = -Infinity must be a finite number > 0");
        f = hfConfig("gemma3", c -> c.put("query_pre_attn_scalar", -1));
        refused(f, "config.json: query_pre_attn_scalar = -1.0 must be a finite number > 0");
    }

    // ---- safetensors and the shard index

    @Test
    void shardPathsStayInsideTheFolder() throws Exception {
        Path f = hf("ministral");
        Path index = f.resolve("model.safetensors.index.json");
        String original = Files.readString(index);
        Files.writeString(index, original.replaceFirst("model-00003-of-00003.safetensors", "../../etc/passwd"));
        refused(f, "model.safetensors.index.json: weight_map.lm_head.weight = '../../etc/passwd' lies outside the model folder");
        Files.writeString(index, original.replaceFirst("model-00003-of-00003.safetensors", "/etc/passwd"));
        refused(f, "lies outside the model folder");
        Files.writeString(index, original.replaceFirst("\"model-00003-of-00003.safetensors\"", "42"));
        refused(f, "weight_map.lm_head.weight is not a file name");
        // a symlink inside the folder that leads out of it
        Path outside = Files.createTempDirectory(dir, "outside");
        Files.move(f.resolve("model-00003-of-00003.safetensors"), outside.resolve("w.safetensors"));
        Files.createSymbolicLink(f.resolve("model-00003-of-00003.safetensors"), outside.resolve("w.safetensors"));
        Files.writeString(index, original);
        refused(f, "weight_map.lm_head.weight = 'model-00003-of-00003.safetensors' links to a file outside the model folder");
    }

    @Test
    void countsWithinTheBoundsButBeyondTheHeapAreRefusedBeforeAllocating() {
        int layers = ModelLimits.MAX_LAYERS, d = ModelLimits.MAX_WIDTH;
        ModelConfig huge = new ModelConfig("llama", d, layers, 64, 8, 128, ModelLimits.MAX_FFN, ModelLimits.MAX_VOCAB, 4096,
                1e-5, 0.1, 128, Family.RopeStyle.NEOX, 1.0, new int[layers], new double[layers][0], null);
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> ModelLoader.checkConfig("big.gguf", huge));
        assertTrue(e.getMessage().startsWith("big.gguf: model needs ~") && e.getMessage().contains("1024 layers of width 65536")
                && e.getMessage().contains("set LINLENS_JAVA_OPTS=-Xmx"), e.getMessage());
    }

    @Test
    void safetyNetWrapsWhatTheExplicitChecksMiss() throws IOException {
        // Token ids in tokenizer.json are the tokenizer's to check; whatever its parser throws on
        // a negative or enormous id (an index exception, running out of heap), loading still ends
        // in one line naming the model.
        for (String id : new String[] {"-5", "99999999999"}) {
            Path f = hf("llama3");
            Files.writeString(f.resolve("tokenizer.json"),
                    "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": " + id + "}, \"merges\": []}}");
            refused(f);
        }
    }

    // ---- non-finite values from the forward pass

    @Test
    void nanWeightsStopTheForwardPassWithOneLine() throws IOException {
        Transformer m = ModelLoader.load(write(llama().f32Value("blk.1.attn_norm.weight", 3, Float.NaN)));
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> new ForwardPass(m).run(new int[] {5, 6, 7}));
        assertTrue(e.getMessage().contains("model produced non-finite values at layer 1 (NaN); the weights or norm epsilon are corrupt"),
                e.getMessage());
        Transformer out = ModelLoader.load(write(llama().f32Value("output_norm.weight", 0, Float.POSITIVE_INFINITY)));
        e = assertThrows(ModelFormatException.class, () -> new ForwardPass(out).run(new int[] {5, 6, 7}));
        assertTrue(e.getMessage().contains("model produced non-finite values in the logits"), e.getMessage());
        // the untouched model still predicts
        Transformer ok = ModelLoader.load(TINY.resolve("llama3/model.gguf"));
        assertEquals(300, new ForwardPass(ok).run(new int[] {5, 6, 7}).logits().length);
    }

    // ---- the whole class: random mutations end in a model or one ModelFormatException

    /** Applies one random mutation: a byte, or an 8-byte word set to a hostile value, mostly in the header. */
    static void mutate(byte[] b, int headerEnd, Random r) {
        long[] hostile = {0, -1, 1L << 31, 1L << 62, Long.MAX_VALUE - 7, 0x7ff8000000000000L, 0x7fc00000L, 0xffffffffL};
        int at = r.nextInt(4) == 0 ? r.nextInt(b.length) : r.nextInt(Math.min(headerEnd, b.length));
        if (r.nextBoolean()) {
            b[at] = (byte) r.nextInt(256);
        } else {
            long v = hostile[r.nextInt(hostile.length)];
            int width = r.nextBoolean() ? 4 : 8;
            for (int i = 0; i < width && at + i < b.length; i++) b[at + i] = (byte) (v >>> (8 * i));
        }
    }

    @Test
    void randomGgufMutationsEndInAModelOrOneLine() throws IOException {
        byte[] valid = Files.readAllBytes(TINY.resolve("qwen3/model.gguf"));
        int headerEnd = 9000;  // the metadata and tensor directory of the tiny files
        Random r = new Random(20261201);
        Path p = dir.resolve("fuzz.gguf");
        int refusedCount = 0;
        for (int i = 0; i < 400; i++) {
            byte[] b = valid.clone();
            for (int k = 1 + r.nextInt(3); k > 0; k--) mutate(b, headerEnd, r);
            Files.write(p, b);
            refusedCount += loadAndPredict(p, "mutation " + i);
        }
        assertTrue(refusedCount > 50, "the mutations should break many files: " + refusedCount);
    }

    @Test
    void randomSafetensorsHeaderMutationsEndInAModelOrOneLine() throws IOException {
        Path f = hf("qwen2");
        Path st = f.resolve("model.safetensors");
        byte[] valid = Files.readAllBytes(st);
        long headerLen = java.nio.ByteBuffer.wrap(valid).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong(0);
        Random r = new Random(7);
        for (int i = 0; i < 200; i++) {
            byte[] b = valid.clone();
            for (int k = 1 + r.nextInt(3); k > 0; k--) mutate(b, (int) headerLen + 8, r);
            Files.write(st, b);
            loadAndPredict(f, "mutation " + i);
        }
    }

    @Test
    void everyConfigFieldWithHostileValuesEndsInAModelOrOneLine() throws IOException {
        String[] hostile = {"0", "-1", "2147483648", "4611686018427387904", "1.5", "1e400", "NaN", "-Infinity",
                "\"x\"", "null", "[]", "{}", "true"};
        for (String family : new String[] {"llama3", "phi3", "gemma3", "qwen2"}) {
            Path f = hf(family);
            Path cfg = f.resolve("config.json");
            ObjectNode valid = (ObjectNode) JSON.readTree(cfg.toFile());
            java.util.List<String[]> fields = new java.util.ArrayList<>();  // {outer key, inner key or null}
            valid.properties().forEach(e -> {
                fields.add(new String[] {e.getKey(), null});
                if (e.getValue().isObject()) e.getValue().properties().forEach(in -> fields.add(new String[] {e.getKey(), in.getKey()}));
            });
            for (String[] field : fields)
                for (String v : hostile) {
                    ObjectNode c = valid.deepCopy();
                    ObjectNode holder = field[1] == null ? c : (ObjectNode) c.get(field[0]);
                    String key = field[1] == null ? field[0] : field[1];
                    holder.put(key, "@@HOSTILE@@");
                    Files.writeString(cfg, JSON.writeValueAsString(c).replace("\"@@HOSTILE@@\"", v));
                    loadAndPredict(f, family + " " + String.join(".", java.util.Arrays.stream(field).filter(java.util.Objects::nonNull)
                            .toList()) + " = " + v);
                }
        }
    }

    /** Loads and runs one prompt: a model that predicts a real token, or a one-line refusal (returns 1). */
    static int loadAndPredict(Path p, String what) {
        try {
            Transformer m = ModelLoader.load(p);
            double[] logits = new ForwardPass(m).run(new int[] {0, 1, 2}).logits();
            for (double v : logits) assertTrue(Double.isFinite(v), what + ": non-finite logit passed");
            return 0;
        } catch (ModelFormatException | InputException e) {
            String m = e.getMessage(), shown = m.length() > 600 ? m.substring(0, 600) + "…" : m;
            assertEquals(1, m.lines().count(), what + ": " + shown);
            assertTrue(m.length() < 600, what + ": a short line: " + shown);
            assertTrue(m.startsWith(p.toString()), what + ": names the file: " + shown);
            return 1;
        }
    }

    // ---- end to end through the command line: exit code 2 and one stderr line

    record Run(int code, String out, String err) {}

    static Run cli(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = Main.execute(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Run(code, out.toString(), err.toString());
    }

    static void assertOneLine(Run r, String expected) {
        assertEquals(2, r.code(), "exit code; stderr: " + r.err());
        assertEquals(1, r.err().strip().lines().count(), "one line expected, got: " + r.err());
        assertTrue(r.err().contains(expected), "expected '" + expected + "' in: " + r.err());
        assertFalse(r.err().contains("\tat "), "no stack trace");
    }

    @Test
    void commandLineSaysOneLineAndExitsWith2() throws Exception {
        Path kv = write(llama().u32("llama.attention.head_count_kv", 0));
        assertOneLine(cli("predict", "--model", kv.toString(), "--prompt", "hi"), kv + ": llama.attention.head_count_kv = 0 must be ≥ 1");
        Path f = hfConfig("llama3", c -> c.put("partial_rotary_factor", 1.5));
        assertOneLine(cli("predict", "--model", f.toString(), "--prompt", "hi"),
                f.resolve("config.json") + ": partial_rotary_factor = 1.5 is outside (0, 1]");
        Path fifo = mkfifo(dir.resolve("pipe.gguf"));
        assertTimeoutPreemptively(Duration.ofSeconds(20), () ->
                assertOneLine(cli("predict", "--model", fifo.toString(), "--prompt", "hi"), fifo + ": is a device, named pipe or socket"));
        Path nan = write(llama().f32Value("blk.0.ffn_norm.weight", 0, Float.NaN));
        assertOneLine(cli("predict", "--model", nan.toString(), "--prompt", "hello"), "model produced non-finite values at layer 0");
    }
}
