package linlens.serve;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import linlens.analysis.Analyses;
import linlens.analysis.Analysis;
import linlens.analysis.OptionException;
import linlens.analysis.ParamSpec;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The body of {@code POST /api/jobs}, checked: an analysis (default: decompose), a model name
 * (whether the server offers it is the server's question), one or two prompts, and the
 * analysis's options as further fields, named as in {@link ParamSpec} ({@code "mlp_path"}).
 * {@link #parse} is pure: it refuses any other input with an {@link ApiException} of a 4xx
 * status, and throws nothing else. The checks that need the model run with the job.
 */
public record JobRequest(String analysis, String model, List<String> prompts, Record options, ChatFields chat) {
    /**
     * {@code "chat": true} puts each prompt in the model's chat template as one user turn, after
     * a system turn when {@code "system"} is given; null when the request has no {@code chat}.
     */
    public record ChatFields(String system) {}

    /** Largest request body accepted (HTTP 413 beyond). */
    public static final int MAX_BODY = 64 * 1024;
    /** Longest prompt in characters (HTTP 413 beyond); the token limit is checked by the job. */
    public static final int MAX_PROMPT_CHARS = 8000;
    public static final int MAX_PROMPTS = 2, MAX_COMPONENTS = 64, MAX_TOP = 50;
    /**
     * The server's own caps on counts, below what the model allows: one request cannot hold the
     * job queue for long (the command line has no such caps).
     */
    static final Map<String, Integer> CAPS = Map.of("components", MAX_COMPONENTS, "top", MAX_TOP, "k", MAX_COMPONENTS,
            "tokens", 64);
    /** The fields of every request; the analysis's options come after them. */
    static final List<String> FIELDS = List.of("analysis", "model", "prompts", "chat", "system");
    static final String DEFAULT_ANALYSIS = "decompose";

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

    /** A request of plain prompts. */
    public JobRequest(String analysis, String model, List<String> prompts, Record options) {
        this(analysis, model, prompts, options, null);
    }

    /** The analysis asked for (parse has checked it exists). */
    public Analysis<?> analysisType() { return Analyses.byName(analysis); }

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
        String name = text(node, "analysis", DEFAULT_ANALYSIS);
        Analysis<?> analysis = Analyses.byName(name);
        if (analysis == null)
            throw new ApiException(400, "unknown analysis '" + shorten(name) + "' (known: " + String.join(", ", Analyses.names()) + ")");
        List<ParamSpec> params = analysis.params();
        for (var it = node.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!FIELDS.contains(f) && params.stream().noneMatch(p -> p.name().equals(f)))
                throw new ApiException(400, "unknown field '" + shorten(f) + "' (known: " + String.join(", ", FIELDS) + ", "
                        + String.join(", ", params.stream().map(ParamSpec::name).toList()) + ")");
        }
        String model = text(node, "model", null);
        if (model == null) throw new ApiException(400, "missing 'model': name one of the server's models");
        if (model.isEmpty()) throw new ApiException(400, "'model' must not be empty");
        List<String> prompts = prompts(node.get("prompts"));
        ChatFields chat = chat(node);
        try {
            Map<String, Object> given = new LinkedHashMap<>();
            for (ParamSpec p : params) {
                JsonNode v = node.get(p.name());
                if (v == null) continue;
                Integer cap = CAPS.get(p.name());
                if (cap != null && (p.kind() == ParamSpec.Kind.INT || p.kind() == ParamSpec.Kind.OPTIONAL_INT)) {
                    long min = Math.max(p.min(), 0);
                    if (!v.isIntegralNumber() || !v.canConvertToInt() || v.intValue() < min || v.intValue() > cap)
                        throw new ApiException(400, "'" + p.name() + "' must be an integer from " + min + " to " + cap);
                }
                given.put(p.name(), p.parseJson(v));
            }
            Record options = ParamSpec.build(analysis.optionsType(), given);
            analysis.checkUnchecked(options);
            return new JobRequest(name, model, prompts, options, chat);
        } catch (OptionException e) {
            throw new ApiException(400, e.render(OptionException.API));
        } catch (linlens.model.InputException e) {
            // an option naming what does not exist, such as an unknown concept
            throw new ApiException(400, e.getMessage());
        }
    }

    private static ChatFields chat(JsonNode body) {
        JsonNode chat = body.get("chat");
        if (chat != null && !chat.isBoolean()) throw new ApiException(400, "'chat' must be true or false");
        String system = text(body, "system", null);
        boolean on = chat != null && chat.booleanValue();
        if (!on) {
            if (system != null) throw new ApiException(400, "'system' needs 'chat': true");
            return null;
        }
        if (system != null) {
            if (isBlank(system)) throw new ApiException(400, "empty system prompt: type some text or leave out 'system'");
            if (system.length() > MAX_PROMPT_CHARS)
                throw new ApiException(413, "system prompt too long: " + system.length() + " characters, at most " + MAX_PROMPT_CHARS);
            if (!wellFormed(system)) throw new ApiException(400, "the system prompt is not valid Unicode (a lone surrogate)");
        }
        return new ChatFields(system);
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

    static String shorten(String s) {
        String oneLine = s.replaceAll("\\p{Cntrl}", "?");
        return oneLine.length() <= 80 ? oneLine : oneLine.substring(0, 80) + "…";
    }
}
