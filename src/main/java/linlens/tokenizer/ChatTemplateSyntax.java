package linlens.tokenizer;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.el.ExtendedSyntaxBuilder;
import com.hubspot.jinjava.el.TruthyTypeConverter;
import com.hubspot.jinjava.el.ext.AstNamedParameter;
import com.hubspot.jinjava.el.ext.ExtendedParser;
import com.hubspot.jinjava.el.ext.NamedParameterOperator;
import jinjava.de.odysseus.el.ExpressionFactoryImpl;
import jinjava.de.odysseus.el.tree.Bindings;
import jinjava.de.odysseus.el.tree.TreeBuilder;
import jinjava.de.odysseus.el.tree.impl.Builder;
import jinjava.de.odysseus.el.tree.impl.Parser;
import jinjava.de.odysseus.el.tree.impl.Scanner;
import jinjava.de.odysseus.el.tree.impl.ast.AstIdentifier;
import jinjava.de.odysseus.el.tree.impl.ast.AstNode;
import jinjava.de.odysseus.el.tree.impl.ast.AstRightValue;
import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELException;
import jinjava.javax.el.ExpressionFactory;

import java.util.Properties;

/**
 * Two points where Jinjava's expression parser reads chat templates otherwise than jinja2, set
 * right through its parser extension points (the template is never rewritten):
 * <ul>
 *   <li>a named argument takes the whole expression after {@code =}, as in Python
 *       ({@code namespace(last=messages|length - 1)}; Jinjava bound {@code =} tighter than {@code -});</li>
 *   <li>a slice with a step and no bounds, {@code messages[::-1]} (Qwen 3's template), which
 *       Jinjava's parser refuses: it becomes a {@link Step} that {@link ChatTemplateResolver}
 *       applies to lists and strings.</li>
 * </ul>
 */
public final class ChatTemplateSyntax extends ExtendedSyntaxBuilder {
    private static final long serialVersionUID = 1L;

    public ChatTemplateSyntax() { super(); }

    public ChatTemplateSyntax(Feature... features) { super(features); }

    @Override
    protected Parser createParser(String expression) { return new ChatParser(this, expression); }

    /** The engine, reading expressions with this syntax. */
    static Jinjava engine(JinjavaConfig config) {
        Properties p = new Properties();
        p.setProperty(TreeBuilder.class.getName(), ChatTemplateSyntax.class.getName());
        ExpressionFactory factory = new ExpressionFactoryImpl(p, new TruthyTypeConverter());
        return new Jinjava(config) {
            @Override public ExpressionFactory getExpressionFactory() { return factory; }
        };
    }

    /** A slice {@code [::step]}: what the bracket passes to the resolver, by its text (the engine turns properties into strings). */
    record Step(long step) {
        static final String PREFIX = "\u0000slice-step:";

        @Override public String toString() { return PREFIX + step; }

        /** The step a property names, or null when it is not a slice. */
        static Long of(Object property) {
            if (!(property instanceof String s) || !s.startsWith(PREFIX)) return null;
            try {
                return Long.parseLong(s.substring(PREFIX.length()));
            } catch (NumberFormatException e) {
                return null;
            }
        }
    }

    static final class ChatParser extends ExtendedParser {
        ChatParser(Builder context, String input) {
            super(context, input);
            putExtensionHandler(NamedParameterOperator.TOKEN, new ExtensionHandler(ExtensionPoint.OR) {
                @Override
                public AstNode createAstNode(AstNode... children) {
                    if (!(children[0] instanceof AstIdentifier name)) throw new ELException("Expected IDENTIFIER, found " + children[0]);
                    return new AstNamedParameter(name, children[1]);
                }
            });
        }

        @Override
        protected AstNode expr(boolean required) throws Scanner.ScanException, ParseException {
            // "[::step]": the bracket asks for its index and finds two colons
            if (isColon(getToken()) && isColon(lookahead(0))) {
                consumeToken();
                consumeToken();
                return new AstStep(super.expr(true));
            }
            return super.expr(required);
        }

        private static boolean isColon(Scanner.Token t) {
            return t != null && t.getSymbol() == Scanner.Symbol.COLON && ":".equals(t.getImage());
        }
    }

    static final class AstStep extends AstRightValue {
        private final AstNode step;

        AstStep(AstNode step) { this.step = step; }

        @Override
        public Object eval(Bindings bindings, ELContext context) {
            Object v = step.eval(bindings, context);
            if (!(v instanceof Number n) || n.longValue() == 0 || n.doubleValue() != n.longValue())
                throw ChatTemplate.Rendering.stop("a slice step must be a non-zero integer");
            return new Step(n.longValue());
        }

        @Override
        public void appendStructure(StringBuilder b, Bindings bindings) {
            b.append("::");
            step.appendStructure(b, bindings);
        }

        @Override public int getCardinality() { return 1; }

        @Override public AstNode getChild(int i) { return i == 0 ? step : null; }

        @Override public String toString() { return "::"; }
    }
}
