package linlens.cli;

import linlens.report.HtmlReport;
import linlens.scan.ScanReport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "scan-report", header = "A self-contained HTML report of a scan's results", description = {
        "Write one HTML page (it opens offline) about a scan's --out folder: the counts,",
        "histograms of the errors, emergence layer and prompt length, the decay of the",
        "singular values, the most frequent decoded tokens, and a searchable table of the",
        "prompts, each with the decompose command line that analyses it alone."})
public final class ScanReportCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Parameters(index = "0", paramLabel = "DIR", description = "A scan's --out folder.")
    Path dir;

    @Option(names = "--html", required = true, paramLabel = "FILE", description = "The report to write (replaced atomically).")
    Path html;

    @Option(names = "--rows", paramLabel = "N", defaultValue = "10000",
            description = "Prompts listed in the table, the first by row index (default: ${DEFAULT-VALUE}); the figures count every row.")
    int rows;

    @Option(names = "--verbose", description = "Stack traces on errors.") boolean verbose;

    @Override
    public Integer call() throws Exception {
        Bounds.within("--rows", rows, 1, 1_000_000, null);
        JsonOutput.checkWritable(html);
        ScanReport.Report r = ScanReport.of(dir, rows);
        String title = "Scan of " + (r.summary().dataset() == null ? dir.getFileName() : r.summary().dataset())
                + (r.summary().model() == null ? "" : " with " + r.summary().model());
        JsonOutput.writeText(html, new HtmlReport(title).add("scan", r).html());
        spec.commandLine().getOut().printf("report of %d prompts (%d with an error) written to %s%n",
                r.summary().prompts(), r.summary().errors(), html);
        return 0;
    }
}
