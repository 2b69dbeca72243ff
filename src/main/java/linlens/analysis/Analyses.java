package linlens.analysis;

import java.util.List;

/**
 * Every analysis, in the order the command list and the app show them. A new analysis is one
 * class plus its line here and its figure entry in {@code figures.js}; the command line, the
 * report, the exports, the app and the Python client pick it up from this list.
 */
public final class Analyses {
    private Analyses() {}

    public static final List<Analysis<?>> ALL = List.of(
            new Decomposition(), new LayerAnalysis(), new Attribution(), new Steering(), new NextToken(), new LogitLens(),
            new ConceptScores());

    /** The analysis of that name, or null. */
    public static Analysis<?> byName(String name) {
        for (Analysis<?> a : ALL) if (a.name().equals(name)) return a;
        return null;
    }

    /** The names, for messages. */
    public static List<String> names() { return ALL.stream().map(Analysis::name).toList(); }
}
