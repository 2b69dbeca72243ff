package linlens.analysis;

import com.fasterxml.jackson.databind.JsonNode;
import linlens.linear.Precision;
import linlens.linear.Site;
import linlens.model.MlpPath;
import linlens.model.Transformer;

import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One option of an analysis as every caller sees it, read from a {@link Param} on a component
 * of the analysis's options record: its name, type, default, description and bounds. The
 * command line, the app's API and the Python client all parse values here, and {@link #build}
 * and {@link #checkAgainst} check them, once, with {@link OptionException}'s caller-neutral names.
 *
 * @param name snake_case, from the component's name ({@code mlpPath} → {@code mlp_path})
 */
public record ParamSpec(String name, Kind kind, String description, String defaultText, String label, boolean required,
                        long min, long max, Param.Limit limit, RecordComponent component) {

    /** The value types an option may have, each with its text (command line) and JSON forms. */
    public enum Kind {
        INT("N", "integer"), OPTIONAL_INT("N", "integer"), DOUBLE("X", "number"), FLAG("", "boolean"), TEXT("TEXT", "string"),
        PRECISION("P", "fp32 or fp64"), MLP_PATH("PATH", "up or gate"), INT_LIST("L", "list of integers"),
        DOUBLE_LIST("X,...", "list of numbers"),
        SITE_LIST("KEY", "list of sites (layer, attn, mlp)");

        /** The value's name in the help. */
        public final String label;
        /** What a JSON value must be, said in an error. */
        public final String expected;

        Kind(String label, String expected) {
            this.label = label;
            this.expected = expected;
        }
    }

    /** Descriptions of options that several analyses share, so that each says them the same way. */
    static final Map<String, String> SHARED = Map.of(
            "precision", "fp32 or fp64: the arithmetic of the linear system (the forward pass is always fp64).",
            "mlp_path", "Linear path of a gated MLP: up (freeze act(gate)) or gate.",
            "matrix_free", "Never form J: top-k of each Jacobian from J·V and Jᵀ·U sweeps (long prompts).",
            "k", "Singular values of each matrix-free top-k (default: components).");

    private static final Map<Class<?>, List<ParamSpec>> CACHE = new ConcurrentHashMap<>();

    /** The options of a record type, in its component order. */
    public static List<ParamSpec> of(Class<? extends Record> type) {
        return CACHE.computeIfAbsent(type, ParamSpec::read);
    }

    private static List<ParamSpec> read(Class<?> type) {
        List<ParamSpec> specs = new ArrayList<>();
        for (RecordComponent c : type.getRecordComponents()) {
            Param p = c.getAnnotation(Param.class);
            if (p == null) throw new IllegalStateException(type.getName() + "." + c.getName() + " has no @Param");
            String name = snake(c.getName());
            String description = !p.description().isEmpty() ? p.description() : SHARED.get(name);
            if (description == null) throw new IllegalStateException(type.getName() + "." + c.getName() + " has no description");
            Kind kind = kind(c.getGenericType(), type.getName() + "." + c.getName());
            String def = p.defaultValue().equals(Param.NO_DEFAULT) ? null : p.defaultValue();
            specs.add(new ParamSpec(name, kind, description, def, p.label().isEmpty() ? kind.label : p.label(), p.required(),
                    p.min(), p.max(), p.limit(), c));
        }
        return List.copyOf(specs);
    }

    private static Kind kind(Type t, String where) {
        if (t == int.class) return Kind.INT;
        if (t == Integer.class) return Kind.OPTIONAL_INT;
        if (t == double.class) return Kind.DOUBLE;
        if (t == boolean.class) return Kind.FLAG;
        if (t == String.class) return Kind.TEXT;
        if (t == Precision.class) return Kind.PRECISION;
        if (t == MlpPath.class) return Kind.MLP_PATH;
        if (t == int[].class) return Kind.INT_LIST;
        if (t == double[].class) return Kind.DOUBLE_LIST;
        if (t instanceof ParameterizedType pt && pt.getRawType() == List.class && pt.getActualTypeArguments()[0] == Site.class)
            return Kind.SITE_LIST;
        throw new IllegalStateException(where + ": no option kind for " + t);
    }

    static String snake(String camel) {
        return camel.replaceAll("([a-z0-9])([A-Z])", "$1_$2").toLowerCase(java.util.Locale.ROOT);
    }

    /** The command-line name: {@code --mlp-path}. */
    public String cliName() { return OptionException.CLI.apply(name); }

    /** The default, parsed; null when there is none. */
    public Object defaultValue() { return defaultText == null ? null : parseText(defaultText); }

    /**
     * A value as typed on the command line. Throws IllegalArgumentException saying what was
     * expected (the caller adds which option).
     */
    public Object parseText(String s) {
        return switch (kind) {
            case INT, OPTIONAL_INT -> {
                try {
                    yield Integer.parseInt(s.strip());
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("'" + s + "' is not an int");
                }
            }
            case DOUBLE -> {
                try {
                    yield Double.parseDouble(s.strip());
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("'" + s + "' is not a double");
                }
            }
            case FLAG -> switch (s.strip().toLowerCase(java.util.Locale.ROOT)) {
                case "true" -> true;
                case "false" -> false;
                default -> throw new IllegalArgumentException("expected true or false, got '" + s + "'");
            };
            case TEXT -> s;
            case PRECISION -> precision(s);
            case MLP_PATH -> mlpPath(s);
            case INT_LIST -> {
                String[] parts = s.split(",", -1);
                int[] v = new int[parts.length];
                for (int i = 0; i < parts.length; i++) {
                    try {
                        v[i] = Integer.parseInt(parts[i].strip());
                    } catch (NumberFormatException e) {
                        throw new IllegalArgumentException("'" + parts[i] + "' is not an int");
                    }
                }
                yield v;
            }
            case DOUBLE_LIST -> {
                // an empty text is the empty list: a list option's way to say "none"
                if (s.isBlank()) yield new double[0];
                String[] parts = s.split(",", -1);
                double[] v = new double[parts.length];
                for (int i = 0; i < parts.length; i++) {
                    try {
                        v[i] = Double.parseDouble(parts[i].strip());
                    } catch (NumberFormatException e) {
                        throw new IllegalArgumentException("'" + parts[i] + "' is not a number");
                    }
                }
                yield v;
            }
            case SITE_LIST -> Arrays.stream(s.split(",", -1)).map(x -> Site.parse(x.strip())).toList();
        };
    }

    static Precision precision(String v) {
        return switch (v.toLowerCase(java.util.Locale.ROOT)) {
            case "fp32", "float32", "f32" -> Precision.FP32;
            case "fp64", "float64", "f64" -> Precision.FP64;
            default -> throw new IllegalArgumentException("expected fp32 or fp64, got '" + v + "'");
        };
    }

    static MlpPath mlpPath(String v) {
        return switch (v.toLowerCase(java.util.Locale.ROOT)) {
            case "up" -> MlpPath.UP;
            case "gate" -> MlpPath.GATE;
            default -> throw new IllegalArgumentException("expected up or gate, got '" + v + "'");
        };
    }

    /** A value as sent in JSON; a value of the wrong type is an {@link OptionException}. */
    public Object parseJson(JsonNode v) {
        String wrong = "{" + name + "} must be " + article(kind) + kind.expected + (v.isNull() ? ", not null" : "");
        switch (kind) {
            case INT, OPTIONAL_INT -> {
                if (!v.isIntegralNumber() || !v.canConvertToInt()) throw new OptionException(wrong);
                return v.intValue();
            }
            case DOUBLE -> {
                if (!v.isNumber()) throw new OptionException(wrong);
                return v.doubleValue();
            }
            case FLAG -> {
                if (!v.isBoolean()) throw new OptionException(wrong);
                return v.booleanValue();
            }
            case TEXT -> {
                if (!v.isTextual()) throw new OptionException(wrong);
                return v.textValue();
            }
            case PRECISION, MLP_PATH -> {
                if (!v.isTextual()) throw new OptionException("{" + name + "} must be a string" + (v.isNull() ? ", not null" : ""));
                // the API takes the names it answers with ("fp32", "up"), not the command line's spellings ("F32")
                Object parsed;
                try {
                    parsed = parseText(v.textValue());
                } catch (IllegalArgumentException e) {
                    throw new OptionException("{" + name + "} must be " + kind.expected);
                }
                if (!valueForJson(parsed).equals(v.textValue())) throw new OptionException("{" + name + "} must be " + kind.expected);
                return parsed;
            }
            case INT_LIST -> {
                if (!v.isArray() || v.isEmpty()) throw new OptionException(wrong);
                int[] out = new int[v.size()];
                for (int i = 0; i < out.length; i++) {
                    JsonNode e = v.get(i);
                    if (!e.isIntegralNumber() || !e.canConvertToInt()) throw new OptionException(wrong);
                    out[i] = e.intValue();
                }
                return out;
            }
            case DOUBLE_LIST -> {
                if (!v.isArray()) throw new OptionException(wrong);
                double[] out = new double[v.size()];
                for (int i = 0; i < out.length; i++) {
                    if (!v.get(i).isNumber()) throw new OptionException(wrong);
                    out[i] = v.get(i).doubleValue();
                }
                return out;
            }
            case SITE_LIST -> {
                if (!v.isArray() || v.isEmpty()) throw new OptionException(wrong);
                List<Site> out = new ArrayList<>();
                for (JsonNode e : v) {
                    if (!e.isTextual()) throw new OptionException(wrong);
                    try {
                        out.add(Site.parse(e.textValue()));
                    } catch (IllegalArgumentException x) {
                        throw new OptionException("{" + name + "}: " + x.getMessage());
                    }
                }
                return List.copyOf(out);
            }
        }
        throw new IllegalStateException(kind.name());
    }

    private static String article(Kind k) {
        return switch (k) {
            case INT, OPTIONAL_INT -> "an ";
            case DOUBLE, FLAG, TEXT, INT_LIST, DOUBLE_LIST, SITE_LIST -> "a ";
            default -> "";
        };
    }

    /**
     * The options record from the values given (by name; absent ones take their defaults),
     * after the checks that need no model: required options present, numbers within their
     * static bounds, finite.
     */
    public static <O extends Record> O build(Class<O> type, Map<String, Object> given) {
        List<ParamSpec> specs = of(type);
        for (String key : given.keySet())
            if (specs.stream().noneMatch(s -> s.name.equals(key))) throw new IllegalArgumentException("no option " + key + " in " + type.getSimpleName());
        Object[] args = new Object[specs.size()];
        Class<?>[] types = new Class<?>[specs.size()];
        for (int i = 0; i < args.length; i++) {
            ParamSpec s = specs.get(i);
            Object v = given.containsKey(s.name) ? given.get(s.name) : s.defaultValue();
            if (v == null && s.required) throw new OptionException("missing {" + s.name + "}");
            if (v == null) v = switch (s.kind) {
                case INT -> 0;
                case DOUBLE -> 0.0;
                case FLAG -> false;
                default -> null;
            };
            s.checkStatic(v);
            args[i] = v;
            types[i] = s.component.getType();
        }
        try {
            Constructor<O> c = type.getDeclaredConstructor(types);
            return c.newInstance(args);
        } catch (InvocationTargetException e) {
            if (e.getCause() instanceof RuntimeException r) throw r;
            throw new IllegalStateException(e.getCause());
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The options record with every option at its default. */
    public static <O extends Record> O defaults(Class<O> type) { return build(type, Map.of()); }

    private void checkStatic(Object v) {
        if (v == null) return;
        switch (v) {
            case Integer i -> range(i);
            case int[] a -> { for (int i : a) range(i); }
            case Double d when !Double.isFinite(d) -> throw new OptionException("{" + name + "} " + d + " out of range: must be a finite number");
            case double[] a -> {
                for (double d : a)
                    if (!Double.isFinite(d)) throw new OptionException("{" + name + "} " + d + " out of range: must be a finite number");
            }
            default -> {}
        }
    }

    private void range(long v) {
        if (max == Long.MAX_VALUE && min != Long.MIN_VALUE && v < min)
            throw new OptionException("{" + name + "} must be at least " + min + " (got " + v + ")");
        if (max != Long.MAX_VALUE && (v < min || v > max))
            throw new OptionException("{" + name + "} " + v + " out of range " + (min == Long.MIN_VALUE ? 0 : min) + ".." + max);
    }

    /** The checks that need the model: counts within its width or vocabulary, layers within its depth. */
    public static void checkAgainst(Record options, Transformer m) {
        for (ParamSpec s : of(options.getClass())) {
            if (s.limit == Param.Limit.NONE) continue;
            Object v;
            try {
                v = s.component.getAccessor().invoke(options);
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException(e);
            }
            switch (v) {
                case null -> {}
                case Integer i -> s.checkModel(i, m);
                case int[] a -> { for (int i : a) s.checkModel(i, m); }
                default -> throw new IllegalStateException(s.name + ": a limit on a non-integer");
            }
        }
    }

    private void checkModel(int v, Transformer m) {
        var c = m.config();
        long lo = min == Long.MIN_VALUE ? 0 : min;
        switch (limit) {
            case HIDDEN_SIZE -> within(v, lo, c.dim());
            case VOCAB_SIZE -> within(v, lo, c.vocab());
            case TOKEN_ID -> within(v, 0, c.vocab() - 1L);
            case LAYER -> {
                if (v < 0 || v >= c.layers())
                    throw new OptionException("{" + name + "}: layer " + v + " out of range 0.." + (c.layers() - 1)
                            + " (the model has " + c.layers() + " layers)");
            }
            case NONE -> {}
        }
    }

    private void within(long v, long lo, long hi) {
        if (v < lo || v > hi) throw new OptionException("{" + name + "} " + v + " out of range " + lo + ".." + hi + " (" + limit.what + ")");
    }

    /** The options as a JSON-able map (name → value as the API takes it), for a job's status. */
    public static Map<String, Object> values(Record options) {
        Map<String, Object> out = new LinkedHashMap<>();
        for (ParamSpec s : of(options.getClass())) {
            try {
                out.put(s.name, valueForJson(s.component.getAccessor().invoke(options)));
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException(e);
            }
        }
        return out;
    }

    /** A value as the API takes it (enums by their names there). */
    public static Object valueForJson(Object v) {
        return switch (v) {
            case Precision p -> p.label();
            case MlpPath p -> p.name().toLowerCase(java.util.Locale.ROOT);
            case List<?> l -> l.stream().map(x -> x instanceof Site site ? site.key : x).toList();
            case null, default -> v;
        };
    }
}
