package linlens.tokenizer;

import linlens.format.ModelFormatException;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Templates come with model files: a hostile one (endless loops, huge output, reaching for Java
 * classes or files, bad syntax) ends in one clear line naming the template, quickly.
 */
class ChatTemplateHostileTest {
    static final List<ChatTemplate.Message> HI = List.of(new ChatTemplate.Message("user", "hi"));

    static String render(String template) {
        return new ChatTemplate(template, "evil.gguf (tokenizer.chat_template)").render(HI, true, Map.of("bos_token", "<s>"));
    }

    static String refused(String template, String expected) {
        long t0 = System.nanoTime();
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> render(template), ChatTemplate.oneLine(template));
        double s = (System.nanoTime() - t0) / 1e9;
        String m = e.getMessage();
        assertEquals(1, m.lines().count(), m);
        assertTrue(m.startsWith("chat template of evil.gguf (tokenizer.chat_template) failed: "), m);
        assertTrue(m.contains(expected), template + " → " + m);
        assertTrue(s < ChatTemplate.TIME_LIMIT.toSeconds() + 5, "took " + s + " s");
        return m;
    }

    @Test
    void javaClassesAreOutOfReach() {
        refused("{{ ''.getClass() }}", "getClass");
        refused("{{ ''.getClass().forName('java.lang.Runtime') }}", "getClass");
        refused("{{ messages.getClass() }}", "getClass");
        refused("{{ messages[0].getClass().getName() }}", "getClass");
        refused("{% set ns = namespace(a=1) %}{{ ns.getClass() }}", "getClass");
        refused("{{ (1).toString() }}", "toString");
        refused("{{ 'abc'.getBytes() }}", "getBytes");
        refused("{{ 'abc'.hashCode() }}", "hashCode");
        // properties that Java beans would have are undefined, as in Python
        assertEquals("|||", render("{{ ''.class }}|{{ ''.bytes }}|{{ messages.class }}|{{ (1).class }}"));
        assertEquals("", render("{{ messages.__class__.__mro__ }}"));
    }

    @Test
    void noFileIsRead() {
        refused("{% include 'linlens/web/app.js' %}", "cannot include or import");
        refused("{% import 'linlens/web/app.js' as x %}", "cannot include or import");
        refused("{% from 'linlens/web/app.js' import y %}", "cannot include or import");
    }

    @Test
    void endlessLoopsStopInTime() {
        refused("{% for i in range(100000) %}{% for j in range(100000) %}{% for k in range(100000) %}{{ '' }}{% endfor %}{% endfor %}{% endfor %}",
                "took longer than");
    }

    @Test
    void hugeOutputIsRefused() {
        refused("{% for i in range(100000) %}{% for j in range(100000) %}{{ 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' }}{% endfor %}{% endfor %}",
                "output");
        refused("{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s | length }}", "");
    }

    @Test
    void syntaxErrorsAndRaisedErrorsAreOneLine() {
        refused("{% if %}", "if");
        refused("{% for m in messages %}", "");
        refused("{{ raise_exception('System role not supported') }}", "the template raised: System role not supported");
        refused("{{ raise_exception('two\nlines') }}", "two lines");
    }

    @Test
    void deepNestingIsRefused() {
        refused("{{ " + "(".repeat(50_000) + "1" + ")".repeat(50_000) + " }}", "brackets nested more than 200 deep");
        refused("{% if true %}".repeat(20_000) + "x" + "{% endif %}".repeat(20_000), "blocks nested more than 100 deep");
        // as deep as real templates ever go, and further, is fine
        assertEquals("1", render("{{ " + "(".repeat(60) + "1" + ")".repeat(60) + " }}"));
        assertEquals("x", render("{% if true %}".repeat(60) + "x" + "{% endif %}".repeat(60)));
    }

    @Test
    void tooLongTemplateIsRefused() {
        assertThrows(ModelFormatException.class, () -> new ChatTemplate("x".repeat(ChatTemplate.MAX_TEMPLATE_CHARS + 1), "big"));
    }

    /** The two points where jinja2 and Jinjava's parser differ, read as jinja2 does (ChatTemplateSyntax). */
    @Test
    void namedArgumentsAndStepSlicesAsInJinja2() {
        assertEquals("0|3", render("{% set ns = namespace(a=messages|length - 1, b=1 + 2) %}{{ ns.a }}|{{ ns.b }}"));
        assertEquals("cba|[3, 2, 1]|[1, 3]|[4, 2]|hi", render("{{ 'abc'[::-1] }}|{{ [1, 2, 3][::-1] }}|{{ [1, 2, 3][::2] }}"
                + "|{{ [1, 2, 3, 4][::-2] }}|{% for m in messages[::-1] %}{{ m.content }}{% endfor %}"));
        refused("{{ [1, 2][::0] }}", "a slice step must be a non-zero integer");
        refused("{{ [1, 2, 3][0:2:1] }}", ""); // both bounds and a step: not read, refused in one line
        // the usual brackets, slices and conditionals are as before
        assertEquals("2|[2, 3]|[1]|b|y", render("{{ [1, 2, 3][1] }}|{{ [1, 2, 3][1:] }}|{{ [1, 2, 3][:1] }}|{{ {'a': 'b'}['a'] }}"
                + "|{{ 'x' if false else 'y' }}"));
    }
}
