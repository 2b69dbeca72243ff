package linlens.analysis;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import linlens.linear.Precision;
import linlens.linear.Site;
import linlens.model.MlpPath;
import linlens.model.ModelLoader;
import linlens.model.Transformer;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@link ParamSpec}: options read from the records' {@link Param}s, their values parsed from the
 * command line's text and the API's JSON, their defaults, and their bounds refused with one
 * caller-neutral message that each caller renders with its own option names.
 */
class ParamSpecTest {
    static final ObjectMapper JSON = new ObjectMapper();

    static ParamSpec spec(Class<? extends Record> type, String name) {
        return ParamSpec.of(type).stream().filter(s -> s.name().equals(name)).findFirst().orElseThrow(() -> new AssertionError(name));
    }

    static JsonNode json(String s) throws Exception { return JSON.readTree(s); }

    /** The message of the OptionException that {@code build} throws, as the command line and the API say it. */
    static List<String> refusal(Class<? extends Record> type, Map<String, Object> given) {
        OptionException e = assertThrows(OptionException.class, () -> ParamSpec.build(type, given), given.toString());
        return List.of(e.render(OptionException.CLI), e.render(OptionException.API));
    }

    @Test
    void namesKindsAndDefaultsComeFromTheRecord() {
        assertEquals(List.of("precision", "mlp_path", "components", "top", "nonlinear", "matrix_free", "k", "concept"),
                ParamSpec.of(Decomposition.Options.class).stream().map(ParamSpec::name).toList());
        ParamSpec path = spec(Decomposition.Options.class, "mlp_path");
        assertEquals("--mlp-path", path.cliName());
        assertEquals(ParamSpec.Kind.MLP_PATH, path.kind());
        assertEquals(MlpPath.UP, path.defaultValue());
        assertEquals(ParamSpec.SHARED.get("mlp_path"), path.description(), "a shared option's description is said once");
        ParamSpec k = spec(Decomposition.Options.class, "k");
        assertEquals(ParamSpec.Kind.OPTIONAL_INT, k.kind());
        assertNull(k.defaultValue());
        assertEquals("K", k.label());
        assertEquals(ParamSpec.Kind.INT_LIST, spec(LayerAnalysis.Options.class, "layers").kind());
        assertEquals(ParamSpec.Kind.SITE_LIST, spec(LayerAnalysis.Options.class, "keys").kind());
        assertEquals(ParamSpec.Kind.DOUBLE, spec(Steering.Options.class, "strength").kind());
        assertEquals(ParamSpec.Kind.FLAG, spec(Attribution.Options.class, "by_component").kind());
        assertTrue(spec(Steering.Options.class, "target").required());
        // every analysis's options read (a component without @Param or without a description would throw)
        for (Analysis<?> a : Analyses.ALL) assertFalse(a.params().isEmpty() && a.params().stream().anyMatch(p -> p.description().isBlank()), a.name());
    }

    @Test
    void defaultsBuildTheRecordCallersBuiltBefore() {
        assertEquals(new Decomposition.Options(Precision.FP32, MlpPath.UP, 5, 6), ParamSpec.defaults(Decomposition.Options.class));
        LayerAnalysis.Options layers = ParamSpec.defaults(LayerAnalysis.Options.class);
        assertNull(layers.layers());
        assertEquals(List.of(Site.values()), layers.sites());
        assertEquals(4, layers.components());
        assertEquals(6, layers.top());
        assertEquals(new NextToken.Options(10), ParamSpec.defaults(NextToken.Options.class));
        Steering.Options steer = ParamSpec.build(Steering.Options.class, Map.of("target", "I went to"));
        assertEquals(new Steering.Options("I went to", null, 0.25, 12, MlpPath.UP), steer);
        Attribution.Options attribute = ParamSpec.defaults(Attribution.Options.class);
        assertEquals(new Attribution.Options(null, null, null, null, false, Precision.FP32, MlpPath.UP), attribute);
    }

    @Test
    void textAsTypedOnTheCommandLine() {
        assertEquals(12, spec(Decomposition.Options.class, "components").parseText(" 12 "));
        assertEquals(Precision.FP64, spec(Decomposition.Options.class, "precision").parseText("FP64"));
        assertEquals(Precision.FP32, spec(Decomposition.Options.class, "precision").parseText("float32"));
        assertEquals(MlpPath.GATE, spec(Decomposition.Options.class, "mlp_path").parseText("gate"));
        assertArrayEquals(new int[]{1, 5, 17}, (int[]) spec(LayerAnalysis.Options.class, "layers").parseText("1, 5,17"));
        assertEquals(List.of(Site.LAYER, Site.MLP), spec(LayerAnalysis.Options.class, "keys").parseText("layer,mlp"));
        assertEquals(0.25, spec(Steering.Options.class, "strength").parseText("0.25"));
        assertEquals(ParamSpec.Kind.DOUBLE_LIST, spec(Steering.Options.class, "compare").kind());
        assertArrayEquals(new double[]{0.25, 1.5}, (double[]) spec(Steering.Options.class, "compare").parseText("0.25, 1.5"));
        assertArrayEquals(new double[0], (double[]) spec(Steering.Options.class, "compare").parseText(""), "an empty list: no comparison");
        assertEquals("'x' is not a number", assertThrows(IllegalArgumentException.class,
                () -> spec(Steering.Options.class, "compare").parseText("1,x")).getMessage());
        assertEquals(true, spec(Decomposition.Options.class, "nonlinear").parseText("true"));
        assertEquals("x y", spec(Steering.Options.class, "target").parseText("x y"));
        // what was expected, in the words picocli's own converters used (the caller adds the option)
        assertEquals("'abc' is not an int", assertThrows(IllegalArgumentException.class,
                () -> spec(Decomposition.Options.class, "components").parseText("abc")).getMessage());
        assertEquals("'x' is not a double", assertThrows(IllegalArgumentException.class,
                () -> spec(Steering.Options.class, "strength").parseText("x")).getMessage());
        assertEquals("expected fp32 or fp64, got 'fp16'", assertThrows(IllegalArgumentException.class,
                () -> spec(Decomposition.Options.class, "precision").parseText("fp16")).getMessage());
        assertEquals("expected up or gate, got 'down'", assertThrows(IllegalArgumentException.class,
                () -> spec(Decomposition.Options.class, "mlp_path").parseText("down")).getMessage());
        assertEquals("' x' is not an int", assertThrows(IllegalArgumentException.class,
                () -> spec(LayerAnalysis.Options.class, "layers").parseText("1, x")).getMessage());
        assertThrows(IllegalArgumentException.class, () -> spec(LayerAnalysis.Options.class, "keys").parseText("layer,resid_mid"));
    }

    @Test
    void jsonAsTheApiSendsIt() throws Exception {
        assertEquals(12, spec(Decomposition.Options.class, "components").parseJson(json("12")));
        assertEquals(Precision.FP64, spec(Decomposition.Options.class, "precision").parseJson(json("\"fp64\"")));
        assertEquals(MlpPath.GATE, spec(Decomposition.Options.class, "mlp_path").parseJson(json("\"gate\"")));
        assertArrayEquals(new int[]{0, 3}, (int[]) spec(LayerAnalysis.Options.class, "layers").parseJson(json("[0,3]")));
        assertEquals(List.of(Site.ATTN), spec(LayerAnalysis.Options.class, "keys").parseJson(json("[\"attn\"]")));
        assertEquals(1.0, spec(Steering.Options.class, "strength").parseJson(json("1")));
        assertArrayEquals(new double[]{0.25, 2}, (double[]) spec(Steering.Options.class, "compare").parseJson(json("[0.25, 2]")));
        assertArrayEquals(new double[0], (double[]) spec(Steering.Options.class, "compare").parseJson(json("[]")), "none");
        assertEquals("'compare' must be a list of numbers", assertThrows(OptionException.class,
                () -> spec(Steering.Options.class, "compare").parseJson(json("[\"1\"]"))).render(OptionException.API));
        assertEquals(false, spec(Attribution.Options.class, "by_component").parseJson(json("false")));
        // a wrong type names the option in the API's spelling, and says what it must be
        Map<String, String> wrong = Map.of(
                "components:\"8\"", "'components' must be an integer",
                "components:1.5", "'components' must be an integer",
                "components:null", "'components' must be an integer, not null",
                "precision:1", "'precision' must be a string",
                "precision:null", "'precision' must be a string, not null",
                "precision:\"fp16\"", "'precision' must be fp32 or fp64",
                "precision:\"FP64\"", "'precision' must be fp32 or fp64",
                "mlp_path:\"Gate\"", "'mlp_path' must be up or gate",
                "mlp_path:\"down\"", "'mlp_path' must be up or gate",
                "nonlinear:\"true\"", "'nonlinear' must be a boolean");
        wrong.forEach((given, message) -> {
            String[] nv = given.split(":", 2);
            OptionException e = assertThrows(OptionException.class, () -> spec(Decomposition.Options.class, nv[0]).parseJson(json(nv[1])), given);
            assertEquals(message, e.render(OptionException.API), given);
            assertEquals(message.replace("'" + nv[0] + "'", "--" + nv[0].replace('_', '-')), e.render(OptionException.CLI), given);
        });
        for (String v : List.of("[]", "3", "[1.5]", "[\"1\"]"))
            assertEquals("'layers' must be a list of integers", assertThrows(OptionException.class,
                    () -> spec(LayerAnalysis.Options.class, "layers").parseJson(json(v))).render(OptionException.API), v);
        assertEquals("'strength' must be a number", assertThrows(OptionException.class,
                () -> spec(Steering.Options.class, "strength").parseJson(json("\"x\""))).render(OptionException.API));
        assertTrue(assertThrows(OptionException.class, () -> spec(LayerAnalysis.Options.class, "keys").parseJson(json("[\"resid_mid\"]")))
                .render(OptionException.API).startsWith("'keys': "));
    }

    @Test
    void staticBoundsAreRefusedWithTheCallersNames() {
        assertEquals(List.of("--components must be at least 1 (got 0)", "'components' must be at least 1 (got 0)"),
                refusal(Decomposition.Options.class, Map.of("components", 0)));
        assertEquals(List.of("--top must be at least 1 (got -5)", "'top' must be at least 1 (got -5)"),
                refusal(NextToken.Options.class, Map.of("top", -5)));
        assertEquals(List.of("--k must be at least 1 (got 0)", "'k' must be at least 1 (got 0)"),
                refusal(Decomposition.Options.class, Map.of("matrix_free", true, "k", 0)));
        assertEquals(List.of("--tokens 0 out of range 1..512", "'tokens' 0 out of range 1..512"),
                refusal(Steering.Options.class, Map.of("target", "x", "tokens", 0)));
        assertEquals(List.of("--tokens 513 out of range 1..512", "'tokens' 513 out of range 1..512"),
                refusal(Steering.Options.class, Map.of("target", "x", "tokens", 513)));
        assertEquals(List.of("--layer must be at least 0 (got -1)", "'layer' must be at least 0 (got -1)"),
                refusal(Steering.Options.class, Map.of("target", "x", "layer", -1)));
        assertEquals(List.of("--strength NaN out of range: must be a finite number", "'strength' NaN out of range: must be a finite number"),
                refusal(Steering.Options.class, Map.of("target", "x", "strength", Double.NaN)));
        assertEquals(List.of("--compare Infinity out of range: must be a finite number", "'compare' Infinity out of range: must be a finite number"),
                refusal(Steering.Options.class, Map.of("target", "x", "compare", new double[]{1, Double.POSITIVE_INFINITY})));
        assertEquals(List.of("missing --target", "missing 'target'"), refusal(Steering.Options.class, Map.of()));
        assertEquals(List.of("--token-id must be at least 0 (got -1)", "'token_id' must be at least 0 (got -1)"),
                refusal(Attribution.Options.class, Map.of("token_id", -1)));
        // unrendered, the message reads the plain names
        assertEquals("components must be at least 1 (got 0)", assertThrows(OptionException.class,
                () -> ParamSpec.build(Decomposition.Options.class, Map.of("components", 0))).getMessage());
        assertThrows(IllegalArgumentException.class, () -> ParamSpec.build(Decomposition.Options.class, Map.of("nope", 1)),
                "an option the record does not have is a caller's bug");
    }

    @Test
    void rulesBetweenOptionsAreTheAnalysisChecks() {
        var mf = ParamSpec.build(Decomposition.Options.class, Map.of("k", 4));
        OptionException e = assertThrows(OptionException.class, () -> new Decomposition().check(mf));
        assertEquals("--k sets the matrix-free top-k: use it with --matrix-free", e.render(OptionException.CLI));
        assertEquals("'k' sets the matrix-free top-k: use it with 'matrix_free'", e.render(OptionException.API));
        var both = ParamSpec.build(Attribution.Options.class, Map.of("token", " Gate", "token_id", 3));
        assertEquals("give --token or --token-id, not both",
                assertThrows(OptionException.class, () -> new Attribution().check(both)).render(OptionException.CLI));
    }

    @Test
    void boundsThatNeedTheModel() {
        // the tiny Gemma 3 fixture: d = 32, 6 layers, vocabulary 300
        Transformer m = ModelLoader.load(Path.of("src/test/resources/reference/tiny/gemma3/model.gguf"));
        Map<String, Object> given = new HashMap<>(Map.of("components", 33));
        var e = assertThrows(OptionException.class,
                () -> ParamSpec.checkAgainst(ParamSpec.build(Decomposition.Options.class, given), m));
        assertEquals("--components 33 out of range 1..32 (the model's hidden size)", e.render(OptionException.CLI));
        assertEquals("'components' 33 out of range 1..32 (the model's hidden size)", e.render(OptionException.API));
        e = assertThrows(OptionException.class, () -> ParamSpec.checkAgainst(ParamSpec.build(NextToken.Options.class, Map.of("top", 301)), m));
        assertEquals("--top 301 out of range 1..300 (the model's vocabulary size)", e.render(OptionException.CLI));
        e = assertThrows(OptionException.class,
                () -> ParamSpec.checkAgainst(ParamSpec.build(Attribution.Options.class, Map.of("versus_id", 300)), m));
        assertEquals("'versus_id' 300 out of range 0..299 (the model's vocabulary)", e.render(OptionException.API));
        e = assertThrows(OptionException.class,
                () -> ParamSpec.checkAgainst(ParamSpec.build(LayerAnalysis.Options.class, Map.of("layers", new int[]{1, 6})), m));
        assertEquals("--layers: layer 6 out of range 0..5 (the model has 6 layers)", e.render(OptionException.CLI));
        ParamSpec.checkAgainst(ParamSpec.build(LayerAnalysis.Options.class, Map.of("layers", new int[]{0, 5}, "components", 32)), m);
    }

    @Test
    void valuesForTheJobStatusReadAsTheApiTakesThem() {
        var o = new LayerAnalysis.Options(new int[]{1, 2}, List.of(Site.ATTN), Precision.FP64, MlpPath.GATE, 2, 3);
        Map<String, Object> v = ParamSpec.values(o);
        assertEquals(List.of("layers", "keys", "precision", "mlp_path", "components", "top", "matrix_free", "k", "concept"), List.copyOf(v.keySet()));
        assertArrayEquals(new int[]{1, 2}, (int[]) v.get("layers"));
        assertEquals(List.of("attn"), v.get("keys"));
        assertEquals("fp64", v.get("precision"));
        assertEquals("gate", v.get("mlp_path"));
        assertNull(v.get("k"));
    }
}
