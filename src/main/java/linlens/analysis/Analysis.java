package linlens.analysis;

import linlens.model.Progress;
import linlens.model.Transformer;

import java.util.List;

/**
 * One analysis of a prompt, as every caller runs it: the command line (one subcommand each),
 * the report and the exports, the app's job queue, dataset scans and the Python client all
 * go through {@link Analyses#ALL} and this interface, and know nothing else of it.
 *
 * <p>A run: the caller builds the options with {@link ParamSpec#build} (parsed and range-checked
 * with caller-neutral messages), calls {@link #check} before any work, loads the model and checks
 * the options against it ({@link ParamSpec#checkAgainst}), makes the {@link PromptContext}, and
 * calls {@link #run}. The result carries its JSON document, its report sections and its console
 * summary; arrays go to the {@link ArraySink} during the run (so that large ones need not be
 * held). To add an analysis: write its class (options record, run, result) and its figure entry in
 * {@code figures.js}, and list it in {@link Analyses#ALL}.
 *
 * @param <O> the options record, each component annotated with {@link Param}
 */
public interface Analysis<O extends Record> {
    /** The subcommand and API name ({@code decompose}). */
    String name();

    /** One line for the command list, then any more lines for the command's help. */
    List<String> description();

    Class<O> optionsType();

    /** What the prompt is to this analysis, for the help. */
    default String promptDescription() { return "Prompt text."; }

    /** The prompt used when none is given. */
    default String defaultPrompt() { return PromptContext.DEFAULT_PROMPT; }

    /** Rules between options, checked before the model loads ({@link OptionException} names them). */
    default void check(O options) {}

    /**
     * Rules that need the model and the prompt's tokens (a Jacobian too large to form, a text
     * that must be one token...), checked before the forward pass so that a refusal costs no
     * work; {@link #run} checks them too ({@link OptionException} names the options).
     */
    default void checkPrompt(Transformer model, int[] ids, O options) {}

    /** Whether some runs write arrays ({@code --export}, the app's .npz). */
    default boolean hasArrays() { return false; }

    /**
     * Why this run writes no arrays (a template naming options as {@code {name}}), or null when
     * it writes them to the sink it is given.
     */
    default String noArrays(O options) {
        return hasArrays() ? null : "{export} is not available for " + name() + ": it has no arrays to write";
    }

    /** Why this run's result cannot be drawn as a report, or null when it can. */
    default String noReport(O options) { return null; }

    /**
     * What the console's {@code --full} adds to the one-screen summary, or null when the summary
     * has no long tables to hold back ({@link AnalysisResult#printFull}).
     */
    default String fullDescription() { return null; }

    /** One line for the command list (at most 64 characters): what the analysis gives. */
    String summary();

    /**
     * Runs on a prompt. {@code progress} receives stages as they advance and may throw
     * {@link java.util.concurrent.CancellationException} to stop the run at its next report;
     * {@code arrays} receives the arrays ({@link ArraySink#NONE} when nobody wants them).
     */
    AnalysisResult run(PromptContext ctx, O options, Progress progress, ArraySink arrays);

    /** {@link #run} with options given untyped (from a registry lookup). */
    default AnalysisResult runUnchecked(PromptContext ctx, Record options, Progress progress, ArraySink arrays) {
        return run(ctx, optionsType().cast(options), progress, arrays);
    }

    /** {@link #checkPrompt} with options given untyped. */
    default void checkPromptUnchecked(Transformer model, int[] ids, Record options) {
        checkPrompt(model, ids, optionsType().cast(options));
    }

    /** {@link #check} with options given untyped. */
    default void checkUnchecked(Record options) { check(optionsType().cast(options)); }

    default String noArraysUnchecked(Record options) { return noArrays(optionsType().cast(options)); }

    default String noReportUnchecked(Record options) { return noReport(optionsType().cast(options)); }

    /** The options described for the help, the app's form and the Python client. */
    default List<ParamSpec> params() { return ParamSpec.of(optionsType()); }
}
