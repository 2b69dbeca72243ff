package linlens.serve;

import com.fasterxml.jackson.annotation.JsonProperty;
import linlens.analysis.Analysis;
import linlens.analysis.AnalysisResult;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One submitted request: an analysis with its options, a model and one or two prompts (two to
 * compare side by side), analysed in turn. Its fields are written by the worker and read by
 * request threads.
 */
final class Job {
    enum State { QUEUED, RUNNING, DONE, FAILED, CANCELLED }

    /** One prompt's outcome so far: the sections drawn by figures.js, filled in as they are computed. */
    static final class PromptResult {
        final String prompt;
        volatile Map<String, Object> sections = Map.of();
        /** The analysis's result once it is done. */
        volatile AnalysisResult result;
        /** Its arrays as an .npz, when the analysis writes arrays. */
        volatile byte[] arrays;

        PromptResult(String prompt) { this.prompt = prompt; }
    }

    final String id;
    final String model;
    final Analysis<?> analysis;
    final Record options;
    /** How each prompt is put in the chat template, or null for plain prompts. */
    final linlens.model.Prompts.Chat chat;
    final List<PromptResult> results = new ArrayList<>();
    volatile State state = State.QUEUED;
    volatile String stage = "queued";
    volatile long done, total;
    volatile int current;
    volatile String error;
    volatile boolean cancelRequested;

    Job(String id, String model, List<String> prompts, Analysis<?> analysis, Record options) {
        this(id, model, prompts, analysis, options, null);
    }

    Job(String id, String model, List<String> prompts, Analysis<?> analysis, Record options, linlens.model.Prompts.Chat chat) {
        this.chat = chat;
        this.id = id;
        this.model = model;
        this.analysis = analysis;
        this.options = options;
        for (String p : prompts) results.add(new PromptResult(p));
    }

    boolean finished() { return state == State.DONE || state == State.FAILED || state == State.CANCELLED; }

    /** @param downloads what this prompt's result offers, once it is done (result.json, arrays.npz, report.html) */
    record ResultStatus(String prompt, List<String> sections, List<String> downloads) {}

    record Status(String id, String state, String analysis, Map<String, Object> options, String model, @JsonProperty("current_prompt") int currentPrompt, String stage,
                  long done, long total, String error,
                  @JsonProperty("queue_position") int queuePosition, List<ResultStatus> results) {}

    Status status(int queuePosition) {
        List<ResultStatus> rs = new ArrayList<>();
        for (PromptResult r : results) rs.add(new ResultStatus(r.prompt, List.copyOf(r.sections.keySet()), downloads(r)));
        return new Status(id, state.name().toLowerCase(), analysis.name(), linlens.analysis.ParamSpec.values(options), model, current, stage, done, total, error, queuePosition, rs);
    }

    private List<String> downloads(PromptResult r) {
        if (r.result == null) return List.of();
        List<String> d = new ArrayList<>(List.of("result.json"));
        if (r.arrays != null) d.add("arrays.npz");
        if (analysis.noReportUnchecked(options) == null) d.add("report.html");
        return d;
    }

    /** Publishes sections for one prompt (replacing the map, so readers never see it half-built). */
    void publish(int prompt, Map<String, Object> add) {
        PromptResult r = results.get(prompt);
        Map<String, Object> next = new LinkedHashMap<>(r.sections);
        next.putAll(add);
        r.sections = next;
    }
}
