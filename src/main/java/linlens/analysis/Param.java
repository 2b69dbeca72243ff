package linlens.analysis;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * One option of an analysis, on a component of its options record. The component's name gives
 * the option's name everywhere: {@code mlpPath} is {@code --mlp-path} on the command line and
 * {@code "mlp_path"} in the app's API and the Python client. {@link ParamSpec} reads these
 * annotations, so that every caller parses, defaults and range-checks an option the same way.
 */
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.RECORD_COMPONENT)
public @interface Param {
    /** No default: the component is null (boxed) or zero/false (primitive) when not given. */
    String NO_DEFAULT = "\u0000";

    /** One line for the help and the app's form; empty for the shared options (precision, mlp path: {@link ParamSpec#SHARED}). */
    String description() default "";

    /** The default as it would be typed on the command line ("8", "fp32", "layer,attn"). */
    String defaultValue() default NO_DEFAULT;

    /** The value's name in the help ("N", "TEXT"); empty: the type's usual one. */
    String label() default "";

    /** Must be given (there is no sensible default). */
    boolean required() default false;

    /** The smallest value a number (or each entry of a list of numbers) may take. */
    long min() default Long.MIN_VALUE;

    /** The largest value known without the model. */
    long max() default Long.MAX_VALUE;

    /** The largest value the model allows, checked once the model is loaded. */
    Limit limit() default Limit.NONE;

    /** Upper bounds that depend on the model. */
    enum Limit {
        NONE(null),
        /** A count of singular pairs or vectors: J is d×d. */
        HIDDEN_SIZE("the model's hidden size"),
        /** A count of tokens listed: at most the vocabulary. */
        VOCAB_SIZE("the model's vocabulary size"),
        /** A token id: 0..V−1. */
        TOKEN_ID("the model's vocabulary"),
        /** A 0-based layer index: 0..L−1. */
        LAYER(null);

        final String what;

        Limit(String what) { this.what = what; }
    }
}
