package linlens.serve;

import linlens.analysis.Decomposition;
import linlens.format.ModelFormatException;
import linlens.model.ForwardTrace;
import linlens.model.InputException;
import linlens.model.Progress;
import linlens.model.Prompts;
import linlens.model.Transformer;
import linlens.report.Figures;

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
    private final Thread worker;
    private Job running;

    JobQueue(ServedModels models, int maxQueued, int maxTokens, Consumer<String> log) {
        this.models = models;
        this.maxQueued = maxQueued;
        this.maxTokens = maxTokens;
        this.log = log;
        worker = Thread.ofPlatform().name("linlens-jobs").daemon().start(this::work);
    }

    synchronized Job submit(String model, List<String> prompts, Decomposition.Options options) {
        if (running != null && waiting.size() >= maxQueued)
            throw new ApiException(409, "busy: job " + running.id + " is running"
                    + (maxQueued > 0 ? " and " + waiting.size() + " are waiting" : "") + "; wait for it or cancel it");
        Job job = new Job(Long.toString(ids.incrementAndGet()), model, prompts, options);
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
            try {
                run(job);
                job.stage = "done";
                job.state = Job.State.DONE;
            } catch (CancellationException e) {
                job.stage = "cancelled";
                job.state = Job.State.CANCELLED;
            } catch (InputException | ModelFormatException | ApiException e) {
                fail(job, e.getMessage());
            } catch (OutOfMemoryError e) {
                fail(job, "out of memory: try a shorter prompt, or give the server more memory (LINLENS_JAVA_OPTS)");
            } catch (RuntimeException e) {
                fail(job, "error: " + e);
                log.accept("job " + job.id + " failed: " + e);
            } finally {
                synchronized (this) { running = null; }
            }
        }
    }

    private static void fail(Job job, String message) {
        job.error = message;
        job.stage = "failed";
        job.state = Job.State.FAILED;
    }

    private void run(Job job) {
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
        for (int i = 0; i < job.results.size(); i++) {
            job.current = i;
            String prompt = job.results.get(i).prompt;
            int[] ids = Prompts.encode(m, prompt);
            if (ids.length > maxTokens)
                throw new InputException("prompt too long: " + ids.length + " tokens, this server takes at most " + maxTokens
                        + " (its --max-tokens)");
            progress.update("forward pass", 0, 1);
            Map<String, Double> times = new LinkedHashMap<>();
            times.put("load", loadMs);
            ForwardTrace tr = Decomposition.forward(m, ids, times);
            job.publish(i, Map.of("forward", new Figures.Forward(Decomposition.info(m), prompt,
                    Decomposition.tokens(m, ids), Decomposition.predict(m, tr, 5))));
            var detail = Decomposition.run(m, prompt, tr, job.options, times, progress);
            job.results.get(i).detail = detail;
            job.publish(i, Figures.sections(detail));
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
