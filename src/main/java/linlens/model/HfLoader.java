package linlens.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import linlens.format.ModelFormatException;
import linlens.format.Safetensors;
import linlens.format.StoredMatrix;
import linlens.tokenizer.HfTokenizer;
import linlens.tokenizer.Tokenizer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Builds a {@link Transformer} from a Hugging Face model folder: {@code config.json}, safetensors
 * weights (single or sharded) and {@code tokenizer.json}. Hugging Face checkpoints rotate the two
 * halves of each head (NEOX layout) in every family.
 */
final class HfLoader {
    private static final ObjectMapper JSON = new ObjectMapper();

    private HfLoader() {}

    static Transformer load(Path folder) {
        Path cfgFile = folder.resolve("config.json");
        if (!Files.exists(cfgFile)) throw new ModelFormatException(folder + ": not a model folder (no config.json)");
        JsonNode c;
        try {
            c = JSON.readTree(cfgFile.toFile());
        } catch (IOException e) {
            throw new ModelFormatException(cfgFile + ": cannot read JSON (" + e.getMessage().lines().findFirst().orElse("") + ")", e);
        }
        String type = c.path("model_type").asText("");
        Family fam = Family.forHf(type);
        if (fam == null)
            throw new ModelFormatException(cfgFile + ": unsupported model_type '" + type + "' (supported: " + Family.supportedHf() + ")");
        Safetensors st = Safetensors.openFolder(folder);
        try {
            StoredMatrix embedding = st.tensors().get("model.embed_tokens.weight"); // token ids must stay below its rows
            Tokenizer tok = HfTokenizer.open(folder, embedding == null ? -1 : embedding.rows());
            return build(folder, cfgFile, c, fam, tok, st);
        } catch (RuntimeException e) {
            st.close();
            throw e;
        }
    }

    private static Transformer build(Path folder, Path cfgFile, JsonNode c, Family fam, Tokenizer tok, Safetensors st) {
        ModelLoader.Tensors ts = new ModelLoader.Tensors(folder.toString(), st.tensors()::get);
        for (String key : new String[] {"attn_logit_softcapping", "final_logit_softcapping"})
            if (c.path(key).isNumber())
                throw new ModelFormatException(cfgFile + ": " + key + " is not supported");
        int dim = required(c, "hidden_size", cfgFile), layers = required(c, "num_hidden_layers", cfgFile);
        int heads = required(c, "num_attention_heads", cfgFile);
        int kvHeads = c.path("num_key_value_heads").asInt(heads);
        int headDim = c.path("head_dim").isNumber() ? c.path("head_dim").asInt() : dim / heads;
        int ffn = required(c, "intermediate_size", cfgFile);
        double eps = c.path("rms_norm_eps").asDouble(1e-6);
        int context = c.path("max_position_embeddings").asInt(0);

        StoredMatrix embd = ts.matrix("model.embed_tokens.weight", dim, -1);
        int vocab = embd.rows();
        boolean tied = c.has("tie_word_embeddings") ? c.path("tie_word_embeddings").asBoolean()
                : ts.find("lm_head.weight") == null;
        StoredMatrix out = tied ? embd : ts.matrix("lm_head.weight", dim, vocab);
        if (tok.vocabSize() > vocab)
            throw new ModelFormatException(folder + ": tokenizer.json has " + tok.vocabSize() + " tokens but the embedding has " + vocab + " rows");

        // RoPE: transformers 5 writes rope_parameters (per layer type for Gemma 3); older configs
        // rope_theta and rope_scaling (Gemma 3: rope_local_base_freq for the local layers).
        JsonNode rope = c.path("rope_parameters"), fullRope, localRope;
        if (rope.has("full_attention")) {
            fullRope = rope.path("full_attention");
            localRope = rope.path("sliding_attention");
        } else if (rope.isObject()) {
            fullRope = localRope = rope;
        } else {
            var legacy = JSON.createObjectNode();
            if (c.path("rope_scaling").isObject()) legacy.setAll((com.fasterxml.jackson.databind.node.ObjectNode) c.path("rope_scaling"));
            legacy.put("rope_theta", c.path("rope_theta").asDouble(10000.0));
            fullRope = legacy;
            localRope = fam == Family.GEMMA3
                    ? JSON.createObjectNode().put("rope_theta", c.path("rope_local_base_freq").asDouble(10000.0)) : legacy;
        }
        double partial = fullRope.path("partial_rotary_factor").asDouble(c.path("partial_rotary_factor").asDouble(1.0));
        int rotaryDim = (int) (partial * headDim);
        rotaryDim -= rotaryDim % 2;
        int originalContext = fullRope.path("original_max_position_embeddings").asInt(c.path("original_max_position_embeddings").asInt(context));
        double[] globalFreq = invFreq(fullRope, rotaryDim, cfgFile);
        double[] localFreq = invFreq(localRope, rotaryDim, cfgFile);
        double ropeAttnFactor = 1.0;
        ModelConfig.LongRope longRope = null;
        if (ropeType(fullRope).equals("longrope")) {
            double[][] perLayer = new double[layers][];
            java.util.Arrays.fill(perLayer, ModelConfig.divided(ModelConfig.ropeInvFreq(fullRope.path("rope_theta").asDouble(10000.0),
                    rotaryDim), factors(fullRope, "long_factor", rotaryDim / 2, cfgFile)));
            longRope = new ModelConfig.LongRope(originalContext, perLayer);
            double factor = (double) context / originalContext;
            ropeAttnFactor = fullRope.has("attention_factor") ? fullRope.path("attention_factor").asDouble()
                    : factor <= 1 ? 1.0 : Math.sqrt(1 + Math.log(factor) / Math.log(originalContext));
        }

        int[] windows = new int[layers];
        double[][] inv = new double[layers][];
        int window = c.path("sliding_window").asInt(0);
        JsonNode layerTypes = c.path("layer_types");
        if (layerTypes.isArray()) {
            if (layerTypes.size() != layers)
                throw new ModelFormatException(cfgFile + ": layer_types has " + layerTypes.size() + " entries for " + layers + " layers");
            for (int l = 0; l < layers; l++) {
                boolean local = layerTypes.get(l).asText().equals("sliding_attention") && window > 0;
                windows[l] = local ? window : 0;
                inv[l] = local ? localFreq : globalFreq;
            }
        } else if (c.path("use_sliding_window").asBoolean(false) && c.has("max_window_layers")) {
            // older Qwen 2 configs: the window applies from layer max_window_layers on
            int from = c.path("max_window_layers").asInt();
            for (int l = 0; l < layers; l++) {
                windows[l] = l >= from ? window : 0;
                inv[l] = globalFreq;
            }
        } else {
            boolean used = c.path("use_sliding_window").asBoolean(true);
            ModelLoader.windowsByPattern(fam, used ? window : 0, localFreq, globalFreq, windows, inv);
        }
        double attnScale = 1.0 / Math.sqrt(c.path("query_pre_attn_scalar").asDouble(headDim));
        ModelConfig cfg = new ModelConfig(c.path("model_type").asText(), dim, layers, heads, kvHeads, headDim, ffn, vocab,
                context, eps, attnScale, rotaryDim, Family.RopeStyle.NEOX, ropeAttnFactor, windows, inv, longRope);

        Family.HfNorms hn = fam.hfNorms();
        String L = "model.layers.%d.";
        ModelLoader.Names names = new ModelLoader.Names(L + hn.preAttn(), L + hn.postAttn(), L + hn.preFfn(), L + hn.postFfn(),
                L + "self_attn.q_proj", L + "self_attn.k_proj", L + "self_attn.v_proj", L + "self_attn.o_proj",
                L + "self_attn.qkv_proj", L + "self_attn.q_norm", L + "self_attn.k_norm",
                L + "mlp.gate_proj", L + "mlp.up_proj", L + "mlp.down_proj", L + "mlp.gate_up_proj", ".bias", ".weight");
        double off = fam.hfNormOffset();
        return new Transformer(fam, cfg, tok, embd, out, ts.vector("model.norm.weight", dim, off, false),
                ModelLoader.layers(fam, cfg, ts, names, off), folder.toString());
    }

    private static int required(JsonNode c, String key, Path file) {
        if (!c.path(key).isNumber()) throw new ModelFormatException(file + ": missing or non-numeric '" + key + "'");
        return c.path(key).asInt();
    }

    private static String ropeType(JsonNode p) {
        return p.path("rope_type").asText(p.path("type").asText("default"));
    }

    /** Inverse frequencies for one set of RoPE parameters (longrope: its short factors). */
    private static double[] invFreq(JsonNode p, int rotaryDim, Path file) {
        double[] inv = ModelConfig.ropeInvFreq(p.path("rope_theta").asDouble(10000.0), rotaryDim);
        return switch (ropeType(p)) {
            case "default" -> inv;
            case "linear" -> ModelConfig.divided(inv, filled(inv.length, p.path("factor").asDouble(1.0)));
            case "llama3" -> ModelConfig.llama3InvFreq(inv, p.path("factor").asDouble(), p.path("low_freq_factor").asDouble(),
                    p.path("high_freq_factor").asDouble(), p.path("original_max_position_embeddings").asDouble());
            case "longrope" -> ModelConfig.divided(inv, factors(p, "short_factor", inv.length, file));
            default -> throw new ModelFormatException(file + ": unsupported rope_type '" + ropeType(p)
                    + "' (supported: default, linear, llama3, longrope)");
        };
    }

    /** Longrope's per-frequency factors ({@code short_factor} or {@code long_factor}). */
    private static double[] factors(JsonNode p, String key, int n, Path file) {
        JsonNode f = p.path(key);
        if (f.size() != n) throw new ModelFormatException(file + ": longrope " + key + " has " + f.size() + " values, expected " + n);
        double[] d = new double[n];
        for (int i = 0; i < n; i++) d[i] = f.get(i).asDouble();
        return d;
    }

    private static double[] filled(int n, double v) {
        double[] a = new double[n];
        java.util.Arrays.fill(a, v);
        return a;
    }
}
