package linlens.analysis;

import linlens.blas.Arith;
import linlens.linear.DetachedSystem;
import linlens.linear.Site;
import linlens.model.ForwardPass;
import linlens.model.ForwardTrace;
import linlens.model.MlpPath;
import linlens.model.Prompts;
import linlens.model.Transformer;
import linlens.testing.RealModel;
import linlens.testing.TestModels;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The matrix-free operators against the materialized Jacobians on the demo model: J·V (a forward
 * sweep, {@link DetachedSystem#jvpSite} for the sites) and Jᵀ·U (a reverse sweep) equal the
 * products with the materialized J ({@code siteJacobians}, {@code layerwiseJacobian},
 * {@code jacobian}) to fp32 rounding, and to fp64 rounding in fp64; for all positions and for a
 * subset of them.
 */
@RealModel
class JacobianOperatorTest {
    static final int LAYER = 8, K = 3;
    static final double F32_TOL = 2e-5, F64_TOL = 1e-12;
    static Transformer m;
    static ForwardTrace tr;
    static int n, d;

    @BeforeAll
    static void trace() {
        m = TestModels.gemma();
        tr = new ForwardPass(m).run(Prompts.encode(m, "The Golden Gate"));
        n = tr.n();
        d = m.config().dim();
    }

    static double[] scale(int layer, Site site) {
        return LayerAnalysis.finalNormScale(m, LayerAnalysis.siteVector(tr, layer, site, d));
    }

    @Test
    void siteOperatorsMatchTheMaterializedSiteJacobiansInFp32() {
        var sys = new DetachedSystem<>(m, tr, MlpPath.UP, Arith.F32);
        int[][] subsets = {JacobianOperator.allPositions(sys), {n - 1}, {2, 0}};
        for (Site site : Site.values()) {
            double[] scale = scale(LAYER, site);
            var jacs = sys.siteJacobians(LAYER, site, Arith.F32.fromDoubles(scale), true, 256L << 20);
            for (int[] pos : subsets) {
                check(site + " cumulative " + java.util.Arrays.toString(pos), Arith.F32, jacs.cumulative(),
                        JacobianOperator.site(sys, LAYER, site, scale, false, pos), F32_TOL);
                check(site + " layer-wise " + java.util.Arrays.toString(pos), Arith.F32, jacs.layerwise(),
                        JacobianOperator.site(sys, LAYER, site, scale, true, pos), F32_TOL);
            }
        }
    }

    @Test
    void layerwiseOperatorMatchesInFp64AndTheFinalOutputOperatorMatchesJ() {
        var sys64 = new DetachedSystem<>(m, tr, MlpPath.UP, Arith.F64);
        double[] scale = scale(LAYER, Site.MLP);
        double[] lw = sys64.layerwiseJacobian(LAYER, Site.MLP, scale, 256L << 20);
        check("mlp layer-wise fp64", Arith.F64, lw, JacobianOperator.site(sys64, LAYER, Site.MLP, scale, true,
                JacobianOperator.allPositions(sys64)), F64_TOL);
        // the first layer's layer-wise J is its cumulative J: both sweeps start at the embeddings
        double[] s0 = scale(0, Site.ATTN);
        var first = JacobianOperator.site(sys64, 0, Site.ATTN, s0, false, new int[]{n - 1});
        check("layer 0 attn cumulative = layer-wise", Arith.F64, sys64.layerwiseJacobian(0, Site.ATTN, s0, 256L << 20), first, F64_TOL);
        var sys = new DetachedSystem<>(m, tr, MlpPath.UP, Arith.F32);
        float[] j = sys.jacobian(256L << 20);
        check("final output", Arith.F32, j, JacobianOperator.finalOutput(sys, JacobianOperator.allPositions(sys)), F32_TOL);
        check("final output at 1", Arith.F32, j, JacobianOperator.finalOutput(sys, new int[]{1}), F32_TOL);
    }

    @Test
    void theLastPositionViewGivesTheFullSystemsLastJacobian() {
        var sys64 = new DetachedSystem<>(m, tr, MlpPath.UP, Arith.F64);
        var view = sys64.lastPositionOnly();
        assertEquals(1, view.positions());
        double[] full = sys64.jacobian(256L << 20), last = view.jacobian(256L << 20);
        double worst = 0, big = 0;
        for (int i = 0; i < d * d; i++) {
            worst = Math.max(worst, Math.abs(last[i] - full[(n - 1) * d * d + i]));
            big = Math.max(big, Math.abs(full[(n - 1) * d * d + i]));
        }
        System.out.printf("last-position view vs full J_T (fp64): %.2e of the largest entry%n", worst / big);
        assertTrue(worst <= F64_TOL * big, "J_T from the view differs by " + worst / big);
        // the operators over {T} run on the view, fp64 this time, final output and a layer-wise site
        check("final output at T fp64", Arith.F64, full, JacobianOperator.finalOutput(sys64, new int[]{n - 1}), F64_TOL);
        double[] scale = scale(LAYER, Site.ATTN);
        check("attn layer-wise at T fp64", Arith.F64, sys64.layerwiseJacobian(LAYER, Site.ATTN, scale, 256L << 20),
                JacobianOperator.site(sys64, LAYER, Site.ATTN, scale, true, new int[]{n - 1}), F64_TOL);
        assertThrows(IllegalStateException.class, view::constant);
    }

    @Test
    void applyingToTheActualInputReconstructsTheSiteOutput() {
        var sys = new DetachedSystem<>(m, tr, MlpPath.UP, Arith.F64);
        for (Site site : Site.values()) {
            double[] scale = scale(LAYER, site), vec = LayerAnalysis.siteVector(tr, LAYER, site, d), out = new double[d];
            for (int i = 0; i < d; i++) out[i] = vec[i] * scale[i];
            int[] all = JacobianOperator.allPositions(sys);
            double cum = Vectors.relativeError(JacobianOperator.site(sys, LAYER, site, scale, false, all).apply(tr.x()), out);
            double lw = Vectors.relativeError(JacobianOperator.site(sys, LAYER, site, scale, true, all).apply(tr.resid()[LAYER]), out);
            assertTrue(cum <= 1e-12 && lw <= 1e-12, site + ": cumulative " + cum + ", layer-wise " + lw);
        }
        assertThrows(IllegalArgumentException.class, () -> JacobianOperator.finalOutput(sys, new int[]{0, 0}));
        assertThrows(IllegalArgumentException.class, () -> sys.jvpSite(LAYER + 1, LAYER, Site.LAYER, new double[n * d], 1));
    }

    /**
     * M·V and Uᵀ·M from the operator against the same products with the materialized (n, d, d)
     * J restricted to the operator's positions, for K random rows each: the largest difference
     * over the largest entry of the product.
     */
    static <A> void check(String what, Arith<A> ar, A jac, JacobianOperator<A> op, double tol) {
        int[] pos = op.positions();
        int cols = pos.length * d;
        Random rnd = new Random(what.hashCode());
        double[] v = gaussian(rnd, K * cols), u = gaussian(rnd, K * d);
        double[] jv = op.times(v, K), jtu = op.transposeTimes(u, K);
        double[] jvRef = new double[K * d], jtuRef = new double[K * cols];
        for (int c = 0; c < K; c++)
            for (int p = 0; p < pos.length; p++)
                for (int i = 0; i < d; i++)
                    for (int j = 0; j < d; j++) {
                        double e = ar.get(jac, (pos[p] * d + i) * d + j);
                        jvRef[c * d + i] += e * v[c * cols + p * d + j];
                        jtuRef[c * cols + p * d + j] += e * u[c * d + i];
                    }
        double ejv = relDiff(jv, jvRef), ejtu = relDiff(jtu, jtuRef);
        System.out.printf("%s: J·V %.2e, Jᵀ·U %.2e%n", what, ejv, ejtu);
        assertTrue(ejv <= tol, what + ": J·V differs by " + ejv);
        assertTrue(ejtu <= tol, what + ": Jᵀ·U differs by " + ejtu);
    }

    static double relDiff(double[] a, double[] ref) {
        double max = 0, diff = 0;
        for (int i = 0; i < ref.length; i++) {
            max = Math.max(max, Math.abs(ref[i]));
            diff = Math.max(diff, Math.abs(a[i] - ref[i]));
        }
        return diff / max;
    }

    static double[] gaussian(Random rnd, int len) {
        double[] x = new double[len];
        for (int i = 0; i < len; i++) x[i] = rnd.nextGaussian();
        return x;
    }
}
