package linlens.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import linlens.format.ModelLimits;
import linlens.format.ModelFormatException;
import linlens.format.Safetensors;
import linlens.format.StoredMatrix;
import linlens.model.ModelLoader.Role;
import linlens.tokenizer.HfTokenizer;
import linlens.tokenizer.Tokenizer;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Builds a {@link Transformer} from a Hugging Face model folder: {@code config.json}, safetensors
 * weights (single or sharded) and {@code tokenizer.json}. Hugging Face checkpoints rotate the two
 * halves of each head (NEOX layout) in every family.
 */
final class HfLoader {
    private HfLoader() {}

    /** config.json's hyperparameters, validated, before anything else of the folder is opened. */
    private record Hyper(int dim, int layers, int heads, int kvHeads, int headDim, int ffn, int context, double eps,
                         Integer vocabSize, int rotaryDim, double ropeAttnFactor, ModelConfig.LongRope longRope,
                         int[] windows, double[][] invFreq, double attnScale) {}

    static Transformer load(Path folder) {
        Path cfgFile = folder.resolve("config.json");
        if (!Files.exists(cfgFile)) throw new ModelFormatException(folder + ": not a model folder (no config.json)");
        JsonNode c = Safetensors.readJson(cfgFile, "config file");
        String type = c.path("model_type").asText("");
        Family fam = Family.forHf(type);
        if (fam == null)
            throw new ModelFormatException(cfgFile + ": unsupported model_type '" + ModelLimits.shown(type) + "' (supported: " + Family.supportedHf() + ")");
        Hyper h = hyper(new Json(cfgFile), c, fam);
        Path tokFile = folder.resolve("tokenizer.json");
        // A named pipe in place of tokenizer.json would block the tokenizer's read forever.
        if (Files.exists(tokFile)) ModelLimits.requireRegularFile(tokFile, "tokenizer file");
        Safetensors st = Safetensors.openFolder(folder);
        try {
            StoredMatrix embedding = st.tensors().get(ModelLoader.HF_NAMES.weight(Role.EMBEDDING)); // token ids must stay below its rows
            Tokenizer tok = HfTokenizer.open(folder, embedding == null ? -1 : embedding.rows());
            return build(folder, cfgFile, c, fam, h, tok, st);
        } catch (RuntimeException | Error e) {
            st.close();
            throw e;
        }
    }

    /** Typed, bounded reads of one JSON file's fields; errors name the file and the field. */
    record Json(Path file) {
        /** Whether the field holds a value (absent and JSON null count as not set). */
        static boolean set(JsonNode n) { return !n.isMissingNode() && !n.isNull(); }

        /** An integer in [min, max]; {@code fallback} when not set (null: the field is required). */
        int integer(JsonNode n, String field, Integer fallback, long min, long max) {
            if (!set(n)) {
                if (fallback == null) throw new ModelFormatException(file + ": missing or non-numeric '" + field + "'");
                return fallback;
            }
            if (!n.isNumber()) throw new ModelFormatException(file + ": missing or non-numeric '" + field + "' (" + ModelLimits.shown(n) + ")");
            double d = n.asDouble();
            boolean integral = n.isIntegralNumber() || (Double.isFinite(d) && d == Math.rint(d));
            if (!integral) throw new ModelFormatException(file + ": " + field + " = " + ModelLimits.shown(n) + " is not an integer");
            if (!n.canConvertToLong() || Math.abs(d) > 9e18)
                throw new ModelFormatException(file + ": " + field + " = " + ModelLimits.shown(n) + " is implausibly large (the limit is " + max + ")");
            return ModelLimits.count(file, field, n.isIntegralNumber() ? n.asLong() : (long) d, min, max);
        }

        /** A number; {@code fallback} when not set (NaN: the field is required). */
        double real(JsonNode n, String field, double fallback) {
            if (!set(n)) {
                if (Double.isNaN(fallback)) throw new ModelFormatException(file + ": missing or non-numeric '" + field + "'");
                return fallback;
            }
            if (!n.isNumber()) throw new ModelFormatException(file + ": " + field + " = " + ModelLimits.shown(n) + " is not a number");
            return n.asDouble();
        }

        /** A finite number > 0 (norm epsilon, RoPE base and factors). */
        double positive(JsonNode n, String field, double fallback) {
            return ModelLimits.positive(file, field, real(n, field, fallback));
        }

        boolean bool(JsonNode n, String field, boolean fallback) {
            if (!set(n)) return fallback;
            if (!n.isBoolean()) throw new ModelFormatException(file + ": " + field + " = " + ModelLimits.shown(n) + " is not true or false");
            return n.booleanValue();
        }
    }

    /** Reads and checks every hyperparameter of config.json: ranges first, then their consistency. */
    private static Hyper hyper(Json j, JsonNode c, Family fam) {
        Path cfgFile = j.file();
        for (String key : new String[] {"attn_logit_softcapping", "final_logit_softcapping"})
            if (c.path(key).isNumber())
                throw new ModelFormatException(cfgFile + ": " + key + " is not supported");
        int dim = j.integer(c.path("hidden_size"), "hidden_size", null, 1, ModelLimits.MAX_WIDTH);
        int layers = j.integer(c.path("num_hidden_layers"), "num_hidden_layers", null, 1, ModelLimits.MAX_LAYERS);
        int heads = j.integer(c.path("num_attention_heads"), "num_attention_heads", null, 1, ModelLimits.MAX_HEADS);
        int kvHeads = j.integer(c.path("num_key_value_heads"), "num_key_value_heads", heads, 1, ModelLimits.MAX_HEADS);
        int headDim = Json.set(c.path("head_dim"))
                ? j.integer(c.path("head_dim"), "head_dim", null, 1, ModelLimits.MAX_WIDTH)
                : ModelLimits.count(cfgFile, "head_dim (hidden_size / num_attention_heads)", dim / heads, 1, ModelLimits.MAX_WIDTH);
        ModelLoader.checkHeads(cfgFile, heads, kvHeads, headDim, "num_attention_heads", "num_key_value_heads", "head_dim");
        int ffn = j.integer(c.path("intermediate_size"), "intermediate_size", null, 1, ModelLimits.MAX_FFN);
        double eps = j.positive(c.path("rms_norm_eps"), "rms_norm_eps", 1e-6);
        int context = j.integer(c.path("max_position_embeddings"), "max_position_embeddings", null, 1, ModelLimits.MAX_CONTEXT);
        Integer vocabSize = Json.set(c.path("vocab_size"))
                ? j.integer(c.path("vocab_size"), "vocab_size", null, 1, ModelLimits.MAX_VOCAB) : null;

        // RoPE: transformers 5 writes rope_parameters (per layer type where the sliding-window
        // layers rotate differently); older configs rope_theta and rope_scaling, and the family's
        // key for the local layers' own base (Family.localRopeBase).
        JsonNode rope = c.path("rope_parameters"), fullRope, localRope;
        String fullKey, localKey;
        if (rope.has("full_attention")) {
            fullRope = rope.path("full_attention");
            localRope = rope.path("sliding_attention");
            fullKey = "rope_parameters.full_attention.";
            localKey = "rope_parameters.sliding_attention.";
        } else if (rope.isObject()) {
            fullRope = localRope = rope;
            fullKey = localKey = "rope_parameters.";
        } else {
            ObjectNode legacy = JsonNodeFactory.instance.objectNode();
            if (c.path("rope_scaling").isObject()) legacy.setAll((ObjectNode) c.path("rope_scaling"));
            legacy.put("rope_theta", j.positive(c.path("rope_theta"), "rope_theta", 10000.0));
            fullRope = legacy;
            Family.LocalRopeBase localBase = fam.localRopeBase();
            localRope = localBase != null  // the sliding-window layers' own base, unscaled
                    ? JsonNodeFactory.instance.objectNode().put("rope_theta",
                            j.positive(c.path(localBase.hfLegacyKey()), localBase.hfLegacyKey(), localBase.fallback()))
                    : legacy;
            fullKey = localKey = "rope_scaling.";
        }
        // an absent set means the defaults (as before); anything but an object is refused
        if (localRope.isMissingNode()) localRope = JsonNodeFactory.instance.objectNode();
        if (!fullRope.isObject() || !localRope.isObject())
            throw new ModelFormatException(cfgFile + ": rope_parameters must hold an object of RoPE parameters");
        JsonNode partialNode = Json.set(fullRope.path("partial_rotary_factor")) ? fullRope.path("partial_rotary_factor")
                : c.path("partial_rotary_factor");
        String partialKey = Json.set(fullRope.path("partial_rotary_factor")) ? fullKey + "partial_rotary_factor" : "partial_rotary_factor";
        double partial = j.real(partialNode, partialKey, 1.0);
        if (!(partial > 0 && partial <= 1))
            throw new ModelFormatException(cfgFile + ": " + partialKey + " = " + partial + " is outside (0, 1]");
        int rotaryDim = (int) (partial * headDim);
        rotaryDim -= rotaryDim % 2;
        if (rotaryDim < 2)
            throw new ModelFormatException(cfgFile + ": " + partialKey + " = " + partial + " of head_dim " + headDim
                    + " rotates no dimension pair");
        JsonNode origNode = Json.set(fullRope.path("original_max_position_embeddings"))
                ? fullRope.path("original_max_position_embeddings") : c.path("original_max_position_embeddings");
        int originalContext = j.integer(origNode, "original_max_position_embeddings", context, 1, ModelLimits.MAX_CONTEXT);
        double[] globalFreq = invFreq(j, fullRope, fullKey, rotaryDim);
        double[] localFreq = invFreq(j, localRope, localKey, rotaryDim);
        double ropeAttnFactor = 1.0;
        ModelConfig.LongRope longRope = null;
        if (ropeType(fullRope).equals("longrope")) {
            longRope = ModelConfig.LongRope.of(ModelConfig.ropeInvFreq(
                    j.positive(fullRope.path("rope_theta"), fullKey + "rope_theta", 10000.0), rotaryDim),
                    factors(j, fullRope, fullKey, "long_factor", rotaryDim / 2), originalContext, layers);
            double factor = (double) context / originalContext;
            ropeAttnFactor = Json.set(fullRope.path("attention_factor"))
                    ? j.positive(fullRope.path("attention_factor"), fullKey + "attention_factor", Double.NaN)
                    : factor <= 1 ? 1.0 : Math.sqrt(1 + Math.log(factor) / Math.log(originalContext));
            if (!Double.isFinite(ropeAttnFactor))
                throw new ModelFormatException(cfgFile + ": original_max_position_embeddings = " + originalContext
                        + " gives longrope no finite attention factor");
        }

        int[] windows = new int[layers];
        double[][] inv = new double[layers][];
        int window = j.integer(c.path("sliding_window"), "sliding_window", 0, 0, ModelLimits.MAX_CONTEXT);
        JsonNode layerTypes = c.path("layer_types");
        if (layerTypes.isArray()) {
            if (layerTypes.size() != layers)
                throw new ModelFormatException(cfgFile + ": layer_types has " + layerTypes.size() + " entries for " + layers + " layers");
            for (int l = 0; l < layers; l++) {
                boolean local = layerTypes.get(l).asText().equals("sliding_attention") && window > 0;
                windows[l] = local ? window : 0;
                inv[l] = local ? localFreq : globalFreq;
            }
        } else if (fam.slidingWindows() instanceof Family.SlidingWindows.FromMaxWindowLayers
                && j.bool(c.path("use_sliding_window"), "use_sliding_window", false) && c.has("max_window_layers")) {
            // the window applies from layer max_window_layers on, with the global frequencies
            int from = j.integer(c.path("max_window_layers"), "max_window_layers", 0, 0, Integer.MAX_VALUE);
            for (int l = 0; l < layers; l++) {
                windows[l] = l >= from ? window : 0;
                inv[l] = globalFreq;
            }
        } else {
            boolean used = j.bool(c.path("use_sliding_window"), "use_sliding_window", true);
            ModelLoader.windowsByScheme(fam.slidingWindows(), used ? window : 0, localFreq, globalFreq, windows, inv);
        }
        double attnScale = 1.0 / Math.sqrt(j.positive(c.path("query_pre_attn_scalar"), "query_pre_attn_scalar", headDim));
        return new Hyper(dim, layers, heads, kvHeads, headDim, ffn, context, eps, vocabSize, rotaryDim, ropeAttnFactor,
                longRope, windows, inv, attnScale);
    }

    private static Transformer build(Path folder, Path cfgFile, JsonNode c, Family fam, Hyper h, Tokenizer tok, Safetensors st) {
        ModelLoader.Tensors ts = new ModelLoader.Tensors(folder.toString(), st.tensors()::get);
        int dim = h.dim();
        ModelLoader.Names names = ModelLoader.HF_NAMES.withNorms(ModelLoader.HF_LAYER, fam.norms());
        StoredMatrix embd = ts.matrix(names.weight(Role.EMBEDDING), dim, -1);
        int vocab = ModelLoader.vocabRows(folder, embd);
        if (h.vocabSize() != null && h.vocabSize() != vocab)
            throw new ModelFormatException(cfgFile + ": vocab_size = " + h.vocabSize() + " but tensor "
                    + embd.name() + " has " + vocab + " rows");
        Json j = new Json(cfgFile);
        boolean tied = Json.set(c.path("tie_word_embeddings")) ? j.bool(c.path("tie_word_embeddings"), "tie_word_embeddings", false)
                : ts.find(names.weight(Role.OUTPUT)) == null;
        StoredMatrix out = tied ? embd : ts.matrix(names.weight(Role.OUTPUT), dim, vocab);
        if (tok.vocabSize() > vocab)
            throw new ModelFormatException(folder + ": tokenizer.json has " + tok.vocabSize() + " tokens but the embedding has " + vocab + " rows");
        ModelConfig cfg = new ModelConfig(c.path("model_type").asText(), dim, h.layers(), h.heads(), h.kvHeads(), h.headDim(),
                h.ffn(), vocab, h.context(), h.eps(), h.attnScale(), h.rotaryDim(), Family.RopeStyle.NEOX, h.ropeAttnFactor(),
                h.windows(), h.invFreq(), h.longRope());
        ModelLoader.checkConfig(folder, cfg);
        double off = fam.hfNormOffset();
        return new Transformer(fam, cfg, tok, embd, out, ts.vector(names.weight(Role.OUTPUT_NORM), dim, off, false),
                ModelLoader.layers(fam, cfg, ts, names, off), folder.toString());
    }

    private static String ropeType(JsonNode p) {
        return p.path("rope_type").asText(p.path("type").asText("default"));
    }

    /** Inverse frequencies for one set of RoPE parameters (longrope: its short factors); {@code key} prefixes field names. */
    private static double[] invFreq(Json j, JsonNode p, String key, int rotaryDim) {
        double[] inv = ModelConfig.ropeInvFreq(j.positive(p.path("rope_theta"), key + "rope_theta", 10000.0), rotaryDim);
        return switch (ropeType(p)) {
            case "default" -> inv;
            case "linear" -> ModelConfig.linear(inv, j.positive(p.path("factor"), key + "factor", 1.0));
            case "llama3" -> {
                double low = j.positive(p.path("low_freq_factor"), key + "low_freq_factor", Double.NaN);
                double high = j.positive(p.path("high_freq_factor"), key + "high_freq_factor", Double.NaN);
                if (!(high > low))
                    throw new ModelFormatException(j.file() + ": " + key + "high_freq_factor = " + high + " must exceed "
                            + key + "low_freq_factor = " + low);
                yield ModelConfig.llama3InvFreq(inv, j.positive(p.path("factor"), key + "factor", Double.NaN), low, high,
                        j.positive(p.path("original_max_position_embeddings"), key + "original_max_position_embeddings", Double.NaN));
            }
            case "longrope" -> ModelConfig.divided(inv, factors(j, p, key, "short_factor", inv.length));
            default -> throw new ModelFormatException(j.file() + ": unsupported rope_type '" + ModelLimits.shown(ropeType(p))
                    + "' (supported: default, linear, llama3, longrope)");
        };
    }

    /** Longrope's per-frequency factors ({@code short_factor} or {@code long_factor}): n finite values > 0. */
    private static double[] factors(Json j, JsonNode p, String prefix, String key, int n) {
        JsonNode f = p.path(key);
        if (!f.isArray() || f.size() != n)
            throw new ModelFormatException(j.file() + ": longrope " + key + " has " + f.size() + " values, expected " + n);
        double[] d = new double[n];
        for (int i = 0; i < n; i++) d[i] = j.positive(f.get(i), prefix + key + "[" + i + "]", Double.NaN);
        return d;
    }
}
