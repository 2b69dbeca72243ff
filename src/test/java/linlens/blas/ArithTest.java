package linlens.blas;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The streaming loops of {@link Arith} against plain loops written here, at unrelated offsets:
 * each does one IEEE operation per value in a fixed order, so they agree bit for bit.
 */
class ArithTest {
    private static final int ROWS = 5, COLS = 37, OFF = 3;

    @Test
    void fp32RowOperationsMatchPlainLoopsBitForBit() {
        Random r = new Random(3);
        float[] src = rnd(r, OFF + ROWS * COLS), dst0 = rnd(r, 2 * OFF + ROWS * COLS), s = rnd(r, OFF + COLS), rs = rnd(r, OFF + ROWS);

        float[] got = dst0.clone(), want = dst0.clone();
        Arith.F32.copyScaleRows(src, OFF, got, 2 * OFF, ROWS, COLS, s, OFF);
        for (int i = 0; i < ROWS; i++) for (int j = 0; j < COLS; j++) want[2 * OFF + i * COLS + j] = src[OFF + i * COLS + j] * s[OFF + j];
        assertArrayEquals(want, got);

        got = dst0.clone(); want = dst0.clone();
        Arith.F32.copyScaleRowsCols(src, OFF, got, 2 * OFF, ROWS, COLS, rs, OFF, s, OFF);
        for (int i = 0; i < ROWS; i++)
            for (int j = 0; j < COLS; j++) want[2 * OFF + i * COLS + j] = src[OFF + i * COLS + j] * rs[OFF + i] * s[OFF + j];
        assertArrayEquals(want, got);

        got = dst0.clone(); want = dst0.clone();
        Arith.F32.addScaledRows(got, 2 * OFF, src, OFF, ROWS, COLS, s, OFF);
        for (int i = 0; i < ROWS; i++) for (int j = 0; j < COLS; j++) want[2 * OFF + i * COLS + j] += src[OFF + i * COLS + j] * s[OFF + j];
        assertArrayEquals(want, got);

        got = dst0.clone(); want = dst0.clone();
        Arith.F32.scaleRows(got, OFF, ROWS, COLS, s, OFF);
        for (int i = 0; i < ROWS; i++) for (int j = 0; j < COLS; j++) want[OFF + i * COLS + j] *= s[OFF + j];
        assertArrayEquals(want, got);

        got = dst0.clone(); want = dst0.clone();
        Arith.F32.addRows(got, OFF, ROWS, COLS, s, OFF);
        for (int i = 0; i < ROWS; i++) for (int j = 0; j < COLS; j++) want[OFF + i * COLS + j] += s[OFF + j];
        assertArrayEquals(want, got);

        int n = ROWS * COLS;
        got = dst0.clone(); want = dst0.clone();
        Arith.F32.axpy(-0.75, src, OFF, got, 2 * OFF, n);
        for (int i = 0; i < n; i++) want[2 * OFF + i] += -0.75f * src[OFF + i];
        assertArrayEquals(want, got);

        got = dst0.clone(); want = dst0.clone();
        Arith.F32.add(got, 1, src, OFF, n);
        for (int i = 0; i < n; i++) want[1 + i] += src[OFF + i];
        assertArrayEquals(want, got);

        got = dst0.clone(); want = dst0.clone();
        Arith.F32.mul(got, 2, src, OFF, n);
        for (int i = 0; i < n; i++) want[2 + i] *= src[OFF + i];
        assertArrayEquals(want, got);
    }

    @Test
    void fp64RowAndColumnScaling() {
        Random r = new Random(4);
        double[] src = new double[ROWS * COLS], rs = new double[ROWS], cs = new double[COLS];
        for (int i = 0; i < src.length; i++) src[i] = r.nextGaussian();
        for (int i = 0; i < ROWS; i++) rs[i] = r.nextGaussian();
        for (int j = 0; j < COLS; j++) cs[j] = r.nextGaussian();
        double[] got = new double[src.length];
        Arith.F64.copyScaleRowsCols(src, 0, got, 0, ROWS, COLS, rs, 0, cs, 0);
        for (int i = 0; i < ROWS; i++)
            for (int j = 0; j < COLS; j++) assertEquals(src[i * COLS + j] * rs[i] * cs[j], got[i * COLS + j], 0.0);
        Arith.F64.copyScaleRowsCols(src, 0, got, 0, ROWS, COLS, null, 0, cs, 0);
        for (int i = 0; i < ROWS; i++)
            for (int j = 0; j < COLS; j++) assertEquals(src[i * COLS + j] * cs[j], got[i * COLS + j], 0.0);
    }

    private static float[] rnd(Random r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) r.nextGaussian();
        return a;
    }
}
