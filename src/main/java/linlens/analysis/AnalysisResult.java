package linlens.analysis;

import java.io.PrintWriter;
import java.util.Map;

/** What an analysis gives back, in every form a caller shows it. */
public interface AnalysisResult {
    /** The JSON document ({@code --json}, the app's result download, the Python client). */
    Object document();

    /** The report's title. */
    String title();

    /**
     * The figures' data: section name → JSON-able record, in drawing order. {@code figures.js}
     * has one renderer per section name; the report and the app draw the sections present.
     */
    Map<String, Object> sections();

    /** A short summary for the console: one screen. */
    void print(PrintWriter out);

    /** The summary with its long tables in full ({@link Analysis#fullDescription()}). */
    default void printFull(PrintWriter out) { print(out); }
}
