package linlens.testing;

import org.junit.jupiter.api.Tag;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * A test (class or method) that needs a real model ({@link TestModels}): the demo model, Gemma 3
 * 270M, or Qwen2.5-Coder 0.5B.
 * A plain {@code mvn test} leaves these out so it runs on the tiny fixtures alone, in about a
 * minute; {@code mvn test -Pall} and {@code bin/test} (hence CI) run them. Without the model file
 * they fail with the fetch command in the message, they never skip.
 */
@Target({ElementType.TYPE, ElementType.METHOD})
@Retention(RetentionPolicy.RUNTIME)
@Documented
@Tag(RealModel.TAG)
public @interface RealModel {
    /** The JUnit tag; pom.xml's default build excludes it by this name. */
    String TAG = "real-model";
}
