package linlens.linear;

import linlens.blas.Arith;
import linlens.blas.WeightGemm;
import linlens.model.Family;
import linlens.model.ForwardTrace;
import linlens.model.ModelConfig;
import linlens.model.Rope;
import linlens.model.Transformer;
import linlens.model.WeightStream;

/**
 * The ordinary Jacobian of y w.r.t. the input embeddings: true backpropagation, nothing frozen,
 * through the norms (1/rms), QK-norm, RoPE'd queries and keys, the softmax and the gate
 * activation. It is the paper's contrast (figure 3): Σ_i J_i x_i does NOT reproduce y. fp64,
 * batched over k cotangents with the same position-major layout as {@link DetachedSystem}:
 * (n, k, width) for the stream, (heads, n, k, hd) per head. Each layer backpropagates the block
 * as stated in {@link Transformer}, its steps in reverse ("block step N" below), reading the
 * forward pass's intermediates from {@link ForwardTrace.Activations}.
 */
public final class OrdinaryJacobian {
    private final Transformer model;
    private final ModelConfig cfg;
    private final ForwardTrace tr;
    private final WeightGemm<double[]> gemm = new WeightGemm<>(Arith.F64);
    private final int n, d, F, H, KV, hd, L;

    public OrdinaryJacobian(Transformer model, ForwardTrace trace) {
        if (trace.activations() == null)
            throw new IllegalArgumentException("the ordinary Jacobian needs a forward trace with activations kept");
        this.model = model;
        this.cfg = model.config();
        this.tr = trace;
        this.n = trace.n();
        this.d = cfg.dim();
        this.F = cfg.ffnDim();
        this.H = cfg.heads();
        this.KV = cfg.kvHeads();
        this.hd = cfg.headDim();
        this.L = cfg.layers();
    }

    /** All J_i, (n, d, d), by reverse sweeps over blocks of output features sized to {@code budgetBytes} of work memory. */
    public double[] jacobian(long budgetBytes) {
        long total = (long) n * d * d;
        if (total > Integer.MAX_VALUE) throw new IllegalArgumentException("the ordinary Jacobian is too large to materialize");
        double[] jac = new double[(int) total];  // (n, d, d): J[t] row = output feature
        int block = SweepMemory.vectorsPerSweep(budgetBytes, SweepMemory.ordinaryBytesPerVector(cfg, n), d);
        for (int c0 = 0; c0 < d; c0 += block) {
            int k = Math.min(block, d - c0);
            double[] u = new double[k * d];  // (k, d) cotangents: rows c0..c0+k of the identity
            for (int c = 0; c < k; c++) u[c * d + c0 + c] = 1.0;
            double[] g = vjp(u, k);
            for (int t = 0; t < n; t++) System.arraycopy(g, t * k * d, jac, t * d * d + c0 * d, k * d);
        }
        return jac;
    }

    /** Jᵀ·U for k cotangents on y: (n, k, d) position-major, like {@link DetachedSystem#vjp}. */
    public double[] vjp(double[] u, int k) {
        double[] g = new double[n * k * d];  // (n, k, d) gradient on the residual stream, position-major
        int T = n - 1;
        System.arraycopy(u, 0, g, T * k * d, k * d);
        // after the last block: y = finalNorm(h)[n−1]
        rmsBack(g, T, T + 1, k, d, tr.resid()[L], d, model.outputNorm());
        try (WeightStream.Sweep ws = WeightStream.of(model).sweep(L - 1, 0, WeightStream::matrices)) {
            for (int l = L - 1; l >= 0; l--) {
                ws.enter(l);
                backLayer(l, g, k);
            }
        }
        return g;
    }

    /** Layer l's input gradient, in place in g (n, k, d), from its output gradient: block steps 9 to 1. */
    private void backLayer(int l, double[] g, int k) {
        Transformer.Layer w = model.layers()[l];
        ForwardTrace.Activations act = tr.activations()[l];
        var fz = tr.frozen().layers()[l];
        int rows = n * k;
        // MLP: h += post(down(act(gate(m)) ⊙ up(m))), m = pre(h)
        // block step 9: b (n, k, d) = (∂postFfnNorm)ᵀ g
        double[] b = g.clone();
        if (w.postFfnNorm() != null) rmsBack(b, 0, n, k, d, act.mlpRaw(), d, w.postFfnNorm());
        // block step 8: z (n, k, F) = b·W_down, then through act(gate) ⊙ up by the product rule
        double[] z = new double[rows * F];
        gemm.xW(b, 0, rows, d, w.down(), 0, d, 0, F, z, 0, F, false);
        double[] gu = new double[rows * F], gg = new double[rows * F];  // (n, k, F) gradients on up(m) and gate(m)
        Family.Activation fn = model.family().activation();
        for (int t = 0; t < n; t++)
            for (int f = 0; f < F; f++) {
                double a = fz.gateAct()[t * F + f], up = fz.up()[t * F + f], dAct = fn.derivative(act.gate()[t * F + f]);
                for (int c = 0; c < k; c++) {
                    int i = (t * k + c) * F + f;
                    gu[i] = z[i] * a;
                    gg[i] = z[i] * up * dAct;
                }
            }
        gemm.xW(gu, 0, rows, F, w.up(), 0, F, 0, d, b, 0, d, false);
        gemm.xW(gg, 0, rows, F, w.gate(), 0, F, 0, d, b, 0, d, true);
        // block step 7, and the residual of step 9: g += (∂preFfnNorm)ᵀ b
        if (w.ffnNorm() != null) rmsBack(b, 0, n, k, d, act.hMid(), d, w.ffnNorm());
        for (int i = 0; i < g.length; i++) g[i] += b[i];

        // attention: h += post(W_O · concat_h softmax(q_h k_gᵀ·s) v_g), q, k through QK-norm and RoPE
        // block step 6: b (n, k, d) = (∂postAttnNorm)ᵀ g
        b = g.clone();
        if (w.postAttnNorm() != null) rmsBack(b, 0, n, k, d, act.attnRaw(), d, w.postAttnNorm());
        int qd = H * hd, kvd = KV * hd, headBlock = rows * hd;  // headBlock: one head's (n, k, hd)
        // go, gq: (H, n, k, hd) head-major, gradients on each head's output and query
        double[] go = new double[H * headBlock], gq = new double[H * headBlock];
        // gk, gv: (KV, n, k, hd) gradients on each group's key and value; gs: (n·k, n) one head's score gradients
        double[] gk = new double[KV * headBlock], gv = new double[KV * headBlock], gs = new double[rows * n];
        double scale = cfg.attnScale();
        for (int h = 0; h < H; h++) {
            int grp = h / (H / KV), ho = h * headBlock, go0 = grp * headBlock;
            double[] p = fz.probs()[h];  // (n, n) P_h, row = query position
            // block step 5: G_o,h = b·W_O[:, h·hd..h·hd+hd]
            gemm.xW(b, 0, rows, d, w.wo(), 0, d, h * hd, (h + 1) * hd, go, ho, hd, false);
            // block step 4 through the values (P_h as it is): G_v[s] += Σ_t P[t,s] G_o[t]
            Arith.F64.gemm(true, false, n, k * hd, n, p, 0, n, go, ho, k * hd, true, gv, go0, k * hd);
            // block step 4 through the probabilities: G_P[(t,c), s] = G_o[(t,c)] · v[s]; scores through the softmax
            Arith.F64.gemm(false, true, rows, n, hd, go, ho, hd, act.v(), grp * hd, kvd, false, gs, 0, n);
            for (int t = 0; t < n; t++)
                for (int c = 0; c < k; c++) {
                    int r = (t * k + c) * n;
                    double dot = 0;
                    for (int s = 0; s < n; s++) dot += p[t * n + s] * gs[r + s];
                    for (int s = 0; s < n; s++) gs[r + s] = p[t * n + s] * (gs[r + s] - dot) * scale;
                }
            // queries: G_q[(t,c)] = Σ_s G_S[(t,c),s] k[s]; keys: G_k[(s,c)] += Σ_t G_S[(t,c),s] q[t]
            Arith.F64.gemm(false, false, rows, hd, n, gs, 0, n, act.kRot(), grp * hd, kvd, false, gq, ho, hd);
            for (int c = 0; c < k; c++)
                Arith.F64.gemm(true, false, n, hd, n, gs, c * n, k * n, act.qRot(), h * hd, qd, true,
                        gk, go0 + c * hd, k * hd);
        }
        // block step 3: undo RoPE (its transpose) and QK-norm on the query and key gradients
        rotateBack(gq, H, l);
        rotateBack(gk, KV, l);
        if (w.qNorm() != null) {
            headNormBack(gq, H, k, act.qRaw(), qd, w.qNorm());
            headNormBack(gk, KV, k, act.kRaw(), kvd, w.kNorm());
        }
        // block step 2: ga (n, k, d) = G_q·W_q + G_k·W_k + G_v·W_v
        double[] ga = new double[rows * d];
        for (int h = 0; h < H; h++) gemm.xW(gq, h * headBlock, rows, hd, w.wq(), h * hd, (h + 1) * hd, 0, d, ga, 0, d, true);
        for (int grp = 0; grp < KV; grp++) {
            gemm.xW(gk, grp * headBlock, rows, hd, w.wk(), grp * hd, (grp + 1) * hd, 0, d, ga, 0, d, true);
            gemm.xW(gv, grp * headBlock, rows, hd, w.wv(), grp * hd, (grp + 1) * hd, 0, d, ga, 0, d, true);
        }
        // block step 1, and the residual of step 6: g += (∂preAttnNorm)ᵀ ga
        if (w.attnNorm() != null) rmsBack(ga, 0, n, k, d, tr.resid()[l], d, w.attnNorm());
        for (int i = 0; i < g.length; i++) g[i] += ga[i];
    }

    /** Transposed RoPE on head-major gradients (heads, n, k, hd): row (t, c) rotates back by position t. */
    private void rotateBack(double[] gx, int heads, int layer) {
        double[] inv = cfg.invFreq(layer, n);
        int k = tk(gx, heads);
        for (int h = 0; h < heads; h++)
            for (int t = 0; t < n; t++)
                for (int c = 0; c < k; c++)
                    Rope.rotate(gx, ((h * n + t) * k + c) * hd, t, inv, cfg.ropeAttnFactor(), cfg.rope(), true);
    }

    /** k, recovered from a head-major buffer's size. */
    private int tk(double[] gx, int heads) { return gx.length / (heads * n * hd); }

    /**
     * QK-norm backward on head-major gradients (heads, n, k, hd); x: the pre-norm rows
     * (n × heads·hd). Per head (hd values), or over all heads of a position (FULL, OLMo 2).
     */
    private void headNormBack(double[] gx, int heads, int k, double[] x, int ld, double[] w) {
        if (model.family().qkNorm() == Family.QkNorm.FULL) {
            double[] row = new double[heads * hd];  // (heads·hd) one (t, c) row gathered across heads
            for (int t = 0; t < n; t++)
                for (int c = 0; c < k; c++) {
                    for (int h = 0; h < heads; h++) System.arraycopy(gx, ((h * n + t) * k + c) * hd, row, h * hd, hd);
                    rmsBackRow(row, 0, x, t * ld, heads * hd, w);
                    for (int h = 0; h < heads; h++) System.arraycopy(row, h * hd, gx, ((h * n + t) * k + c) * hd, hd);
                }
            return;
        }
        for (int h = 0; h < heads; h++)
            for (int t = 0; t < n; t++)
                for (int c = 0; c < k; c++)
                    rmsBackRow(gx, ((h * n + t) * k + c) * hd, x, t * ld + h * hd, hd, w);
    }

    /**
     * RMSNorm backward, in place on rows (t, c) for positions t0..t1 of position-major g
     * (n, k, width); x: the norm's input, one row per position at stride {@code ld}:
     * y = w ⊙ x·r(x) gives x̄ = r·(w ⊙ ȳ) − (r³/D)·(Σ x w ȳ)·x.
     */
    private void rmsBack(double[] g, int t0, int t1, int k, int width, double[] x, int ld, double[] w) {
        for (int t = t0; t < t1; t++)
            for (int c = 0; c < k; c++) rmsBackRow(g, (t * k + c) * width, x, t * ld, width, w);
    }

    private void rmsBackRow(double[] g, int go, double[] x, int xo, int width, double[] w) {
        double ss = 0, dot = 0;
        for (int j = 0; j < width; j++) {
            ss += x[xo + j] * x[xo + j];
            dot += x[xo + j] * w[j] * g[go + j];
        }
        double r = 1.0 / Math.sqrt(ss / width + cfg.normEps()), r3 = r * r * r / width;
        for (int j = 0; j < width; j++) g[go + j] = r * w[j] * g[go + j] - r3 * dot * x[xo + j];
    }
}
