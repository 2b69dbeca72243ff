package linlens.linear;

import linlens.blas.Arith;
import linlens.blas.WeightGemm;
import linlens.format.StoredMatrix;
import linlens.model.ForwardTrace;
import linlens.model.Frozen;
import linlens.model.MlpPath;
import linlens.model.ModelConfig;
import linlens.model.Progress;
import linlens.model.Transformer;
import linlens.model.WeightStream;

import java.util.List;


/**
 * The exactly equivalent linear system of one prompt: with the factors in {@link Frozen} held
 * fixed, the map from input embeddings x (n, d) to the output embedding y (d) is linear,
 * y = Σ_i J_i x_i. This object applies it without forming J, in blocks of k vectors:
 * {@link #jvp} (J·V, a forward sweep) and {@link #vjp} (Jᵀ·U, a reverse sweep), and
 * materializes all J_i with {@link #jacobian}.
 *
 * <p>Each layer is the detached form of the block stated in {@link Transformer} ("block step N"
 * below): steps 1, 5, 6 of attention with steps 2–4 reduced to v = a·Wvᵀ mixed by the frozen
 * P_h, then steps 7–9 with step 8 reduced to down(c ⊙ path(m)). Forward sweeps run the steps in
 * order, reverse sweeps in reverse order.
 *
 * <p>Batched state is laid out position-major, (n, k, width): rows of one position are
 * contiguous, so a frozen norm is a per-position scaling of a block and every weight product
 * is one GEMM over all n·k rows. Per-head quantities are head-major (heads, n, k, hd), so the
 * frozen attention mixing A_h over positions is one GEMM per head (or per KV group). How many
 * vectors k one sweep carries is set by {@link SweepMemory}.
 *
 * @param <A> float[] (fp32) or double[] (fp64)
 */
public final class DetachedSystem<A> {
    private final Transformer model;
    private final ModelConfig cfg;
    private final Arith<A> ar;
    private final WeightGemm<A> gemm;
    private final MlpPath path;
    private final int n, d, F, H, KV, hd, L;
    /**
     * Per layer, the frozen norm scales of block steps 1, 6, 7, 9: (n, d) row-major, row p = position
     * p's diagonal (null where the family has no such norm); and the MLP coefficient c of step 8,
     * (n, F), {@link Frozen.Layer#mlpCoefficient} for this system's path.
     */
    private final A[] attnNorm, postAttnNorm, ffnNorm, postFfnNorm, mlpCoef;
    /** Per layer, every head's (n, n) probabilities of step 4 stacked: (H·n, n), head h's from row h·n, head-major like the per-head state. */
    private final A[] probs;
    /** What the factors above were converted from (the last-position view slices it). */
    private final Frozen frozen;
    /** The final norm's frozen scales, (n, d); only row n−1 is used. */
    private final A finalNorm;
    /** Per layer, the value bias (KV·hd) and output bias (d) of steps 2 and 5, null where absent: only the constant term uses them. */
    private final A[] vBias, oBias;
    /** Set on the one-position view of {@link #lastPositionOnly}: its constant terms would miss the other positions' biases. */
    private final boolean lastPositionView;

    public DetachedSystem(Transformer model, ForwardTrace trace, MlpPath path, Arith<A> ar) {
        this(model, trace.frozen(), path, ar, false);
    }

    @SuppressWarnings("unchecked")
    private DetachedSystem(Transformer model, Frozen fz, MlpPath path, Arith<A> ar, boolean lastPositionView) {
        this.model = model;
        this.cfg = model.config();
        this.ar = ar;
        this.gemm = new WeightGemm<>(ar);
        this.path = path;
        this.frozen = fz;
        this.n = fz.n();
        this.d = cfg.dim();
        this.F = cfg.ffnDim();
        this.H = cfg.heads();
        this.KV = cfg.kvHeads();
        this.hd = cfg.headDim();
        this.L = cfg.layers();
        attnNorm = (A[]) new Object[L];
        postAttnNorm = (A[]) new Object[L];
        ffnNorm = (A[]) new Object[L];
        postFfnNorm = (A[]) new Object[L];
        mlpCoef = (A[]) new Object[L];
        probs = (A[]) new Object[L];
        for (int l = 0; l < L; l++) {
            Frozen.Layer f = fz.layers()[l];
            attnNorm[l] = conv(f.attnNorm());
            postAttnNorm[l] = conv(f.postAttnNorm());
            ffnNorm[l] = conv(f.ffnNorm());
            postFfnNorm[l] = conv(f.postFfnNorm());
            mlpCoef[l] = conv(f.mlpCoefficient(path));
            double[] stacked = new double[H * n * n];  // (H·n, n)
            for (int h = 0; h < H; h++) System.arraycopy(f.probs()[h], 0, stacked, h * n * n, n * n);
            probs[l] = conv(stacked);
        }
        finalNorm = conv(fz.finalNorm());
        vBias = (A[]) new Object[L];
        oBias = (A[]) new Object[L];
        for (int l = 0; l < L; l++) {
            vBias[l] = conv(model.layers()[l].bv());
            oBias[l] = conv(model.layers()[l].bo());
        }
        this.lastPositionView = lastPositionView;
    }

    private A conv(double[] v) { return v == null ? null : ar.fromDoubles(v); }

    /**
     * The same system restricted to the last position ({@link Frozen#lastPosition}): a
     * one-position system whose J_0 is this system's J_{n-1}, and whose site Jacobians at
     * position 0 are this system's at the last position w.r.t. the last position's input. Sweeps
     * cost 1/n of the full system's. For J_T products only: its constant terms are refused (they
     * would miss the other positions' biases).
     */
    public DetachedSystem<A> lastPositionOnly() {
        return n == 1 ? this : new DetachedSystem<>(model, frozen.lastPosition(), path, ar, true);
    }

    private void refuseConstantOnView() {
        if (lastPositionView)
            throw new IllegalStateException("the last-position view has no constant term of its own; use the full system");
    }

    public int positions() { return n; }
    public int dim() { return d; }
    public Arith<A> arith() { return ar; }
    public MlpPath mlpPath() { return path; }

    /** Scales each position's k rows of width {@code width} (positions p0..n-1) of x (n, k, width) by s[p], s (n, width). */
    private void scalePositions(A x, int p0, int k, int width, A s) {
        if (s == null) return;
        for (int t = p0; t < n; t++) ar.scaleRows(x, t * k * width, k, width, s, t * width);
    }

    /** dst = src ⊙ s[p] per position (positions p0..n-1), one pass. */
    private void copyScalePositions(A src, A dst, int p0, int k, int width, A s) {
        for (int t = p0; t < n; t++) ar.copyScaleRows(src, t * k * width, dst, t * k * width, k, width, s, t * width);
    }

    /** dst += src ⊙ s[p] per position (positions p0..n-1), one pass. */
    private void addScaledPositions(A dst, A src, int p0, int k, int width, A s) {
        for (int t = p0; t < n; t++) ar.addScaledRows(dst, t * k * width, src, t * k * width, k, width, s, t * width);
    }

    /**
     * Whether k vectors cross the MLP more cheaply through one d×d map per position,
     * M_t = W_down·diag(c_t)·W_path (2d²F to form, 2kd² to apply), than through the two
     * projections over the MLP width (4kdF).
     */
    private boolean mlpByPositionMaps(int k) {
        return (long) d * F + (long) k * d < 2L * k * F;
    }

    /** Positions whose MLP maps are formed by one GEMM: M = 2d rows keeps both cores' halves large. */
    private static final int MAPS_PER_GEMM = 2;

    /**
     * The maps of positions t0..t0+count-1 into w.map ((count·d, d), one d×d block per position;
     * row = MLP output feature),
     * with the branch's input norm s_t folded in so the k rows need no scaling pass: for the
     * reverse sweep diag(s_t)·W_down·diag(c_t)·W_path (s_t on the rows, in the same pass that
     * applies c_t), forward W_down·diag(c_t)·W_path·diag(s_t) (s_t on the columns of the product).
     */
    private void mlpMaps(int l, int t0, int count, A in, boolean transpose, Workspace w) {
        for (int i = 0; i < count; i++) {
            int t = t0 + i;
            if (transpose) ar.copyScaleRowsCols(w.down, 0, w.downScaled, i * d * F, d, F, in, t * d, mlpCoef[l], t * F);
            else ar.copyScaleRows(w.down, 0, w.downScaled, i * d * F, d, F, mlpCoef[l], t * F);
        }
        // (count·d, F)·(F, d): two positions' maps in one GEMM (MAPS_PER_GEMM)
        ar.gemm(false, false, count * d, d, F, w.downScaled, 0, F, w.path, 0, d, false, w.map, 0, d);
        if (!transpose && in != null)
            for (int i = 0; i < count; i++) ar.scaleRows(w.map, i * d * d, d, d, in, (t0 + i) * d);
    }

    /**
     * Block steps 7–9, the MLP branch for positions p0..n-1 of h (n, k, d),
     * h += post(down(c ⊙ path(pre(h)))) forward ({@code transpose} false, on rows of x; steps 7,
     * 8, 9) or its transpose (on rows of gradients; steps 9, 8, 7). Without {@code residual} h is
     * replaced by the branch (a gradient read at the branch output, which has no residual path).
     *
     * <p>Hot spot: these GEMMs are most of a sweep's work. The MLP is the widest part of the
     * block (F is 3–6 d in the supported families) and its products run over all n·k rows:
     * 4·n·k·d·F per layer through the two projections, against 2·n·k·d·(H + KV)·hd for W_O and
     * W_V. Where the per-position maps are cheaper (the whole J, k = d), forming them, one
     * (2d, F)·(F, d) GEMM per two positions in {@link #mlpMaps}, is the largest share instead
     * (BENCHMARKS.md, "The Jacobian's operations").
     */
    private void mlpBranch(int l, A h, int k, int p0, boolean transpose, boolean residual, Workspace w) {
        Transformer.Layer wt = model.layers()[l];
        int rows = (n - p0) * k, off = p0 * k * d, zOff = p0 * k * F;
        // the norm a vector crosses first (step 7 forward, step 9 in reverse) and last
        A in = transpose ? postFfnNorm[l] : ffnNorm[l], out = transpose ? ffnNorm[l] : postFfnNorm[l];
        if (mlpByPositionMaps(k)) {  // step 8 as one d×d map per position, with the first norm folded in
            w.decodeMlp(wt);
            for (int t0 = p0; t0 < n; t0 += MAPS_PER_GEMM) {
                int count = Math.min(MAPS_PER_GEMM, n - t0);
                mlpMaps(l, t0, count, in, transpose, w);
                // forward: x_t·M_tᵀ; transpose: g_t·M_t (written to position t's rows of z)
                for (int i = 0; i < count; i++) {
                    int t = t0 + i;
                    ar.gemm(false, !transpose, k, d, d, h, t * k * d, d, w.map, i * d * d, d, false, w.z, t * k * d, d);
                }
            }
            w.lastBranch = w.z;
            if (residual) addScaledPositions(h, w.z, p0, k, d, out);
            else copyScalePositions(w.z, h, p0, k, d, out);
            return;
        }
        copyScalePositions(h, w.b, p0, k, d, in);
        if (transpose) {  // step 8 transposed: (n·k, d)·W_down → (n·k, F), ⊙ c, ·W_path → (n·k, d)
            gemm.xW(w.b, off, rows, d, wt.down(), 0, d, 0, F, w.z, zOff, F, false);
            scalePositions(w.z, p0, k, F, mlpCoef[l]);
            gemm.xW(w.z, zOff, rows, F, pathWeight(wt), 0, F, 0, d, w.b, off, d, false);
        } else {  // step 8: (n·k, d)·W_pathᵀ → (n·k, F), ⊙ c, ·W_downᵀ → (n·k, d)
            gemm.xWt(w.b, off, rows, d, pathWeight(wt), 0, F, w.z, zOff, F, false);
            scalePositions(w.z, p0, k, F, mlpCoef[l]);
            gemm.xWt(w.z, zOff, rows, F, wt.down(), 0, d, w.b, off, d, false);
        }
        w.lastBranch = w.b;
        if (residual) addScaledPositions(h, w.b, p0, k, d, out);
        else copyScalePositions(w.b, h, p0, k, d, out);
    }

    // ---------------------------------------------------------------- reverse sweep: Jᵀ·U

    /**
     * Jᵀ·U for k cotangents on y (U is (k, d), row c = u_c). Returns G, (n, k, d) position-major:
     * G[t][c] = u_cᵀ J_t, i.e. row c of J_t when U is the identity.
     */
    public A vjp(A u, int k) {
        A top = ar.alloc(k * d);  // (k, d) the cotangents through the frozen final norm at position n−1
        ar.copy(u, 0, top, 0, k * d);
        ar.scaleRows(top, 0, k, d, finalNorm, (n - 1) * d);
        return vjpFromSite(L - 1, Site.LAYER, top, k, 0, null);
    }

    /** Sees the gradient at the residual stream entering a layer, (n, k, d), during a reverse sweep. */
    public interface LayerInputVisitor<A> {
        void visit(int layer, A gradient);
    }

    /**
     * Jᵀ·U for outputs read at a site of layer {@code layer}, at the last position: row c of U
     * (k×d) is a cotangent on that site's vector (apply any frozen output norm first). Sweeps
     * back to the residual stream entering layer {@code toLayer} (≤ layer) and returns the
     * gradient there, (n, k, d). {@code visitor} (may be null) sees the gradient entering each
     * layer from {@code layer} down to {@code toLayer}: the layer-wise Jacobian is the first
     * visit, the cumulative one the last when toLayer = 0.
     */
    public A vjpFromSite(int layer, Site site, A u, int k, int toLayer, LayerInputVisitor<A> visitor) {
        if (layer < 0 || layer >= L || toLayer < 0 || toLayer > layer)
            throw new IllegalArgumentException("bad layer range " + toLayer + ".." + layer + " of " + L);
        A g = ar.alloc(n * k * d);  // (n, k, d) gradient on the residual stream, position-major
        int T = n - 1;
        ar.copy(u, 0, g, T * k * d, k * d);
        Workspace w = new Workspace(k);
        int p0 = T;  // positions before p0 hold zero gradient (true above the first attention crossed)
        try (WeightStream.Sweep ws = stream(layer, toLayer)) {
            for (int l = layer; l >= toLayer; l--) {
                ws.enter(l);
                backLayer(l, g, k, p0, w, l == layer ? site : Site.LAYER);
                p0 = 0;
                if (visitor != null) visitor.visit(l, g);
            }
        }
        return g;
    }

    /**
     * Gradient w.r.t. layer l's input, in place in g (n, k, d), from the gradient on the layer's
     * output ({@code from} = LAYER), on its MLP branch output (MLP) or on its attention branch
     * output (ATTN): the block's steps in reverse, 9 to 1.
     */
    private void backLayer(int l, A g, int k, int p0, Workspace w, Site from) {
        Transformer.Layer wt = model.layers()[l];
        int rows = (n - p0) * k;
        // block steps 9, 8, 7
        if (from != Site.ATTN) mlpBranch(l, g, k, p0, true, from == Site.LAYER, w);
        // attention branch: h += post(W_O · mix_A(W_V · pre(h)))
        // block step 6: b (n, k, d) = post ⊙ g
        copyScalePositions(g, w.b, p0, k, d, postAttnNorm[l]);
        int headBlock = n * k * hd;  // one head's (n, k, hd) block of go or gv
        A wo = w.decodeWo(wt);
        // block step 5: each head's output gradient G_o,h = b·W_O[:, h·hd..h·hd+hd], into go (H, n, k, hd)
        for (int h = 0; h < H; h++)
            ar.gemm(false, false, rows, hd, d, w.b, p0 * k * d, d, wo, h * hd, H * hd, false, w.go, h * headBlock + p0 * k * hd, hd);
        // block step 4 (frozen P_h, transposed): G_v[s] = Σ_{h in the group} Σ_{t≥p0} A_h[t,s] G_o,h[t], into gv (KV, n, k, hd)
        int group = H / KV;
        for (int grp = 0; grp < KV; grp++) {
            if (p0 == 0)  // one GEMM over the group's stacked (head, position) rows: one pass over G_o
                ar.gemm(true, false, n, k * hd, group * n, probs[l], grp * group * n * n, n,
                        w.go, grp * group * headBlock, k * hd, false, w.gv, grp * headBlock, k * hd);
            else
                for (int h = grp * group; h < (grp + 1) * group; h++)
                    ar.gemm(true, false, n, k * hd, n - p0, probs[l], (h * n + p0) * n, n, w.go, h * headBlock + p0 * k * hd, k * hd,
                            h > grp * group, w.gv, grp * headBlock, k * hd);
        }
        // block step 2 (values only): b (n, k, d) = Σ_g G_v,g·W_v,g
        for (int grp = 0; grp < KV; grp++)
            gemm.xW(w.gv, grp * headBlock, n * k, hd, wt.wv(), grp * hd, (grp + 1) * hd, 0, d, w.b, 0, d, grp > 0);
        // block step 1: g (+)= pre ⊙ b
        if (from == Site.ATTN) copyScalePositions(w.b, g, 0, k, d, attnNorm[l]);  // no residual path from the branch output
        else addScaledPositions(g, w.b, 0, k, d, attnNorm[l]);
    }

    private StoredMatrix pathWeight(Transformer.Layer wt) { return path == MlpPath.UP ? wt.up() : wt.gate(); }

    /** The weights a sweep of the detached system reads: queries, keys and the frozen path are not among them. */
    private List<StoredMatrix> swept(Transformer.Layer wt) { return List.of(wt.wv(), wt.wo(), pathWeight(wt), wt.down()); }

    /** Pages layers from..to in ahead of a sweep when the model streams from disk ({@link WeightStream}). */
    private WeightStream.Sweep stream(int from, int to) { return WeightStream.of(model).sweep(from, to, this::swept); }

    // ---------------------------------------------------------------- forward sweep: J·V

    /**
     * J·V for k tangents: V is (n, k, d) position-major (V[t][c] = v_c at position t). Returns
     * (k, d): row c = Σ_t J_t v_c[t].
     */
    public A jvp(A v, int k) {
        A x = ar.alloc(n * k * d);  // (n, k, d) the tangents' residual stream, swept in place
        ar.copy(v, 0, x, 0, n * k * d);
        return sweep(x, k, false);
    }

    /**
     * The constant term c of the affine map y = Σ_i J_i x_i + c: the frozen system's output for a
     * zero input with the value and output biases on (zero when the model has no such biases).
     */
    public A constant() {
        refuseConstantOnView();
        return sweep(ar.alloc(n * d), 1, true);  // (n, 1, d) zero input
    }

    /** Forward sweep of state x (n, k, d), in place; returns the last position's output, (k, d). */
    private A sweep(A x, int k, boolean biases) {
        Workspace w = new Workspace(k);
        try (WeightStream.Sweep ws = stream(0, L - 1)) {
            for (int l = 0; l < L; l++) {
                ws.enter(l);
                forwardLayer(l, x, k, l == L - 1 ? n - 1 : 0, w, biases);
            }
        }
        A y = ar.alloc(k * d);  // (k, d): the final norm at position n−1
        ar.copyScaleRows(x, (n - 1) * k * d, y, 0, k, d, finalNorm, (n - 1) * d);
        return y;
    }

    /** One layer forward through the frozen system, block steps 1–9; outputs needed only at positions ≥ q0. */
    private void forwardLayer(int l, A x, int k, int q0, Workspace w, boolean biases) {
        forwardAttention(l, x, k, q0, w, biases);
        mlpBranch(l, x, k, q0, false, true, w);
    }

    /**
     * Block steps 1–6, the attention half of a layer forward on x (n, k, d):
     * x += post(W_O · mix_A(W_V · pre(x))) (+ biases).
     */
    private void forwardAttention(int l, A x, int k, int q0, Workspace w, boolean biases) {
        Transformer.Layer wt = model.layers()[l];
        int headBlock = n * k * hd, rows = (n - q0) * k, off = q0 * k * d;  // headBlock: one head's (n, k, hd)
        // block step 1: b (n, k, d) = pre ⊙ x
        copyScalePositions(x, w.b, 0, k, d, attnNorm[l]);
        // block step 2 (values only; q and k are frozen into P_h): gv (KV, n, k, hd) = b·W_v,gᵀ (+ bv)
        for (int grp = 0; grp < KV; grp++)
            gemm.xWt(w.b, 0, n * k, d, wt.wv(), grp * hd, (grp + 1) * hd, w.gv, grp * headBlock, hd, false);
        if (biases && vBias[l] != null)
            for (int grp = 0; grp < KV; grp++) ar.addRows(w.gv, grp * headBlock, n * k, hd, vBias[l], grp * hd);
        A wo = w.decodeWo(wt);
        int group = H / KV;
        // block step 4 (frozen P_h) into go (H, n, k, hd), then step 5: b (n, k, d) = Σ_h G_o,h·W_O[:, h]ᵀ (+ bo)
        if (q0 == 0)  // G_o,h = A_h·G_v for all heads of a group in one GEMM over their stacked rows
            for (int grp = 0; grp < KV; grp++)
                ar.gemm(false, false, group * n, k * hd, n, probs[l], grp * group * n * n, n, w.gv, grp * headBlock,
                        k * hd, false, w.go, grp * group * headBlock, k * hd);
        for (int h = 0; h < H; h++) {
            int grp = h / group;
            if (q0 > 0)
                ar.gemm(false, false, n - q0, k * hd, n, probs[l], (h * n + q0) * n, n, w.gv, grp * headBlock, k * hd,
                        false, w.go, h * headBlock + q0 * k * hd, k * hd);
            ar.gemm(false, true, rows, d, hd, w.go, h * headBlock + q0 * k * hd, hd, wo, h * hd, H * hd,
                    h > 0, w.b, off, d);
        }
        if (biases && oBias[l] != null) ar.addRows(w.b, off, rows, d, oBias[l], 0);
        w.lastBranch = w.b;
        // block step 6: x += post ⊙ b
        addScaledPositions(x, w.b, q0, k, d, postAttnNorm[l]);
    }

    /** Sees, during {@link #jvpSites}, one site's output at the last position for the k tangents (k×d, no output norm). */
    public interface SiteVisitor<A> {
        void visit(int layer, Site site, A atLast);
    }

    /**
     * Forward sweep of k tangents v (n, k, d) through layers 0..lastLayer, showing every site's
     * output at the last position: one sweep over all n·d input directions gives every site's
     * cumulative Jacobian at once. Branch outputs are read before they join the residual (no
     * cancellation).
     */
    public void jvpSites(A v, int k, int lastLayer, SiteVisitor<A> visitor) {
        A x = ar.alloc(n * k * d), site = ar.alloc(k * d);  // (n, k, d) stream; (k, d) one site at position T
        ar.copy(v, 0, x, 0, n * k * d);
        Workspace w = new Workspace(k);
        int T = n - 1;
        try (WeightStream.Sweep ws = stream(0, lastLayer)) {
            for (int l = 0; l <= lastLayer; l++) {
                ws.enter(l);
                int q0 = l == lastLayer ? T : 0;
                forwardAttention(l, x, k, q0, w, false);
                ar.copyScaleRows(w.lastBranch, T * k * d, site, 0, k, d, postAttnNorm[l], T * d);
                visitor.visit(l, Site.ATTN, site);
                mlpBranch(l, x, k, q0, false, true, w);
                ar.copyScaleRows(w.lastBranch, T * k * d, site, 0, k, d, postFfnNorm[l], T * d);
                visitor.visit(l, Site.MLP, site);
                ar.copy(x, T * k * d, site, 0, k * d);
                visitor.visit(l, Site.LAYER, site);
            }
        }
    }

    /**
     * J·V for one site: k tangents v (n, k, d) on the residual stream entering layer
     * {@code fromLayer} (0: on the input embeddings) swept forward to layer {@code layer} (≥
     * fromLayer), returning that site's output at the last position, (k, d), without any output
     * norm. The transpose of {@link #vjpFromSite}(layer, site, ·, k, fromLayer, null). v is not
     * modified. Branch outputs are read before they join the residual, as in {@link #jvpSites}.
     */
    public A jvpSite(int fromLayer, int layer, Site site, A v, int k) {
        if (layer < 0 || layer >= L || fromLayer < 0 || fromLayer > layer)
            throw new IllegalArgumentException("bad layer range " + fromLayer + ".." + layer + " of " + L);
        A x = ar.alloc(n * k * d), out = ar.alloc(k * d);  // (n, k, d) stream; (k, d) the site at position T
        ar.copy(v, 0, x, 0, n * k * d);
        Workspace w = new Workspace(k);
        int T = n - 1;
        try (WeightStream.Sweep ws = stream(fromLayer, layer)) {
            for (int l = fromLayer; l < layer; l++) {
                ws.enter(l);
                forwardLayer(l, x, k, 0, w, false);
            }
            // the site's own layer: only the last position is read
            ws.enter(layer);
            forwardAttention(layer, x, k, T, w, false);
            if (site == Site.ATTN) {
                ar.copyScaleRows(w.lastBranch, T * k * d, out, 0, k, d, postAttnNorm[layer], T * d);
                return out;
            }
            mlpBranch(layer, x, k, T, false, true, w);
        }
        if (site == Site.MLP) ar.copyScaleRows(w.lastBranch, T * k * d, out, 0, k, d, postFfnNorm[layer], T * d);
        else ar.copy(x, T * k * d, out, 0, k * d);
        return out;
    }

    /**
     * The constant term of a site's output (outScale ⊙ site(layer)[T]) as an affine function of
     * the residual stream entering layer {@code fromLayer} (0: of the embeddings): the frozen
     * system run on a zero input there with its biases on, read at the site (d values; zero for
     * models without value/output biases).
     */
    public A siteConstant(int fromLayer, int layer, Site site, A outScale) {
        refuseConstantOnView();
        A x = ar.alloc(n * d);  // (n, 1, d) zero input
        Workspace w = new Workspace(1);
        A before = ar.alloc(d), c = ar.alloc(d);  // (d) each: position T's stream before the site's layer; the constant
        try (WeightStream.Sweep ws = stream(fromLayer, layer)) {
            for (int l = fromLayer; l < layer; l++) {
                ws.enter(l);
                forwardLayer(l, x, 1, 0, w, true);
            }
            ws.enter(layer);
            ar.copy(x, (n - 1) * d, before, 0, d);
            forwardAttention(layer, x, 1, 0, w, true);
            if (site == Site.ATTN) {
                ar.copy(x, (n - 1) * d, c, 0, d);
                ar.axpy(-1, before, 0, c, 0, d);
            } else {
                A mid = ar.alloc(d);  // (d) position T's stream between attention and MLP
                ar.copy(x, (n - 1) * d, mid, 0, d);
                mlpBranch(layer, x, 1, 0, false, true, w);
                ar.copy(x, (n - 1) * d, c, 0, d);
                if (site == Site.MLP) ar.axpy(-1, mid, 0, c, 0, d);
            }
        }
        ar.mul(c, 0, outScale, 0, d);
        return c;
    }

    // ---------------------------------------------------------------- materialized J

    /**
     * All J_i, (n, d, d): J[t] is the d×d Jacobian of y w.r.t. x_t (row = output feature).
     * Computed as Jᵀ·I by reverse sweeps over blocks of output features sized to {@code budgetBytes}
     * of work memory.
     */
    public A jacobian(long budgetBytes) { return jacobian(budgetBytes, Progress.NONE); }

    /** {@link #jacobian(long)}, reporting the output features done (by layer within a block) to {@code progress}. */
    public A jacobian(long budgetBytes, Progress progress) {
        A scale = ar.alloc(d);  // (d) the final norm's scales at position n−1
        ar.copy(finalNorm, (n - 1) * d, scale, 0, d);
        return siteJacobians(L - 1, Site.LAYER, scale, false, budgetBytes, progress).cumulative();
    }

    /** Jacobians of one output w.r.t. the input of its layer (layer-wise) and w.r.t. the embeddings (cumulative). */
    public record SiteJacobians<A>(A layerwise, A cumulative) {}

    /**
     * Materializes the Jacobians, each (n, d, d), of the output {@code outScale ⊙ site(layer)[T]}
     * (outScale: the frozen output norm's d scales at the last position) w.r.t. the residual
     * stream entering {@code layer} (if {@code withLayerwise}) and w.r.t. the input embeddings.
     */
    public SiteJacobians<A> siteJacobians(int layer, Site site, A outScale, boolean withLayerwise, long budgetBytes) {
        return siteJacobians(layer, site, outScale, withLayerwise, budgetBytes, Progress.NONE);
    }

    /** The layer-wise Jacobian alone, (n, d, d): one reverse sweep through layer {@code layer} only. */
    public A layerwiseJacobian(int layer, Site site, A outScale, long budgetBytes) {
        A lw = ar.alloc(n * d * d);  // (n, d, d)
        int block = SweepMemory.vectorsPerSweep(budgetBytes, SweepMemory.bytesPerVector(cfg, n, ar), d);
        for (int c0 = 0; c0 < d; c0 += block) {
            int k = Math.min(block, d - c0);
            A u = ar.alloc(k * d);  // (k, d) cotangents: rows c0..c0+k of diag(outScale)
            for (int c = 0; c < k; c++) ar.set(u, c * d + c0 + c, ar.get(outScale, c0 + c));
            scatter(vjpFromSite(layer, site, u, k, layer, null), k, c0, lw);
        }
        return lw;
    }

    /** {@link #siteJacobians(int, Site, Object, boolean, long)} with progress in output features done. */
    public SiteJacobians<A> siteJacobians(int layer, Site site, A outScale, boolean withLayerwise, long budgetBytes,
                                          Progress progress) {
        long total = (long) n * d * d;
        if (total > Integer.MAX_VALUE)
            throw new IllegalArgumentException("the full Jacobian (" + n + "×" + d + "×" + d
                    + ") is too large to materialize; use the matrix-free decomposition");
        A cum = ar.alloc((int) total), lw = withLayerwise ? ar.alloc((int) total) : null;  // (n, d, d) each
        int block = SweepMemory.vectorsPerSweep(budgetBytes, SweepMemory.bytesPerVector(cfg, n, ar), d);
        for (int c0 = 0; c0 < d; c0 += block) {
            int k = Math.min(block, d - c0), first = c0;
            A u = ar.alloc(k * d);  // (k, d) cotangents: rows c0..c0+k of diag(outScale)
            for (int c = 0; c < k; c++) ar.set(u, c * d + c0 + c, ar.get(outScale, c0 + c));
            A g = vjpFromSite(layer, site, u, k, 0, (l, grad) -> {
                if (withLayerwise && l == layer) scatter(grad, k, first, lw);
                progress.update("jacobian", first + (long) k * (layer - l + 1) / (layer + 1), d);
            });
            scatter(g, k, first, cum);
        }
        return new SiteJacobians<>(lw, cum);
    }

    /** Copies a sweep's (n, k, d) gradient into rows c0..c0+k of each J_t in (n, d, d). */
    private void scatter(A g, int k, int c0, A jac) {
        for (int t = 0; t < n; t++) ar.copy(g, t * k * d, jac, t * d * d + c0 * d, k * d);
    }

    /** Σ_t J_t x_t from a materialized J (n, d, d) and inputs x (n, d), as a GEMV per position. */
    public A apply(A jac, A x) {
        A y = ar.alloc(d);  // (d)
        for (int t = 0; t < n; t++) ar.gemm(false, true, 1, d, d, x, t * d, d, jac, t * d * d, d, t > 0, y, 0, d);
        return y;
    }

    /**
     * Buffers of one sweep with k vectors: the per-vector ones {@link SweepMemory#bytesPerVector}
     * counts, and the decoded weights reused across the sweep. Row-major throughout.
     */
    private final class Workspace {
        /** The buffer holding the last branch output computed (before its output norm): b or z, (n, k, d). */
        A lastBranch;
        /** (n, k, d) position-major: a branch's input after its first norm, then its output. */
        final A b;
        /** (n, k, F) position-major: the MLP's inner activations (block step 8); (n, k, d), the maps' output, with per-position maps. */
        final A z;
        /** (H, n, k, hd) head-major: each head's output before W_O (block steps 4–5), or its gradient. */
        final A go;
        /** (KV, n, k, hd) head-major: each KV group's values (block step 2), or their gradient. */
        final A gv;
        /**
         * For the per-position MLP maps: decoded W_down (d, F) and W_path (F, d); W_down·diag(c_t)
         * (MAPS_PER_GEMM·d, F), one (d, F) block per position; M_t (MAPS_PER_GEMM·d, d). Allocated on first use.
         */
        A down, path, downScaled, map;
        /** The attention output projection of the current layer, decoded: (d, H·hd). */
        A wo;

        Workspace(int k) {
            b = ar.alloc(n * k * d);
            z = ar.alloc(n * k * (mlpByPositionMaps(k) ? d : F));  // the MLP's width, or the maps' output
            go = ar.alloc(H * n * k * hd);
            gv = ar.alloc(KV * n * k * hd);
        }

        /**
         * W_O (d × H·hd) decoded whole: every head's product reads its column slice, so the matrix
         * is decoded once per layer instead of once per head.
         */
        A decodeWo(Transformer.Layer wt) {
            if (wo == null) wo = ar.alloc(d * H * hd);
            gemm.decodeAll(wt.wo(), wo);
            return wo;
        }

        void decodeMlp(Transformer.Layer wt) {
            if (down == null) {
                down = ar.alloc(d * F);
                path = ar.alloc(F * d);
                downScaled = ar.alloc(MAPS_PER_GEMM * d * F);
                map = ar.alloc(MAPS_PER_GEMM * d * d);
            }
            gemm.decodeAll(wt.down(), down);
            gemm.decodeAll(pathWeight(wt), path);
        }
    }
}
