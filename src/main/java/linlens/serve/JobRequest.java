package linlens.serve;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import linlens.analysis.Decomposition;
import linlens.linear.Precision;
import linlens.model.MlpPath;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The body of {@code POST /api/jobs}, checked: a model name (whether the server offers it is the
 * server's question), one or two prompts and the decomposition options. {@link #parse} is pure:
 * it refuses any other input with an {@link ApiException} of a 4xx status, and throws nothing else.
 */
public record JobRequest(String model, List<String> prompts, Precision precision, MlpPath mlpPath, int components, int top) {
    /** Largest request body accepted (HTTP 413 beyond). */
    public static final int MAX_BODY = 64 * 1024;
    /** Longest prompt in characters (HTTP 413 beyond); the token limit is checked by the job. */
    public static final int MAX_PROMPT_CHARS = 8000;
    public static final int MAX_PROMPTS = 2, MAX_COMPONENTS = 64, MAX_TOP = 50;
    static final List<String> FIELDS = List.of("model", "prompts", "precision", "mlp_path", "components", "top");
    private static final Set<String> FIELD_SET = Set.copyOf(FIELDS);

    // Strict: one JSON value and nothing after it, no key twice; nesting bounded well below what
    // could exhaust the stack.
    private static final JsonMapper JSON = JsonMapper.builder(JsonFactory.builder()
                    .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
                    .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(64).build())
                    .build())
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    public JobRequest {
        prompts = List.copyOf(prompts);
    }

    public Decomposition.Options options() { return new Decomposition.Options(precision, mlpPath, components, top); }

    /** The request in {@code body} (UTF-8 JSON), or an {@link ApiException} (400 or 413) naming what is wrong. */
    public static JobRequest parse(byte[] body) {
        if (body == null || body.length == 0) throw new ApiException(400, "the request body is empty: send a JSON object");
        if (body.length > MAX_BODY) throw new ApiException(413, "request too large: at most " + MAX_BODY / 1024 + " KiB");
        JsonNode node;
        try {
            node = JSON.readTree(body);
        } catch (JsonProcessingException e) {
            String what = e.getOriginalMessage() == null ? "" : e.getOriginalMessage();
            if (what.startsWith("Duplicate field"))
                throw new ApiException(400, "the request body is not valid JSON: a field is given twice");
            throw new ApiException(400, "the request body is not valid JSON");
        } catch (IOException | RuntimeException e) {
            throw new ApiException(400, "the request body is not valid JSON");
        }
        if (node == null || !node.isObject()) throw new ApiException(400, "the request body must be a JSON object");
        for (var it = node.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!FIELD_SET.contains(f))
                throw new ApiException(400, "unknown field '" + shorten(f) + "' (known: " + String.join(", ", FIELDS) + ")");
        }
        String model = text(node, "model", null);
        if (model == null) throw new ApiException(400, "missing 'model': name one of the server's models");
        if (model.isEmpty()) throw new ApiException(400, "'model' must not be empty");
        List<String> prompts = prompts(node.get("prompts"));
        Precision precision = switch (text(node, "precision", "fp32")) {
            case "fp32" -> Precision.FP32;
            case "fp64" -> Precision.FP64;
            default -> throw new ApiException(400, "'precision' must be fp32 or fp64");
        };
        MlpPath path = switch (text(node, "mlp_path", "up")) {
            case "up" -> MlpPath.UP;
            case "gate" -> MlpPath.GATE;
            default -> throw new ApiException(400, "'mlp_path' must be up or gate");
        };
        return new JobRequest(model, prompts, precision, path,
                integer(node, "components", 8, MAX_COMPONENTS), integer(node, "top", 8, MAX_TOP));
    }

    private static List<String> prompts(JsonNode ps) {
        if (ps == null || !ps.isArray() || ps.isEmpty() || ps.size() > MAX_PROMPTS)
            throw new ApiException(400, "'prompts' must be a list of 1 or " + MAX_PROMPTS + " prompts");
        List<String> prompts = new ArrayList<>();
        for (JsonNode p : ps) {
            if (!p.isTextual()) throw new ApiException(400, "each prompt must be a string");
            String s = p.textValue();
            if (isBlank(s)) throw new ApiException(400, "empty prompt: type some text");
            if (s.length() > MAX_PROMPT_CHARS)
                throw new ApiException(413, "prompt too long: " + s.length() + " characters, at most " + MAX_PROMPT_CHARS);
            if (!wellFormed(s)) throw new ApiException(400, "a prompt is not valid Unicode (a lone surrogate)");
            prompts.add(s);
        }
        return prompts;
    }

    /** Blank: nothing but white space, separators and invisible format characters (zero-width space, BOM). */
    static boolean isBlank(String s) {
        return s.codePoints().allMatch(c -> Character.isWhitespace(c) || Character.isSpaceChar(c)
                || Character.getType(c) == Character.FORMAT);
    }

    private static boolean wellFormed(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) i++;
            else if (Character.isSurrogate(c)) return false;
        }
        return true;
    }

    /** An optional string field: absent gives {@code absent}; null or another type is refused. */
    private static String text(JsonNode body, String field, String absent) {
        JsonNode v = body.get(field);
        if (v == null) return absent;
        if (!v.isTextual()) throw new ApiException(400, "'" + field + "' must be a string" + (v.isNull() ? ", not null" : ""));
        return v.textValue();
    }

    private static int integer(JsonNode body, String field, int absent, int max) {
        JsonNode v = body.get(field);
        if (v == null) return absent;
        if (!v.isIntegralNumber() || !v.canConvertToInt() || v.intValue() < 1 || v.intValue() > max)
            throw new ApiException(400, "'" + field + "' must be an integer from 1 to " + max);
        return v.intValue();
    }

    static String shorten(String s) {
        String oneLine = s.replaceAll("\\p{Cntrl}", "?");
        return oneLine.length() <= 80 ? oneLine : oneLine.substring(0, 80) + "…";
    }
}
