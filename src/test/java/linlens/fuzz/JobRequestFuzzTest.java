package linlens.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import linlens.analysis.Decomposition;
import linlens.serve.ApiException;
import linlens.serve.JobRequest;

/**
 * The app's request parsing: any bytes as the body of {@code POST /api/jobs} through
 * {@link JobRequest#parse}. The contract is the API's: a request either parses into values inside
 * the documented ranges, or is refused with an {@link ApiException} whose status is a 4xx (the
 * server answers it as a JSON error); anything else is a finding. Seeds: a minimal and a full
 * request, two prompts, and a few refused ones.
 */
class JobRequestFuzzTest {
    @FuzzTest(maxDuration = "30s")
    void jobRequest(byte[] body) {
        JobRequest r;
        try {
            r = JobRequest.parse(body);
        } catch (ApiException refused) {
            if (refused.status() < 400 || refused.status() > 499)
                throw new AssertionError("a request was refused with status " + refused.status() + ": " + refused.getMessage());
            if (refused.getMessage() == null || refused.getMessage().isBlank() || refused.getMessage().contains("\n"))
                throw new AssertionError("a refusal is not one line: " + refused.getMessage());
            return;
        }
        if (r.model() == null || r.model().isEmpty()) throw new AssertionError("parsed without a model");
        if (r.prompts().isEmpty() || r.prompts().size() > JobRequest.MAX_PROMPTS) throw new AssertionError("prompt count " + r.prompts().size());
        for (String p : r.prompts())
            if (p.isBlank() || p.length() > JobRequest.MAX_PROMPT_CHARS) throw new AssertionError("prompt of " + p.length() + " chars accepted");
        if (r.analysisType() == null || !r.analysisType().optionsType().isInstance(r.options()))
            throw new AssertionError("parsed without the options of analysis " + r.analysis());
        // the seeds are decompose requests; another analysis's options are checked by its own ParamSpec bounds
        if (r.options() instanceof Decomposition.Options o) {
            if (o.components() < 1 || o.components() > JobRequest.MAX_COMPONENTS) throw new AssertionError("components " + o.components());
            if (o.top() < 1 || o.top() > JobRequest.MAX_TOP) throw new AssertionError("top " + o.top());
            if (o.precision() == null || o.mlpPath() == null) throw new AssertionError("parsed without precision or MLP path");
        }
    }
}
