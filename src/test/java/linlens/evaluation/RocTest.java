package linlens.evaluation;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/** AUROC by ranks against the definition (every positive-negative pair, ties half), TPR at a FPR, intervals. */
class RocTest {
    @Test
    void aurocIsThePairwiseProbabilityTiesCountingHalf() {
        SplittableRandom rnd = new SplittableRandom(3);
        for (int trial = 0; trial < 50; trial++) {
            int n = 5 + rnd.nextInt(60);
            double[] s = new double[n];
            boolean[] l = new boolean[n];
            for (int i = 0; i < n; i++) {
                s[i] = rnd.nextInt(8);  // many ties
                l[i] = rnd.nextBoolean();
            }
            double wins = 0;
            long pairs = 0;
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++)
                    if (l[i] && !l[j]) {
                        pairs++;
                        wins += s[i] > s[j] ? 1 : s[i] == s[j] ? 0.5 : 0;
                    }
            double expected = pairs == 0 ? Double.NaN : wins / pairs;
            assertEquals(expected, Roc.auroc(s, l), 1e-12, "trial " + trial);
        }
        assertEquals(1.0, Roc.auroc(new double[]{3, 4, 1, 2}, new boolean[]{true, true, false, false}));
        assertEquals(0.0, Roc.auroc(new double[]{1, 2, 3, 4}, new boolean[]{true, true, false, false}));
        assertTrue(Double.isNaN(Roc.auroc(new double[]{1, 2}, new boolean[]{true, true})));
    }

    @Test
    void truePositiveRateAtAFalsePositiveRate() {
        // 100 negatives 0..99, positives at 50.5, 98.5, 99.5, 200: at 1 % FPR the threshold is 98 (one negative, 99, passes)
        double[] s = new double[104];
        boolean[] l = new boolean[104];
        for (int i = 0; i < 100; i++) s[i] = i;
        double[] pos = {50.5, 98.5, 99.5, 200};
        for (int i = 0; i < 4; i++) { s[100 + i] = pos[i]; l[100 + i] = true; }
        assertEquals(0.75, Roc.tprAtFpr(s, l, 0.01), 1e-12);
        assertEquals(0.5, Roc.tprAtFpr(s, l, 0.0), 1e-12);  // above every negative: 99.5 and 200
    }

    @Test
    void intervalsContainTheValueAndAreSeeded() {
        SplittableRandom rnd = new SplittableRandom(7);
        double[] s = new double[200];
        boolean[] l = new boolean[200];
        for (int i = 0; i < 200; i++) { l[i] = i % 2 == 0; s[i] = rnd.nextGaussian() + (l[i] ? 1 : 0); }
        var a = Roc.bootstrap(s, l, Roc::auroc, 500, 1);
        assertTrue(a.low() <= a.value() && a.value() <= a.high(), a.toString());
        assertTrue(a.value() > 0.7 && a.value() < 0.9, a.toString());
        assertEquals(a, Roc.bootstrap(s, l, Roc::auroc, 500, 1));
        var m = Roc.mean(new double[]{1, 0, 1, 1}, 500, 1);
        assertEquals(0.75, m.value(), 1e-12);
        assertTrue(m.low() >= 0 && m.high() <= 1);
    }

    @Test
    void stereoSetFillersComeFromTheContext() {
        assertEquals("asian", ConceptEvaluation.filler("The chess player was asian.", "The chess player was ", "."));
        assertEquals("very old", ConceptEvaluation.filler("He is very old today", "He is ", " today"));
        assertNull(ConceptEvaluation.filler("Something else.", "The chess player was ", "."));
        assertNull(ConceptEvaluation.filler("The chess player was .", "The chess player was ", "."));
    }
}
