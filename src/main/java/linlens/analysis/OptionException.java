package linlens.analysis;

import linlens.model.InputException;

import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A bad option value or combination, said without knowing who asked: the message names options
 * as {@code {mlp_path}}, and each caller renders the names its users typed ({@link #CLI}:
 * {@code --mlp-path}; {@link #API}: {@code 'mlp_path'}). Unrendered, it reads {@code mlp_path}.
 */
public final class OptionException extends InputException {
    private static final Pattern NAME = Pattern.compile("\\{([a-z][a-z0-9_]*)}");

    /** The command line's spelling. */
    public static final UnaryOperator<String> CLI = n -> "--" + n.replace('_', '-');
    /** The JSON API's spelling (the app, the Python client). */
    public static final UnaryOperator<String> API = n -> "'" + n + "'";

    private final String template;

    public OptionException(String template) {
        super(render(template, UnaryOperator.identity()));
        this.template = template;
    }

    /** The message with each option named as {@code naming} spells it. */
    public String render(UnaryOperator<String> naming) { return render(template, naming); }

    private static String render(String template, UnaryOperator<String> naming) {
        Matcher m = NAME.matcher(template);
        StringBuilder out = new StringBuilder();
        while (m.find()) m.appendReplacement(out, Matcher.quoteReplacement(naming.apply(m.group(1))));
        m.appendTail(out);
        return out.toString();
    }
}
