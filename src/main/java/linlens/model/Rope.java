package linlens.model;

/** Rotary position embedding of one head vector; the transpose undoes it (for backpropagation). */
public final class Rope {
    private Rope() {}

    /**
     * Rotates the head vector at {@code x[base..base+headDim)} for position {@code pos}: pairs
     * (i, i+half) for NEOX, (2i, 2i+1) for INTERLEAVED, angle pos·invFreq[i], i < rotaryDim/2,
     * times {@code scale} (longrope's attention factor; 1 otherwise).
     */
    public static void rotate(double[] x, int base, int pos, double[] invFreq, double scale, Family.RopeStyle style,
                              boolean transpose) {
        int half = invFreq.length;
        for (int i = 0; i < half; i++) {
            double ang = pos * invFreq[i], c = Math.cos(ang) * scale;
            double s = (transpose ? -Math.sin(ang) : Math.sin(ang)) * scale;
            int i0 = style == Family.RopeStyle.NEOX ? base + i : base + 2 * i;
            int i1 = style == Family.RopeStyle.NEOX ? base + i + half : base + 2 * i + 1;
            double a = x[i0], b = x[i1];
            x[i0] = a * c - b * s;
            x[i1] = a * s + b * c;
        }
    }
}
