package linlens.cli;

import linlens.analysis.ConceptSpace;
import linlens.concepts.Concept;
import linlens.concepts.ConceptException;
import linlens.concepts.ConceptLibrary;
import linlens.model.Transformer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "concepts", header = "Concepts (word lists, prompt pairs) for bias and toxicity",
        description = {"List, show and make concepts: named sets of directions in the output-embedding space (a word list's",
                "unembedding rows, or the differences of contrast prompt pairs' output embeddings), and scan a dataset",
                "for one. 'linlens concept --concept NAME' scores one prompt."},
        subcommands = {ConceptsCommand.ListConcepts.class, ConceptsCommand.Show.class, ConceptsCommand.Make.class,
                ConceptsCommand.Scan.class, ConceptsCommand.Evaluate.class})
public final class ConceptsCommand implements Runnable {
    @Spec CommandSpec spec;

    @Override
    public void run() { spec.commandLine().usage(spec.commandLine().getOut()); }

    @Command(name = "list", description = "The built-in concepts and those made with 'concepts make': words, pairs, source.")
    static final class ListConcepts implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Option(names = "--verbose", description = "Stack traces on errors.") boolean verbose;

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            ConceptLibrary lib = ConceptLibrary.standard();
            out.println("made concepts: " + lib.userDir());
            out.printf("%-20s %6s %6s %5s  %-9s %s%n", "NAME", "WORDS", "VERSUS", "PAIRS", "WHERE", "SOURCE");
            for (var e : lib.list()) {
                Concept c = e.concept();
                if (c == null) {
                    out.println("  (unreadable) " + e.where());
                    continue;
                }
                out.printf("%-20s %6d %6d %5d  %-9s %s%n", c.name(), c.words().size(), c.versusWords().size(), c.contrastPairs().size(),
                        e.where().equals("built-in") ? "built-in" : "made", c.source() == null ? "" : linlens.analysis.Text.elide(c.source(), 70));
            }
            out.println("show one with: linlens concepts show NAME [--model M]; score a prompt: linlens concept --concept NAME --prompt TEXT");
            return 0;
        }
    }

    @Command(name = "show", description = "A concept's words and pairs; with --model, its tokens and subspace on that model.")
    static final class Show implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Parameters(paramLabel = "NAME", description = "A concept's name (see 'linlens concepts list').") String name;
        @Option(names = "--model", paramLabel = "MODEL", description = "Also show its tokens and subspace on this model.") String model;
        @Option(names = "--verbose", description = "Stack traces on errors.") boolean verbose;
        @Option(names = "--quiet", description = "No progress lines.") boolean quiet;

        @Override
        public Integer call() throws Exception {
            PrintWriter out = spec.commandLine().getOut();
            ConceptLibrary lib = ConceptLibrary.standard();
            var entry = lib.find(name);
            Concept c = lib.resolve(name);
            out.println("concept      " + c.name() + " (" + entry.where() + ")");
            if (c.description() != null) out.println("description  " + c.description());
            if (c.source() != null) out.println("source       " + c.source());
            if (c.licence() != null) out.println("licence      " + c.licence());
            if (!entry.concept().include().isEmpty()) out.println("includes     " + String.join(", ", entry.concept().include()));
            out.println("words        " + c.words().size() + ": " + quoted(c.words()));
            if (!c.versusWords().isEmpty()) out.println("versus words " + c.versusWords().size() + ": " + quoted(c.versusWords()));
            for (List<String> p : c.contrastPairs())
                out.println("pair         " + linlens.analysis.Text.quote(p.get(0)) + " vs " + linlens.analysis.Text.quote(p.get(1)));
            out.println("rank         " + c.effectiveRank());
            if (model != null) {
                CommonOptions common = new CommonOptions();
                common.model = model;
                common.quiet = quiet;
                Transformer m = common.load(spec.commandLine().getErr());
                ConceptSpace s = ConceptSpace.of(c, m);
                var info = s.info();
                out.printf("on %s: %d tokens%s; subspace rank %d of d=%d (chance share %.4f); readout norm %.4f%n",
                        m.family().name(), info.tokens(), info.versusTokens() > 0 ? " versus " + info.versusTokens() : "", info.rank(),
                        m.config().dim(), info.chance(), info.readoutNorm());
                List<String> toks = new ArrayList<>();
                for (int t : s.tokens()) toks.add(m.tokenizer().decode(t));
                out.println("tokens       " + quoted(toks));
                if (!info.unknownWords().isEmpty())
                    out.println("not used     " + info.unknownWords().size() + " words with no single-token form: " + quoted(info.unknownWords()));
            }
            return 0;
        }
    }

    @Command(name = "make", description = {"Make a concept from words, versus words, contrast prompt pairs or other concepts,",
            "or from a concept file (--from), and keep it under its name for 'concept', 'scan' and the app."})
    static final class Make implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Parameters(paramLabel = "NAME", description = "Its name: lowercase letters, digits and dashes.") String name;
        @Option(names = "--from", paramLabel = "FILE", description = "A concept file (JSON: name, words, versus_words, contrast_pairs, include, rank, description, source, licence).")
        Path from;
        @Option(names = "--words", split = ",", paramLabel = "W", description = "Its words, comma-separated.") List<String> words;
        @Option(names = "--versus-words", split = ",", paramLabel = "W", description = "Opposite words: the readout is the logit difference of the two sets.")
        List<String> versusWords;
        @Option(names = "--pair", arity = "2", paramLabel = "PROMPT", description = "A contrast pair: two prompts whose output embeddings differ by the concept (repeatable).")
        List<String> pairs;
        @Option(names = "--include", split = ",", paramLabel = "NAME", description = "Other concepts whose words and pairs it adds.") List<String> include;
        @Option(names = "--rank", paramLabel = "R", description = "Directions spanning its subspace (default: 8).") Integer rank;
        @Option(names = "--description", paramLabel = "TEXT") String description;
        @Option(names = "--source", paramLabel = "TEXT", description = "Where its words come from.") String source;
        @Option(names = "--replace", description = "Overwrite a concept of that name made before.") boolean replace;
        @Option(names = "--verbose", description = "Stack traces on errors.") boolean verbose;

        @Override
        public Integer call() throws Exception {
            Concept c;
            if (from != null) {
                if (words != null || versusWords != null || pairs != null || include != null)
                    throw new ConceptException("give --from FILE or the words and pairs, not both");
                Concept f = ConceptLibrary.read(from);
                c = new Concept(name, f.description(), f.source(), f.licence(), f.words(), f.versusWords(), f.contrastPairs(), f.include(),
                        rank != null ? rank : f.rank());
            } else {
                List<List<String>> p = new ArrayList<>();
                if (pairs != null) for (int i = 0; i + 1 < pairs.size(); i += 2) p.add(List.of(pairs.get(i), pairs.get(i + 1)));
                c = new Concept(name, description, source, null, words, versusWords, p, include, rank);
            }
            Path file = ConceptLibrary.standard().save(c.validated(), replace);
            spec.commandLine().getOut().println(file);
            return 0;
        }
    }

    /** {@code linlens scan} with the concept analysis on: its options, --concept required. */
    @Command(name = "scan", header = "Scan a dataset for a concept, into Parquet",
            description = {"'linlens scan --analyses predict,concept --concept NAME': every prompt's concept logit with its exact",
                    "split over positions and layers, its spectral shares and the baselines, committed as Parquet."})
    static final class Scan extends ScanCommand {
        @Override
        public Integer call() throws Exception {
            if (concept == null) throw new ConceptException("concepts scan needs --concept NAME (see 'linlens concepts list')");
            if (analyses == null) analyses = List.of("predict", "concept");
            return super.call();
        }
    }

    @Command(name = "evaluate", description = {"The concept scores on the built-in bias and toxicity sets against the baselines:",
            "AUROC and TPR at 1% FPR (variants chosen on a development split, reported on the rest, bootstrap intervals),",
            "stereotype scores and where the logit differences come from; written as Markdown (docs/concepts.md)."})
    static final class Evaluate implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Mixin CommonOptions common;
        @Mixin ThreadsOption threads;
        @Option(names = "--items", paramLabel = "N", defaultValue = "30", description = "Items drawn from each set (default: ${DEFAULT-VALUE}).") int items;
        @Option(names = "--seed", paramLabel = "S", defaultValue = "1", description = "The draws' and the bootstrap's seed (default: ${DEFAULT-VALUE}).") long seed;
        @Option(names = "--k", paramLabel = "K", defaultValue = "4", description = "Top-k of the spectral shares (default: ${DEFAULT-VALUE}).") int k;
        @Option(names = "--resamples", paramLabel = "N", defaultValue = "1000", description = "Bootstrap resamples (default: ${DEFAULT-VALUE}).") int resamples;
        @Option(names = "--md", paramLabel = "FILE", defaultValue = "docs/concepts.md", description = "The Markdown written (default: ${DEFAULT-VALUE}).") Path md;
        @Option(names = "--json", paramLabel = "FILE", description = "Also every number as JSON.") Path json;
        @Option(names = "--report", paramLabel = "FILE.html", description = "Also the concept report: ROC curves, scores by label, layer profiles, flagged prompts.") Path report;

        @Override
        public Integer call() throws Exception {
            Bounds.within("--items", items, 10, 100_000, null);
            Bounds.within("--k", k, 1, 64, null);
            Bounds.within("--resamples", resamples, 100, 100_000, null);
            OutputTargets.check(json, md, null);
            if (report != null) {
                OutputTargets.check(json, report, null);
                if (linlens.report.OutputFiles.checkFile(report).equals(linlens.report.OutputFiles.checkFile(md)))
                    throw new linlens.model.InputException("--md and --report name the same file " + report);
            }
            PrintWriter err = spec.commandLine().getErr();
            threads.apply();
            Transformer m = common.load(err);
            java.util.function.Function<String, Path> data = name -> {
                try {
                    return linlens.datasets.Datasets.resolve(name, line -> { if (!common.quiet) err.println(line); },
                            ConsoleProgress.of(err, common.quiet));
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException(e);
                }
            };
            var ev = new linlens.evaluation.ConceptEvaluation(m, new linlens.evaluation.ConceptEvaluation.Options(items, seed, k, resamples, 1 / 3.0),
                    data, ConsoleProgress.of(err, common.quiet));
            var result = ev.run();
            String command = "bin/linlens concepts evaluate" + (common.model.equals(CommonOptions.DEFAULT_MODEL) ? "" : " --model " + common.model)
                    + (items == 30 ? "" : " --items " + items) + (seed == 1 ? "" : " --seed " + seed) + (k == 4 ? "" : " --k " + k);
            JsonOutput.writeText(md, linlens.evaluation.ConceptEvaluationMarkdown.of(result, command));
            if (json != null) JsonOutput.write(json, result);
            if (report != null) JsonOutput.writeText(report, htmlReport(result));
            spec.commandLine().getOut().println("wrote " + md + (json != null ? ", " + json : "") + (report != null ? ", " + report : ""));
            return 0;
        }
    }

    /** The concept report: the evaluation's figures, drawn by figures.js's concept_evaluation section. */
    static String htmlReport(linlens.evaluation.ConceptEvaluation.Report r) {
        return new linlens.report.HtmlReport("Linear Lens concept evaluation: " + java.nio.file.Path.of(r.model()).getFileName())
                .add("concept_evaluation", r).html();
    }

    private static String quoted(List<String> words) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < words.size(); i++) {
            if (b.length() > 400) return b + " … (" + (words.size() - i) + " more)";
            b.append(i == 0 ? "" : " ").append(linlens.analysis.Text.quote(words.get(i)));
        }
        return b.toString();
    }
}
