package linlens.model;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import linlens.format.GgmlType;
import linlens.format.GgufFile;
import linlens.format.GgufTensor;
import linlens.format.ModelFormatException;
import linlens.format.ModelLimits;
import linlens.format.Safetensors;
import linlens.format.SafetensorsTensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/**
 * What {@code linlens models list} shows: every model in our cache and in the Hugging Face hub
 * cache, and the catalog models not fetched yet, each with its family, size, quantization and
 * whether it loads. The facts come from headers (GGUF metadata and tensor directory, config.json,
 * safetensors headers); whether a model is supported is decided by the loader itself
 * ({@link ModelLoader#load}): its error is the reason shown. Nothing is downloaded.
 */
public final class ModelInventory {
    private ModelInventory() {}

    /**
     * One model.
     *
     * @param name         as --model takes it
     * @param source       "linlens cache", "Hugging Face cache" or "catalog" (not fetched yet)
     * @param path         its file or folder; null for a catalog model not fetched and a repo that cannot be resolved
     * @param format       "GGUF" or "safetensors"; null when unknown
     * @param family       the architecture as people name it (Gemma 3, Llama 3, Qwen 2, ...); null when unknown
     * @param architecture GGUF {@code general.architecture} or config.json {@code model_type}
     * @param parameters   the tensors' element count; null when the header cannot be read
     * @param bytes        bytes on disk (the weights), or the catalog's download size
     * @param quantization GGUF file type (else the tensor type holding most bytes), or the checkpoint's
     *                     quantization method or dtype
     * @param supported    whether the loader loads it; null for a catalog model not fetched yet
     * @param reason       why not, in the loader's words; for a catalog model, its description
     */
    public record Model(String name, String source, String path, String format, String family, String architecture,
                        Long parameters, Long bytes, String quantization, Boolean supported, String reason) {}

    /** The listing with the two caches it looked in. */
    public record Listing(@JsonProperty("linlens_cache") String linlensCache,
                          @JsonProperty("huggingface_cache") String huggingFaceCache,
                          @JsonProperty("huggingface_cache_chosen_by") String huggingFaceCacheChosenBy,
                          List<Model> models) {}

    public static final String LINLENS = "linlens cache", HUGGING_FACE = "Hugging Face cache", CATALOG = "catalog";

    /** Everything, with {@code env} as the environment and {@code home} as the home folder. */
    public static Listing list(Map<String, String> env, Path home) throws IOException {
        Path dir = linlens.format.CacheDirectory.models(env);
        HfHubCache hub = HfHubCache.of(env, home);
        List<Model> models = new ArrayList<>();
        for (Path p : ModelCache.list(dir))
            models.add(inspect(p.getFileName().toString().replaceFirst("\\.gguf$", ""), LINLENS, p));
        for (HfHubCache.Entry e : hub.list())
            models.add(e.path() == null
                    ? new Model(e.name(), HUGGING_FACE, null, null, null, null, null, null, null, false, e.problem())
                    : inspect(e.name(), HUGGING_FACE, e.path()));
        for (ModelCache.Entry c : ModelCache.CATALOG.values().stream().sorted(java.util.Comparator.comparing(ModelCache.Entry::name)).toList())
            if (!Files.exists(dir.resolve(c.name() + ".gguf")))
                models.add(new Model(c.name(), CATALOG, null, "GGUF", null, null, null, c.size(), null, null, c.description()));
        return new Listing(dir.toString(), hub.location().dir().toString(), hub.location().chosenBy(), models);
    }

    /** The facts of one model file or folder, and whether the loader takes it. */
    static Model inspect(String name, String source, Path path) {
        Facts f = Files.isDirectory(path) ? folderFacts(path) : ggufFacts(path);
        String reason = null;
        try {
            ModelLoader.load(path);  // the loader's own checks decide; its mapping is left to the process's end
        } catch (ModelFormatException | InputException e) {
            reason = shorter(e.getMessage(), path);
        }
        return new Model(name, source, path.toString(), f.format, f.family, f.architecture, f.parameters, f.bytes,
                f.quantization, reason == null, reason);
    }

    /** What a header says; any field may stay null. */
    private static final class Facts {
        String format, family, architecture, quantization;
        Long parameters, bytes;
    }

    private static Facts ggufFacts(Path path) {
        Facts f = new Facts();
        f.format = "GGUF";
        try {
            f.bytes = Files.size(path);
        } catch (IOException ignored) {
            // the loader says what is wrong with the file
        }
        try (GgufFile g = GgufFile.open(path)) {
            Object arch = g.metadata().get("general.architecture");
            if (arch instanceof String a) {
                f.architecture = a;
                Object vocab = g.metadata().get("tokenizer.ggml.tokens");
                f.family = familyName(a, vocab instanceof String[] tokens ? tokens.length : 0);
            }
            long params = 0;
            Map<GgmlType, Long> bytesByType = new HashMap<>();
            for (GgufTensor t : g.tensors().values()) {
                params += t.elements();
                bytesByType.merge(t.type(), t.byteSize(), Long::sum);
            }
            f.parameters = params;
            Object fileType = g.metadata().get("general.file_type");
            String named = fileType instanceof Number n ? fileTypeName(n.intValue()) : null;
            f.quantization = named != null ? named : mostBytes(bytesByType);
        } catch (ModelFormatException | IllegalStateException e) {
            // an unreadable header: the loader's error below says why
        }
        return f;
    }

    private static Facts folderFacts(Path folder) {
        Facts f = new Facts();
        Path config = folder.resolve("config.json");
        if (!Files.exists(config)) return f;
        f.format = "safetensors";
        try {
            JsonNode c = Safetensors.readJson(config, "config file");
            String type = c.path("model_type").asText("");
            if (!type.isEmpty()) {
                f.architecture = type;
                f.family = familyName(type, c.path("vocab_size").asInt(0));
            }
            JsonNode q = c.path("quantization_config");
            if (q.isObject()) {
                String method = q.path("quant_method").asText("quantized");
                f.quantization = method + (q.path("bits").isNumber() ? " " + q.path("bits").asInt() + "-bit" : "");
            }
        } catch (ModelFormatException ignored) {
            // the loader's error says why
        }
        long bytes = 0;
        try (Stream<Path> s = Files.list(folder)) {
            for (Path p : s.filter(p -> p.getFileName().toString().endsWith(".safetensors")).toList())
                if (Files.isRegularFile(p)) bytes += Files.size(p);
            f.bytes = bytes;
        } catch (IOException ignored) {
            // no size then
        }
        try (Safetensors st = Safetensors.openFolder(folder)) {
            long params = 0;
            Map<GgmlType, Long> bytesByType = new HashMap<>();
            for (SafetensorsTensor t : st.tensors().values()) {
                params += t.elements();
                bytesByType.merge(t.type(), t.elements() * t.type().typeSize, Long::sum);
            }
            f.parameters = params;
            if (f.quantization == null) f.quantization = mostBytes(bytesByType);
        } catch (ModelFormatException | IllegalStateException e) {
            // a checkpoint our reader refuses: the loader's error says why
        }
        return f;
    }

    private static String mostBytes(Map<GgmlType, Long> bytesByType) {
        return bytesByType.entrySet().stream().max(Map.Entry.comparingByValue()).map(e -> e.getKey().name()).orElse(null);
    }

    /** The loader's message without the model's own path in front (the listing shows it). */
    private static String shorter(String message, Path path) {
        String m = message == null ? "" : message;
        String p = path.toString();
        if (m.startsWith(p + "/")) m = m.substring(p.length() + 1);
        else if (m.startsWith(p + ": ")) m = m.substring(p.length() + 2);
        return m.replace(p + "/", "").lines().findFirst().orElse("");
    }

    /**
     * The family as people name it, from a GGUF architecture or a config.json model_type; an
     * architecture not named here shows as it is. Llama's architecture also carries Llama 2
     * and others: a vocabulary of 128,000 or more is Llama 3's.
     */
    static String familyName(String architecture, int vocab) {
        String a = architecture.toLowerCase(Locale.ROOT);
        if (a.equals("llama")) return vocab >= 128_000 ? "Llama 3" : "Llama";
        String named = FAMILY_NAMES.get(a);
        return named != null ? named : ModelLimits.shown(architecture);
    }

    private static final Map<String, String> FAMILY_NAMES = Map.ofEntries(
            Map.entry("gemma3", "Gemma 3"), Map.entry("gemma3_text", "Gemma 3"), Map.entry("gemma3n", "Gemma 3n"),
            Map.entry("gemma2", "Gemma 2"), Map.entry("gemma", "Gemma"), Map.entry("llama4", "Llama 4"),
            Map.entry("mistral", "Mistral"), Map.entry("ministral", "Ministral"), Map.entry("mixtral", "Mixtral"),
            Map.entry("qwen2", "Qwen 2"), Map.entry("qwen3", "Qwen 3"), Map.entry("qwen2moe", "Qwen 2 MoE"),
            Map.entry("qwen2_moe", "Qwen 2 MoE"), Map.entry("qwen3moe", "Qwen 3 MoE"), Map.entry("qwen3_moe", "Qwen 3 MoE"),
            Map.entry("phi3", "Phi 3"), Map.entry("phi2", "Phi 2"), Map.entry("phi", "Phi"),
            Map.entry("olmo2", "OLMo 2"), Map.entry("olmo", "OLMo"), Map.entry("gpt2", "GPT-2"), Map.entry("bert", "BERT"),
            Map.entry("falcon", "Falcon"), Map.entry("starcoder2", "StarCoder 2"), Map.entry("granite", "Granite"),
            Map.entry("deepseek2", "DeepSeek 2"), Map.entry("deepseek_v3", "DeepSeek 3"), Map.entry("smollm3", "SmolLM 3"));

    /** llama.cpp's names of its file types ({@code general.file_type}, llama_ftype); null for one not known. */
    static String fileTypeName(int fileType) {
        return switch (fileType) {
            case 0 -> "F32"; case 1 -> "F16"; case 2 -> "Q4_0"; case 3 -> "Q4_1"; case 7 -> "Q8_0"; case 8 -> "Q5_0";
            case 9 -> "Q5_1"; case 10 -> "Q2_K"; case 11 -> "Q3_K_S"; case 12 -> "Q3_K_M"; case 13 -> "Q3_K_L";
            case 14 -> "Q4_K_S"; case 15 -> "Q4_K_M"; case 16 -> "Q5_K_S"; case 17 -> "Q5_K_M"; case 18 -> "Q6_K";
            case 19 -> "IQ2_XXS"; case 20 -> "IQ2_XS"; case 21 -> "Q2_K_S"; case 22 -> "IQ3_XS"; case 23 -> "IQ3_XXS";
            case 24 -> "IQ1_S"; case 25 -> "IQ4_NL"; case 26 -> "IQ3_S"; case 27 -> "IQ3_M"; case 28 -> "IQ2_S";
            case 29 -> "IQ2_M"; case 30 -> "IQ4_XS"; case 31 -> "IQ1_M"; case 32 -> "BF16"; case 36 -> "TQ1_0";
            case 37 -> "TQ2_0";
            default -> null;
        };
    }
}
