package linlens.serve;

import linlens.analysis.Analysis;
import linlens.analysis.AnalysisResult;
import linlens.analysis.ArraySink;
import linlens.analysis.ChatResult;
import linlens.analysis.Figures;
import linlens.analysis.OptionException;
import linlens.analysis.ParamSpec;
import linlens.analysis.PromptContext;
import linlens.format.ModelFormatException;
import linlens.model.InputException;
import linlens.model.Progress;
import linlens.model.Prompts;
import linlens.model.Transformer;
import linlens.report.NpzArrays;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * Runs jobs one at a time on a worker thread, in submission order. At most {@code maxQueued}
 * jobs wait behind the running one; beyond that a submission is refused (HTTP 409). Finished
 * jobs are kept for their downloads, the most recent {@link #KEPT} of them.
 */
final class JobQueue implements AutoCloseable {
    static final int KEPT = 8;

    private final ServedModels models;
    private final int maxQueued, maxTokens;
    private final Consumer<String> log;
    private final Deque<Job> waiting = new ArrayDeque<>();
    private final Map<String, Job> jobs = new LinkedHashMap<>();
    private final AtomicLong ids = new AtomicLong();
    private final Work work;
    private final Thread worker;
    private Job running;

    /** What the worker does with a job (tests stand in for the model). */
    interface Work { void run(JobQueue queue, Job job) throws Exception; }

    JobQueue(ServedModels models, int maxQueued, int maxTokens, Consumer<String> log) {
        this(models, maxQueued, maxTokens, log, JobQueue::run);
    }

    JobQueue(ServedModels models, int maxQueued, int maxTokens, Consumer<String> log, Work work) {
        this.models = models;
        this.maxQueued = maxQueued;
        this.maxTokens = maxTokens;
        this.log = log;
        this.work = work;
        worker = Thread.ofPlatform().name("linlens-jobs").daemon().start(this::work);
    }

    /**
     * Admits a job when fewer than 1 + maxQueued are admitted and unfinished. The check counts the
     * waiting jobs too, and runs under the same lock as the admission, so that simultaneous
     * submissions cannot all pass it before the worker has picked any of them up.
     */
    synchronized Job submit(String model, List<String> prompts, Analysis<?> analysis, Record options) {
        return submit(model, prompts, analysis, options, null);
    }

    /** As above, each prompt put in the model's chat template when {@code chat} is not null. */
    synchronized Job submit(String model, List<String> prompts, Analysis<?> analysis, Record options, Prompts.Chat chat) {
        int admitted = (running != null ? 1 : 0) + waiting.size();
        if (admitted >= 1 + maxQueued) {
            Job first = running != null ? running : waiting.peekFirst();
            throw new ApiException(409, "busy: job " + first.id + " is " + (running != null ? "running" : "about to run")
                    + (admitted > 1 ? " and " + (admitted - 1) + " more are waiting" : "") + "; wait for it or cancel it");
        }
        Job job = new Job(Long.toString(ids.incrementAndGet()), model, prompts, analysis, options, chat);
        jobs.put(job.id, job);
        waiting.add(job);
        forgetOld();
        notifyAll();
        return job;
    }

    synchronized Job get(String id) {
        Job j = jobs.get(id);
        if (j == null) throw new ApiException(404, "no job " + id);
        return j;
    }

    /** 0 for the running or a finished job, else its place in the line (1 = next). */
    synchronized int queuePosition(Job job) {
        int i = 1;
        for (Job j : waiting) { if (j == job) return i; i++; }
        return 0;
    }

    /** Cancels a waiting job at once, a running one at its next progress report. */
    synchronized Job cancel(String id) {
        Job j = get(id);
        if (waiting.remove(j)) {
            j.state = Job.State.CANCELLED;
            j.stage = "cancelled";
        } else if (!j.finished()) {
            j.cancelRequested = true;
        }
        return j;
    }

    private void forgetOld() {
        var it = jobs.values().iterator();
        while (jobs.size() > KEPT && it.hasNext()) {
            Job j = it.next();
            if (j.finished()) it.remove();
            else break;
        }
    }

    /**
     * The worker: one job after another. Whatever a job throws (a corrupt model file, a bug, an
     * OutOfMemoryError or StackOverflowError) ends that job as failed with one line, and the
     * worker goes on to the next one.
     */
    private void work() {
        while (true) {
            Job job;
            synchronized (this) {
                while (waiting.isEmpty()) {
                    try { wait(); } catch (InterruptedException e) { return; }
                }
                job = waiting.poll();
                running = job;
                job.state = Job.State.RUNNING;
            }
            Job.State end = Job.State.FAILED;
            String error = null;
            try {
                work.run(this, job);
                end = Job.State.DONE;
            } catch (CancellationException e) {
                end = Job.State.CANCELLED;
            } catch (OptionException e) {
                error = oneLine(e.render(OptionException.API));
            } catch (InputException | ModelFormatException | ApiException e) {
                error = oneLine(e.getMessage());
            } catch (OutOfMemoryError e) {
                error = "out of memory: try a shorter prompt, or give the server more memory (LINLENS_JAVA_OPTS)";
                note("job " + job.id + " failed: out of memory");
            } catch (StackOverflowError e) {
                error = "internal error: stack overflow (details in the server's log)";
                note("job " + job.id + " failed: stack overflow");
            } catch (Throwable e) {
                error = "internal error: " + e.getClass().getSimpleName() + " (details in the server's log)";
                note("job " + job.id + " failed: " + oneLine(String.valueOf(e)));
            } finally {
                finish(job, end, error);
            }
            if (Thread.currentThread().isInterrupted()) return;
        }
    }

    /** Ends the job and frees the worker in one step, so a submission never sees a finished job as running. */
    private synchronized void finish(Job job, Job.State end, String error) {
        job.error = error;
        job.stage = end.name().toLowerCase();
        job.state = end;
        running = null;
    }

    /** A line for the server's log; a failing log never stops the worker. */
    private void note(String line) {
        try {
            log.accept(line);
        } catch (RuntimeException ignored) {
            // nothing else to tell it to
        }
    }

    static String oneLine(String message) {
        String s = message == null ? "" : message.strip().replaceAll("\\s*\\R\\s*", " ");
        return s.isEmpty() ? "failed" : s;
    }

    private void run(Job job) throws java.io.IOException {
        Progress progress = (stage, done, total) -> {
            if (job.cancelRequested) throw new CancellationException();
            job.stage = stage;
            job.done = done;
            job.total = total;
        };
        progress.update("loading model", 0, 1);
        long t0 = System.nanoTime();
        Transformer m = models.load(job.model);
        double loadMs = (System.nanoTime() - t0) / 1e6;
        progress.update("loading model", 1, 1);
        ParamSpec.checkAgainst(job.options, m);
        boolean arrays = job.analysis.noArraysUnchecked(job.options) == null;
        for (int i = 0; i < job.results.size(); i++) {
            job.current = i;
            String prompt = job.results.get(i).prompt;
            Prompts.Formatted formatted = job.chat == null ? null : Prompts.chat(m, prompt, job.chat);
            int[] ids = formatted == null ? Prompts.encode(m, prompt) : formatted.ids();
            if (ids.length > maxTokens)
                throw new InputException("prompt too long: " + ids.length + " tokens, this server takes at most " + maxTokens
                        + " (its --max-tokens)");
            job.analysis.checkPromptUnchecked(m, ids, job.options);
            progress.update("forward pass", 0, 1);
            PromptContext ctx = PromptContext.of(m, prompt, formatted == null ? null : formatted.text(), ids, loadMs);
            job.publish(i, Map.of("forward", ChatResult.section(Figures.Forward.of(ctx), ctx)));
            NpzArrays npz = arrays ? new NpzArrays() : null;
            AnalysisResult result = ChatResult.of(job.analysis.runUnchecked(ctx, job.options, progress, npz == null ? ArraySink.NONE : npz), ctx);
            Job.PromptResult r = job.results.get(i);
            r.arrays = npz == null ? null : npz.bytes();
            r.result = result;
            job.publish(i, result.sections());
        }
    }

    @Override
    public void close() {
        synchronized (this) {
            if (running != null) running.cancelRequested = true;
        }
        worker.interrupt();
    }
}
