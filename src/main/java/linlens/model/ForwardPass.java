package linlens.model;

import linlens.blas.Arith;
import linlens.blas.WeightGemm;
import linlens.format.ModelFormatException;

/**
 * The transformer's forward pass over a whole prompt, in fp64, for every family: the block as
 * stated in {@link Transformer}, step by step in that order. Each nonlinearity is computed as
 * A(x)·x and its factor A(x) is recorded in {@link Frozen}: this class is the one place where
 * the detach points are computed. Every buffer is row-major, one row per position.
 */
public final class ForwardPass {
    private final Transformer model;
    private final ModelConfig cfg;
    private final Family fam;
    private final WeightGemm<double[]> gemm = new WeightGemm<>(Arith.F64);
    private boolean keepActivations;
    private boolean logits = true;
    private Hook hook;

    /** Adds to the residual stream after a layer (steering); sees (layer, stream (n, d), n). */
    public interface Hook {
        void afterLayer(int layer, double[] h, int n);
    }

    public ForwardPass(Transformer model) {
        this.model = model;
        this.cfg = model.config();
        this.fam = model.family();
    }

    /** The final norm's frozen scales w ⊙ r(v) for one d-vector (a layer site's output norm). */
    public double[] finalNormScales(double[] v) {
        return rmsScales(v, 1, v.length, model.outputNorm());
    }

    /** Scaled input embeddings of the tokens, (n, d): the block's h before layer 0. */
    public double[] embed(int[] ids) {
        int d = cfg.dim();
        double scale = cfg.embedScale(fam);
        double[] x = new double[ids.length * d];  // (n, d) row-major, one row per position
        float[] row = new float[d];               // (d) one stored embedding row, decoded
        for (int t = 0; t < ids.length; t++) {
            if (ids[t] < 0 || ids[t] >= cfg.vocab())
                throw new ModelFormatException(model.source() + ": token id " + ids[t] + " is outside the embedding's "
                        + cfg.vocab() + " rows (the tokenizer and the weights disagree)");
            model.embedding().rowsToFloat(ids[t], 1, row, 0);
            for (int j = 0; j < d; j++) x[t * d + j] = row[j] * scale;
        }
        return x;
    }

    /**
     * Whether to compute the last position's logits (default true). The linear system needs only
     * y and the frozen factors; without logits the trace's {@code logits()} is null.
     */
    public ForwardPass logits(boolean compute) {
        this.logits = compute;
        return this;
    }

    /** Also keep the intermediates the ordinary (non-detached) Jacobian needs. */
    public ForwardPass keepActivations(boolean keep) {
        this.keepActivations = keep;
        return this;
    }

    /** Runs with a hook after every layer (null: none). The frozen factors then describe the hooked run. */
    public ForwardPass hook(Hook hook) {
        this.hook = hook;
        return this;
    }

    public ForwardTrace run(int[] ids) {
        return run(ids, embed(ids));
    }

    /** Runs the model on given input embeddings x (n, d); {@code ids} label the positions. */
    public ForwardTrace run(int[] ids, double[] x) {
        int n = ids.length, d = cfg.dim(), L = cfg.layers();
        // resid: L+1 × (n, d); attnOut, mlpOut: L × (n, d); all row-major, one row per position
        double[][] resid = new double[L + 1][], attnOut = new double[L][], mlpOut = new double[L][];
        Frozen.Layer[] frozen = new Frozen.Layer[L];
        ForwardTrace.Activations[] acts = keepActivations ? new ForwardTrace.Activations[L] : null;
        double[] h = x.clone();  // (n, d) residual stream, row-major, one row per position; updated in place
        try (WeightStream.Sweep ws = WeightStream.of(model).sweep(0, L - 1, WeightStream::matrices)) {
            for (int l = 0; l < L; l++) {
                ws.enter(l);
                resid[l] = h.clone();
                Transformer.Layer w = model.layers()[l];
                // the frozen norm scales w ⊙ 1/rms, (n, d) each; null where the family has no such norm
                double[] attnNormScale = null, postAttnScale = null, ffnNormScale = null, postFfnScale = null;

                // block step 1: a (n, d) = preAttnNorm(h)
                double[] a = h;
                if (w.attnNorm() != null) { attnNormScale = rmsScales(h, n, d, w.attnNorm()); a = scaled(h, attnNormScale); }
                double[][] probs = new double[cfg.heads()][];  // H × (n, n), filled by step 4
                double[][] qkv = keepActivations ? new double[5][] : null;  // {qRaw, kRaw, qRot, kRot, v}
                // block steps 2–5: o (n, d)
                double[] o = attention(l, w, a, n, probs, qkv);
                double[] attnRaw = o;
                // block step 6: h += postAttnNorm(o)
                if (w.postAttnNorm() != null) { postAttnScale = rmsScales(o, n, d, w.postAttnNorm()); o = scaled(o, postAttnScale); }
                attnOut[l] = o;
                for (int i = 0; i < h.length; i++) h[i] += o[i];

                double[] hMid = keepActivations ? h.clone() : null;  // (n, d)
                // block step 7: m (n, d) = preFfnNorm(h)
                double[] m = h;
                if (w.ffnNorm() != null) { ffnNormScale = rmsScales(h, n, d, w.ffnNorm()); m = scaled(h, ffnNormScale); }
                // block step 8: f = (act(m·Wgateᵀ) ⊙ m·Wupᵀ)·Wdownᵀ
                int F = cfg.ffnDim();
                double[] g = new double[n * F], u = new double[n * F];  // (n, F) gate and up projections
                gemm.xWt(m, 0, n, d, w.gate(), 0, F, g, 0, F, false);
                gemm.xWt(m, 0, n, d, w.up(), 0, F, u, 0, F, false);
                // (n, F) each: act(g), φ(g) with act(g) = g·φ(g), and act(g) ⊙ up
                double[] act = new double[n * F], factor = new double[n * F], z = new double[n * F];
                for (int i = 0; i < g.length; i++) {
                    factor[i] = fam.activation().factor(g[i]);
                    act[i] = g[i] * factor[i];
                    z[i] = act[i] * u[i];
                }
                double[] f = new double[n * d];  // (n, d)
                gemm.xWt(z, 0, n, F, w.down(), 0, d, f, 0, d, false);
                double[] mlpRaw = f;
                // block step 9: h += postFfnNorm(f)
                if (w.postFfnNorm() != null) { postFfnScale = rmsScales(f, n, d, w.postFfnNorm()); f = scaled(f, postFfnScale); }
                mlpOut[l] = f;
                for (int i = 0; i < h.length; i++) h[i] += f[i];
                frozen[l] = new Frozen.Layer(attnNormScale, probs, postAttnScale, ffnNormScale, act, factor, u, postFfnScale);
                if (keepActivations)
                    acts[l] = new ForwardTrace.Activations(attnRaw, hMid, mlpRaw, qkv[0], qkv[1], qkv[2], qkv[3], qkv[4], g);
                requireFinite(h, l);
                if (hook != null) {
                    hook.afterLayer(l, h, n);
                    if (firstNonFinite(h) >= 0)
                        throw new InputException("the steering made the residual stream non-finite at layer " + l
                                + ": use a smaller strength");
                }
            }
        }
        resid[L] = h.clone();
        // after the last block: y = finalNorm(h)[n−1]
        double[] finalScale = rmsScales(h, n, d, model.outputNorm());  // (n, d) frozen final-norm scales
        double[] y = new double[d];  // (d)
        for (int j = 0; j < d; j++) y[j] = h[(n - 1) * d + j] * finalScale[(n - 1) * d + j];
        return new ForwardTrace(ids, x, resid, attnOut, mlpOut, y, logits ? logits(y) : null, new Frozen(n, frozen, finalScale), acts);
    }

    /** logits = W_U · y, decoded tile by tile. */
    public double[] logits(double[] y) {
        double[] out = new double[cfg.vocab()];  // (vocab)
        gemm.xWt(y, 0, 1, cfg.dim(), model.output(), 0, cfg.vocab(), out, 0, cfg.vocab(), false);
        int bad = firstNonFinite(out);
        if (bad >= 0)
            throw new ModelFormatException(model.source() + ": model produced non-finite values in the logits ("
                    + out[bad] + " for token " + bad + "); the output weights or norms are corrupt");
        return out;
    }

    /**
     * Stops at a non-finite residual stream: corrupt weights or a corrupt norm epsilon would
     * otherwise turn every later number into NaN and the prediction into token -1. One pass over
     * n·d values per layer, next to the layer's O(n·d·F) work; the numbers are not touched.
     */
    private void requireFinite(double[] h, int layer) {
        int bad = firstNonFinite(h);
        if (bad >= 0)
            throw new ModelFormatException(model.source() + ": model produced non-finite values at layer " + layer
                    + " (" + h[bad] + "); the weights or norm epsilon are corrupt");
    }

    /** Index of the first NaN or infinity, or -1. */
    private static int firstNonFinite(double[] x) {
        // x - x is 0 for every finite x and NaN otherwise: one branch-free sum over the array.
        double probe = 0;
        for (double v : x) probe += v - v;
        if (probe == 0) return -1;
        for (int i = 0; i < x.length; i++) if (!Double.isFinite(x[i])) return i;
        return -1;
    }

    /** Per-position RMSNorm scales w_j / rms(x_p): the frozen diagonal of the norm. x and the result are (n, width). */
    double[] rmsScales(double[] x, int n, int width, double[] w) {
        double[] s = new double[n * width];  // (n, width), row p = w ⊙ 1/rms(x_p)
        for (int p = 0; p < n; p++) {
            double ss = 0;
            for (int j = 0; j < width; j++) { double v = x[p * width + j]; ss += v * v; }
            double r = 1.0 / Math.sqrt(ss / width + cfg.normEps());
            for (int j = 0; j < width; j++) s[p * width + j] = w[j] * r;
        }
        return s;
    }

    /** x ⊙ s, a new array of x's shape: a frozen norm's scales applied to (n, width) rows. */
    private static double[] scaled(double[] x, double[] s) {
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) y[i] = x[i] * s[i];
        return y;
    }

    /**
     * Block steps 2–5 on a = preAttnNorm(h), (n, d): grouped-query attention with causal (and
     * sliding-window) masking. Records the softmax probabilities per head in {@code probs} and, if
     * {@code qkv} is given, {q, k} before QK-norm/RoPE, {q, k} after, and v; returns the output
     * projection, (n, d).
     */
    private double[] attention(int l, Transformer.Layer w, double[] a, int n, double[][] probs, double[][] qkv) {
        int d = cfg.dim(), H = cfg.heads(), KV = cfg.kvHeads(), hd = cfg.headDim();
        int qd = H * hd, kvd = KV * hd;
        // step 2: q (n, H·hd), k and v (n, KV·hd); head h at columns h·hd..h·hd+hd of its position's row
        double[] q = new double[n * qd], k = new double[n * kvd], v = new double[n * kvd];
        gemm.xWt(a, 0, n, d, w.wq(), 0, qd, q, 0, qd, false);
        gemm.xWt(a, 0, n, d, w.wk(), 0, kvd, k, 0, kvd, false);
        gemm.xWt(a, 0, n, d, w.wv(), 0, kvd, v, 0, kvd, false);
        addBias(q, w.bq());
        addBias(k, w.bk());
        addBias(v, w.bv());
        if (qkv != null) { qkv[0] = q.clone(); qkv[1] = k.clone(); qkv[4] = v; }
        // step 3: QK-norm (per head: n·H rows of hd; FULL: n rows of H·hd), then RoPE, in place
        if (w.qNorm() != null) {
            boolean full = fam.qkNorm() == Family.QkNorm.FULL;
            headNorm(q, full ? n : n * H, full ? qd : hd, w.qNorm());
            headNorm(k, full ? n : n * KV, full ? kvd : hd, w.kNorm());
        }
        rope(q, n, H, l);
        rope(k, n, KV, l);
        if (qkv != null) { qkv[2] = q; qkv[3] = k; }
        // step 4: P_h = softmax(attnScale · q_h k_gᵀ) over keys lo..t; step 5: o_h = P_h v_g
        int window = cfg.windows()[l];
        double[] o = new double[n * qd];  // (n, H·hd) heads' outputs side by side, before W_O
        for (int h = 0; h < H; h++) {
            int g = h / (H / KV);
            double[] s = new double[n * n];  // (n, n) scores, then probabilities; row = query, column = key
            Arith.F64.gemm(false, true, n, n, hd, q, h * hd, qd, k, g * hd, kvd, false, s, 0, n);
            for (int t = 0; t < n; t++) {
                int lo = window > 0 ? Math.max(0, t - window + 1) : 0;
                double max = Double.NEGATIVE_INFINITY;
                for (int j = lo; j <= t; j++) max = Math.max(max, s[t * n + j] *= cfg.attnScale());
                double sum = 0;
                for (int j = 0; j < n; j++) {
                    double e = (j >= lo && j <= t) ? Math.exp(s[t * n + j] - max) : 0.0;
                    s[t * n + j] = e;
                    sum += e;
                }
                for (int j = lo; j <= t; j++) s[t * n + j] /= sum;
            }
            probs[h] = s;
            Arith.F64.gemm(false, false, n, hd, n, s, 0, n, v, g * hd, kvd, false, o, h * hd, qd);
        }
        double[] out = new double[n * d];  // (n, d)
        gemm.xWt(o, 0, n, qd, w.wo(), 0, d, out, 0, d, false);
        addBias(out, w.bo());
        return out;
    }

    /** Adds a bias (one value per feature, (width)) to every row of x (rows, width); nothing when there is none. */
    private static void addBias(double[] x, double[] b) {
        if (b == null) return;
        for (int i = 0; i < x.length; i++) x[i] += b[i % b.length];
    }

    /** RMSNorm over each of {@code rows} consecutive vectors of size {@code width}, in place. */
    private void headNorm(double[] x, int rows, int width, double[] w) {
        double[] s = rmsScales(x, rows, width, w);
        for (int i = 0; i < x.length; i++) x[i] *= s[i];
    }

    /** Rotary position embedding at positions 0..n-1, in place, on x (n, heads·hd). */
    private void rope(double[] x, int n, int heads, int layer) {
        double[] inv = cfg.invFreq(layer, n);
        for (int t = 0; t < n; t++)
            for (int h = 0; h < heads; h++)
                Rope.rotate(x, (t * heads + h) * cfg.headDim(), t, inv, cfg.ropeAttnFactor(), cfg.rope(), false);
    }

}
