package linlens.analysis;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * An analysis's result on a prompt put in the chat template ({@code --chat}): the same result,
 * with the text the template wrote as {@code formatted_prompt} right after the prompt in the JSON
 * document and in every report section that shows the prompt, and a line in the console summary.
 * A plain prompt's result is left as it is ({@link #of}), so its outputs do not change.
 */
public final class ChatResult implements AnalysisResult {
    public static final String FIELD = "formatted_prompt";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final AnalysisResult result;
    private final String formatted;

    private ChatResult(AnalysisResult result, String formatted) {
        this.result = result;
        this.formatted = formatted;
    }

    /** {@code result}, with the formatted prompt added when {@code ctx}'s prompt is a chat. */
    public static AnalysisResult of(AnalysisResult result, PromptContext ctx) {
        return ctx.formattedPrompt() == null ? result : new ChatResult(result, ctx.formattedPrompt());
    }

    public String formattedPrompt() { return formatted; }

    /** A section record of {@code ctx}'s prompt, with its formatted prompt when it is a chat. */
    public static Object section(Object record, PromptContext ctx) {
        return ctx.formattedPrompt() == null ? record : withFormatted(record, ctx.formattedPrompt());
    }

    @Override
    public Object document() { return withFormatted(result.document(), formatted); }

    @Override
    public String title() { return result.title(); }

    @Override
    public Map<String, Object> sections() {
        Map<String, Object> s = new LinkedHashMap<>();
        result.sections().forEach((k, v) -> s.put(k, withFormatted(v, formatted)));
        return s;
    }

    @Override
    public void print(PrintWriter out) {
        printFormatted(out);
        result.print(out);
    }

    @Override
    public void printFull(PrintWriter out) {
        printFormatted(out);
        result.printFull(out);
    }

    private void printFormatted(PrintWriter out) {
        out.printf("Chat prompt  %s%n", Text.quote(Text.elide(formatted, 240)));
    }

    /**
     * The record as a JSON object with {@code formatted_prompt} inserted after its prompt field
     * ({@code prompt}, or a steering's {@code source_prompt}); a record without one is left as it is.
     */
    static Object withFormatted(Object record, String formatted) {
        if (record == null) return null;
        JsonNode tree = JSON.valueToTree(record);
        if (!(tree instanceof ObjectNode obj)) return record;
        String after = obj.has("prompt") ? "prompt" : obj.has("source_prompt") ? "source_prompt" : null;
        if (after == null) return record;
        ObjectNode out = JSON.createObjectNode();
        for (var e : obj.properties()) {
            out.set(e.getKey(), e.getValue());
            if (e.getKey().equals(after)) out.put(FIELD, formatted);
        }
        return out;
    }
}
