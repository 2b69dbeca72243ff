package linlens.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.el.JinjavaInterpreterResolver;
import com.hubspot.jinjava.el.JinjavaProcessors;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.filter.Filter;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import com.hubspot.jinjava.loader.ResourceNotFoundException;
import linlens.format.GgufFile;
import linlens.format.ModelFormatException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A model's chat template (Jinja), rendered as transformers' {@code apply_chat_template} renders
 * it: {@code trim_blocks} and {@code lstrip_blocks} on, the variables {@code messages},
 * {@code add_generation_prompt}, {@code tools} and {@code documents} (none), the special tokens
 * ({@code bos_token}, {@code eos_token}, ...), and transformers' globals {@code raise_exception},
 * {@code strftime_now}, {@code namespace} and its {@code tojson} filter.
 *
 * <p>The engine is Jinjava; what Python's jinja2 has and Jinjava lacks (Python's string and dict
 * methods such as {@code .strip()}, {@code .split()}, {@code .startswith()}, {@code .items()}) is
 * given through its extension points ({@link ChatTemplateResolver}, functions, filters, and
 * {@link ChatTemplateSyntax} for two points of its expression parser), never by rewriting the
 * template.
 *
 * <p>Templates come with model files and are hostile input: only the methods above can be
 * called (no Java method, no class), the output is bounded ({@link #MAX_OUTPUT_CHARS}), and so are
 * the time ({@link #TIME_LIMIT}), the nesting, strings, lists and ranges. Every failure is one
 * {@link ModelFormatException} line naming the template's origin.
 */
public final class ChatTemplate {
    /** Longest rendered prompt, in characters (far beyond any model's context). */
    public static final int MAX_OUTPUT_CHARS = 1 << 20;
    /** Longest a rendering may take. */
    public static final Duration TIME_LIMIT = Duration.ofSeconds(5);
    /** Longest template text accepted. */
    public static final int MAX_TEMPLATE_CHARS = 1 << 20;
    /**
     * Deepest nesting of brackets, and of blocks ({@code if}, {@code for}, {@code macro}...),
     * accepted: real templates stay below ten; the engine's parser takes time superlinear in the
     * depth of brackets, so deeper ones are refused before it sees them.
     */
    public static final int MAX_BRACKET_DEPTH = 200, MAX_BLOCK_DEPTH = 100;
    private static final java.util.regex.Pattern TAG = java.util.regex.Pattern.compile("\\{%[-+]?\\s*([a-z_]+)");

    /** One turn of a conversation. */
    public record Message(String role, String content) {}

    private final String text;
    private final String origin;

    /**
     * @param text   the Jinja source
     * @param origin where it comes from, for messages (e.g. {@code "model.gguf (tokenizer.chat_template)"})
     */
    public ChatTemplate(String text, String origin) {
        if (text.length() > MAX_TEMPLATE_CHARS)
            throw new ModelFormatException(origin + ": chat template too long (" + text.length() + " characters, at most "
                    + MAX_TEMPLATE_CHARS + ")");
        checkNesting(text, origin);
        this.text = text;
        this.origin = origin;
    }

    private static void checkNesting(String text, String origin) {
        int depth = 0;
        for (int i = 0; i < text.length(); i++) {
            switch (text.charAt(i)) {
                case '(', '[', '{' -> depth++;
                case ')', ']', '}' -> depth = Math.max(0, depth - 1);
                default -> { continue; }
            }
            if (depth > MAX_BRACKET_DEPTH)
                throw new ModelFormatException("chat template of " + origin + " failed: brackets nested more than "
                        + MAX_BRACKET_DEPTH + " deep");
        }
        int blocks = 0;
        var m = TAG.matcher(text);
        while (m.find()) {
            String tag = m.group(1);
            switch (tag) {
                case "if", "for", "macro", "call", "filter", "block", "raw", "generation" -> blocks++;
                default -> { if (tag.startsWith("end")) blocks = Math.max(0, blocks - 1); }
            }
            if (blocks > MAX_BLOCK_DEPTH)
                throw new ModelFormatException("chat template of " + origin + " failed: blocks nested more than "
                        + MAX_BLOCK_DEPTH + " deep");
        }
    }

    public String text() { return text; }

    /** Where the template comes from, as messages name it. */
    public String origin() { return origin; }

    /** The template in a GGUF file's {@code tokenizer.chat_template}, or null when it has none. */
    public static ChatTemplate fromGguf(GgufFile gguf) {
        if (!gguf.has("tokenizer.chat_template")) return null;
        return new ChatTemplate(gguf.string("tokenizer.chat_template"), gguf.path().getFileName() + " (tokenizer.chat_template)");
    }

    /**
     * The template of a Hugging Face model folder: {@code chat_template.jinja}, else
     * {@code tokenizer_config.json}'s {@code chat_template} (a string, or a list of named templates
     * of which the one named "default" is taken); null when there is none.
     */
    public static ChatTemplate fromHfFolder(Path folder) {
        Path jinja = folder.resolve("chat_template.jinja");
        try {
            if (Files.isRegularFile(jinja)) {
                if (Files.size(jinja) > MAX_TEMPLATE_CHARS * 4L)
                    throw new ModelFormatException(jinja + ": chat template too large");
                return new ChatTemplate(Files.readString(jinja, StandardCharsets.UTF_8), jinja.toString());
            }
            Path cfg = folder.resolve("tokenizer_config.json");
            if (!Files.isRegularFile(cfg)) return null;
            JsonNode t = new ObjectMapper().readTree(cfg.toFile()).path("chat_template");
            String where = cfg + " (chat_template)";
            if (t.isMissingNode() || t.isNull()) return null;
            if (t.isTextual()) return new ChatTemplate(t.textValue(), where);
            if (t.isArray()) {
                for (JsonNode named : t)
                    if ("default".equals(named.path("name").asText(null)) && named.path("template").isTextual())
                        return new ChatTemplate(named.path("template").textValue(), cfg + " (chat_template \"default\")");
                throw new ModelFormatException(where + ": a list of templates without one named \"default\"");
            }
            throw new ModelFormatException(where + ": must be a string or a list of named templates");
        } catch (IOException e) {
            throw new ModelFormatException(folder + ": cannot read the chat template (" + oneLine(e.getMessage()) + ")");
        }
    }

    /** Reads a template file the user names (a base model has none of its own). */
    public static ChatTemplate fromFile(Path file) {
        try {
            if (!Files.isRegularFile(file)) throw new ModelFormatException(file + ": no such chat template file");
            if (Files.size(file) > MAX_TEMPLATE_CHARS * 4L) throw new ModelFormatException(file + ": chat template too large");
            return new ChatTemplate(Files.readString(file, StandardCharsets.UTF_8), file.toString());
        } catch (java.nio.charset.MalformedInputException e) {
            throw new ModelFormatException(file + ": the chat template is not UTF-8 text");
        } catch (IOException e) {
            throw new ModelFormatException(file + ": cannot read the chat template (" + oneLine(e.getMessage()) + ")");
        }
    }

    /** The special tokens a template sees, from the vocabulary ({@code bos_token}, {@code eos_token}). */
    public static Map<String, Object> specialTokens(Tokenizer tokenizer) {
        Map<String, Object> s = new LinkedHashMap<>();
        Vocabulary v = tokenizer.vocabulary();
        if (tokenizer.bos() >= 0) s.put("bos_token", v.piece(tokenizer.bos()));
        if (tokenizer.eos() >= 0) s.put("eos_token", v.piece(tokenizer.eos()));
        return s;
    }

    /** As {@link #render(List, boolean, Map, Clock)} with the system clock. */
    public String render(List<Message> messages, boolean addGenerationPrompt, Map<String, Object> specialTokens) {
        return render(messages, addGenerationPrompt, specialTokens, Clock.systemDefaultZone());
    }

    /**
     * The conversation as the template writes it.
     *
     * @param specialTokens further variables, as transformers passes its special tokens map
     * @param clock         what {@code strftime_now} reads
     */
    public String render(List<Message> messages, boolean addGenerationPrompt, Map<String, Object> specialTokens, Clock clock) {
        Map<String, Object> vars = new LinkedHashMap<>(specialTokens);
        List<Object> msgs = new ArrayList<>();
        for (Message m : messages) {
            Map<String, Object> one = new LinkedHashMap<>();
            one.put("role", m.role());
            one.put("content", m.content());
            msgs.add(one);
        }
        vars.put("messages", msgs);
        vars.put("add_generation_prompt", addGenerationPrompt);
        vars.put("tools", null);
        vars.put("documents", null);
        // jinja2 drops one newline at the very end of the source (keep_trailing_newline off)
        String source = text.endsWith("\r\n") ? text.substring(0, text.length() - 2)
                : text.endsWith("\n") ? text.substring(0, text.length() - 1) : text;
        Rendering state = new Rendering(clock, System.nanoTime() + TIME_LIMIT.toNanos());
        Rendering.CURRENT.set(state);
        RenderResult result;
        try {
            result = ENGINE.renderForResult(source, vars);
        } catch (StackOverflowError e) {
            throw fail("nested too deeply");
        } catch (Rendering.Stop e) {
            throw fail(e.getMessage());
        } catch (RuntimeException e) {
            throw fail(state.stop != null ? state.stop : oneLine(e.getMessage()));
        } finally {
            Rendering.CURRENT.remove();
        }
        if (state.stop != null) throw fail(state.stop);
        for (TemplateError e : result.getErrors())
            if (e.getSeverity() == TemplateError.ErrorType.FATAL)
                throw fail((e.getLineno() > 0 ? "line " + e.getLineno() + ": " : "") + oneLine(e.getMessage()));
        String out = result.getOutput();
        if (out.length() > MAX_OUTPUT_CHARS) throw fail("output longer than " + MAX_OUTPUT_CHARS + " characters");
        return out;
    }

    private ModelFormatException fail(String why) {
        return new ModelFormatException("chat template of " + origin + " failed: " + why);
    }

    static String oneLine(String s) {
        if (s == null || s.isBlank()) return "error";
        String one = s.strip().replaceAll("\\s*\\R\\s*", " ");
        return one.length() <= 300 ? one : one.substring(0, 300) + "…";
    }

    // ------------------------------------------------------------------ the engine

    /** What one rendering needs that Jinjava's static functions cannot be handed otherwise. */
    static final class Rendering {
        static final ThreadLocal<Rendering> CURRENT = new ThreadLocal<>();
        final Clock clock;
        final long deadline;
        String stop;

        Rendering(Clock clock, long deadline) {
            this.clock = clock;
            this.deadline = deadline;
        }

        /** Ends the rendering: Jinjava may catch it, so the reason is kept for after. */
        static RuntimeException stop(String why) {
            Rendering r = CURRENT.get();
            if (r != null && r.stop == null) r.stop = why;
            return new Stop(why);
        }

        static final class Stop extends RuntimeException {
            Stop(String why) { super(why, null, false, false); }
        }

        static void checkTime() {
            Rendering r = CURRENT.get();
            if (r == null) return;
            if (r.stop != null) throw new Stop(r.stop);
            if (System.nanoTime() > r.deadline) throw stop("took longer than " + TIME_LIMIT.toSeconds() + " s");
        }
    }

    private static final Jinjava ENGINE = engine();

    private static Jinjava engine() {
        JinjavaConfig config = JinjavaConfig.newBuilder()
                .withTrimBlocks(true)
                .withLstripBlocks(true)
                .withMaxOutputSize(MAX_OUTPUT_CHARS * 4L)
                .withMaxStringLength(MAX_OUTPUT_CHARS * 4L)
                .withMaxListSize(100_000)
                .withMaxMapSize(100_000)
                .withRangeLimit(100_000)
                .withMaxRenderDepth(10)
                .withEnableRecursiveMacroCalls(false)
                .withMaxMacroRecursionDepth(20)
                .withNestedInterpretationEnabled(false)
                .withFailOnUnknownTokens(false)
                // jinja2's semantics where Jinjava keeps its older ones by default
                .withLegacyOverrides(LegacyOverrides.newBuilder()
                        .withEvaluateMapKeys(true)
                        .withIterateOverMapKeys(true)
                        .withUsePyishObjectMapper(true)
                        .withParseWhitespaceControlStrictly(true)
                        .withAllowAdjacentTextNodes(true)
                        .withUseTrimmingForNotesAndExpressions(true)
                        .withKeepNullableLoopValues(true)
                        .withHandleBackslashInQuotesOnly(true)
                        .build())
                .withElResolver(new ChatTemplateResolver(JinjavaInterpreterResolver.DEFAULT_RESOLVER_READ_ONLY))
                .withProcessors(JinjavaProcessors.newBuilder()
                        .withNodePreProcessor((node, interpreter) -> Rendering.checkTime())
                        .build())
                .build();
        Jinjava j = ChatTemplateSyntax.engine(config);
        // nothing outside the template: {% include %}, {% import %} and {% from %} find no file
        j.setResourceLocator((name, encoding, interpreter) -> {
            throw new ResourceNotFoundException("chat templates cannot include or import other templates");
        });
        var ctx = j.getGlobalContext();
        ctx.registerFunction(new ELFunctionDefinition("", "raise_exception", method("raiseException", Object.class)));
        ctx.registerFunction(new ELFunctionDefinition("", "strftime_now", method("strftimeNow", String.class)));
        ctx.registerFilter(new ToJson());
        ctx.registerFilter(new Trim());
        // so that "strftime_now is defined" holds, as for transformers' global (the call is the function's)
        ctx.put("strftime_now", "strftime_now");
        ctx.put("raise_exception", "raise_exception");
        return j;
    }

    private static java.lang.reflect.Method method(String name, Class<?>... types) {
        try {
            return ChatTemplateFunctions.class.getMethod(name, types);
        } catch (NoSuchMethodException e) {
            throw new IllegalStateException(e);
        }
    }

    /** transformers' {@code tojson}: Python's json.dumps with ensure_ascii off, its indent and sort_keys. */
    static final class ToJson implements Filter {
        @Override public String getName() { return "tojson"; }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
            Object indent = args.length > 0 ? args[0] : kwargs.get("indent");
            Object sort = args.length > 3 ? args[3] : kwargs.get("sort_keys");
            return PythonJson.dumps(var, indent(indent), Boolean.TRUE.equals(sort) || "True".equals(String.valueOf(sort)));
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            return PythonJson.dumps(var, indent(args.length > 0 ? args[0] : null), false);
        }

        private static Integer indent(Object v) {
            if (v == null || "None".equals(String.valueOf(v)) || "none".equals(String.valueOf(v))) return null;
            if (v instanceof Number n) return n.intValue();
            try {
                return Integer.valueOf(String.valueOf(v).strip());
            } catch (NumberFormatException e) {
                throw Rendering.stop("tojson: indent must be an integer");
            }
        }
    }

    /** jinja2's {@code trim}: Python's str.strip (Unicode white space), or of the characters given. */
    static final class Trim implements Filter {
        @Override public String getName() { return "trim"; }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            String s = var == null ? "" : PythonStrings.str(var);
            return PythonStrings.strip(s, args.length > 0 ? args[0] : null, true, true);
        }
    }
}
