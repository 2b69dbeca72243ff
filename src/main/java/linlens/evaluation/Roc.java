package linlens.evaluation;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Separation of two labelled score sets: the area under the ROC curve (the probability that a
 * positive outscores a negative, ties counted half: the Mann-Whitney statistic), the true-positive
 * rate at a false-positive rate, and percentile bootstrap intervals of both.
 */
public final class Roc {
    private Roc() {}

    /** AUROC of scores with labels (true: positive). NaN when a class is empty. */
    public static double auroc(double[] scores, boolean[] positive) {
        int n = scores.length;
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) order[i] = i;
        Arrays.sort(order, (a, b) -> Double.compare(scores[a], scores[b]));
        double rankSumPos = 0;
        long pos = 0;
        for (int i = 0; i < n; ) {
            int j = i;
            while (j + 1 < n && scores[order[j + 1]] == scores[order[i]]) j++;
            double midRank = (i + j) / 2.0 + 1;  // ties share their mean rank
            for (int t = i; t <= j; t++) if (positive[order[t]]) { rankSumPos += midRank; pos++; }
            i = j + 1;
        }
        long neg = n - pos;
        if (pos == 0 || neg == 0) return Double.NaN;
        return (rankSumPos - pos * (pos + 1) / 2.0) / ((double) pos * neg);
    }

    /**
     * The share of positives scoring above the threshold that lets at most {@code fpr} of the
     * negatives through (the highest negatives' score: strictly above it counts).
     */
    public static double tprAtFpr(double[] scores, boolean[] positive, double fpr) {
        double[] neg = Arrays.stream(indices(positive, false)).mapToDouble(i -> scores[i]).sorted().toArray();
        int[] pos = indices(positive, true);
        if (neg.length == 0 || pos.length == 0) return Double.NaN;
        int allowed = (int) Math.floor(fpr * neg.length);
        double threshold = neg[neg.length - 1 - allowed];
        int above = 0;
        for (int i : pos) if (scores[i] > threshold) above++;
        return above / (double) pos.length;
    }

    /**
     * The ROC curve: (false-positive rate, true-positive rate) at every distinct score taken as
     * the threshold, from (0, 0) to (1, 1); tied scores move both rates in one step, so the
     * area under the points is {@link #auroc}. Empty when a class is empty.
     */
    public static double[][] curve(double[] scores, boolean[] positive) {
        int n = scores.length;
        long pos = 0;
        for (boolean b : positive) if (b) pos++;
        long neg = n - pos;
        if (pos == 0 || neg == 0) return new double[0][];
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) order[i] = i;
        Arrays.sort(order, (a, b) -> Double.compare(scores[b], scores[a]));  // highest first
        java.util.List<double[]> points = new java.util.ArrayList<>();
        points.add(new double[]{0, 0});
        long tp = 0, fp = 0;
        for (int i = 0; i < n; ) {
            int j = i;
            while (j + 1 < n && scores[order[j + 1]] == scores[order[i]]) j++;
            for (int t = i; t <= j; t++) if (positive[order[t]]) tp++; else fp++;
            points.add(new double[]{fp / (double) neg, tp / (double) pos});
            i = j + 1;
        }
        return points.toArray(double[][]::new);
    }

    private static int[] indices(boolean[] positive, boolean which) {
        return java.util.stream.IntStream.range(0, positive.length).filter(i -> positive[i] == which).toArray();
    }

    /** A value with its 95 % percentile bootstrap interval. */
    public record Interval(double value, double low, double high) {
        @Override public String toString() { return String.format("%.3f [%.3f, %.3f]", value, low, high); }
    }

    /** A statistic of (scores, labels). */
    public interface Statistic {
        double of(double[] scores, boolean[] positive);
    }

    /** The statistic and its 95 % interval over {@code resamples} resamples of the items (stratified: each class resampled by itself). */
    public static Interval bootstrap(double[] scores, boolean[] positive, Statistic stat, int resamples, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        int[] pos = indices(positive, true), neg = indices(positive, false);
        double[] values = new double[resamples];
        double[] s = new double[scores.length];
        boolean[] l = new boolean[scores.length];
        for (int r = 0; r < resamples; r++) {
            int k = 0;
            for (int i = 0; i < pos.length; i++, k++) { s[k] = scores[pos[rnd.nextInt(pos.length)]]; l[k] = true; }
            for (int i = 0; i < neg.length; i++, k++) { s[k] = scores[neg[rnd.nextInt(neg.length)]]; l[k] = false; }
            values[r] = stat.of(s, l);
        }
        Arrays.sort(values);
        return new Interval(stat.of(scores, positive), values[(int) Math.floor(0.025 * (resamples - 1))],
                values[(int) Math.ceil(0.975 * (resamples - 1))]);
    }

    /** The mean and its 95 % bootstrap interval. */
    public static Interval mean(double[] values, int resamples, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        double[] means = new double[resamples];
        for (int r = 0; r < resamples; r++) {
            double sum = 0;
            for (int i = 0; i < values.length; i++) sum += values[rnd.nextInt(values.length)];
            means[r] = sum / values.length;
        }
        Arrays.sort(means);
        return new Interval(Arrays.stream(values).average().orElse(Double.NaN), means[(int) Math.floor(0.025 * (resamples - 1))],
                means[(int) Math.ceil(0.975 * (resamples - 1))]);
    }
}
