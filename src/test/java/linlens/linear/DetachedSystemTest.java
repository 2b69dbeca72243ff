package linlens.linear;

import linlens.analysis.Vectors;
import linlens.blas.Arith;
import linlens.model.ForwardPass;
import linlens.model.ForwardTrace;
import linlens.model.MlpPath;
import linlens.model.Prompts;
import linlens.model.Transformer;
import linlens.testing.RealModel;
import linlens.testing.TestModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The frozen system on the real model: Σ J_i x_i must equal the nonlinear forward pass's y
 * (METHOD.md section 3), and the forward and reverse sweeps must be each other's transposes.
 */
@RealModel
class DetachedSystemTest {
    static final String PROMPT = "The bridge out of Marin is the";

    static ForwardTrace trace(String prompt) {
        Transformer m = TestModels.gemma();
        return new ForwardPass(m).run(Prompts.encode(m, prompt));
    }

    static <A> double[] toDoubles(Arith<A> ar, A a, int n) {
        double[] d = new double[n];
        for (int i = 0; i < n; i++) d[i] = ar.get(a, i);
        return d;
    }

    /** Σ J_i x_i through the forward sweep (no J formed). */
    static <A> double reconstructionError(ForwardTrace tr, MlpPath path, Arith<A> ar) {
        DetachedSystem<A> s = new DetachedSystem<>(TestModels.gemma(), tr, path, ar);
        return Vectors.relativeError(toDoubles(ar, s.jvp(ar.fromDoubles(tr.x()), 1), tr.y().length), tr.y());
    }

    @Test
    void materializedJacobianReconstructsTheOutputInBothPrecisions() {
        ForwardTrace tr = trace(PROMPT);
        for (Arith<?> ar : new Arith<?>[]{Arith.F32, Arith.F64}) {
            double err = materializedError(tr, ar);
            double bound = ar == Arith.F32 ? 1e-5 : 1e-12;
            assertTrue(err <= bound, ar.name() + " relative error " + err + " > " + bound);
        }
    }

    private static <A> double materializedError(ForwardTrace tr, Arith<A> ar) {
        DetachedSystem<A> s = new DetachedSystem<>(TestModels.gemma(), tr, MlpPath.UP, ar);
        A j = s.jacobian(256L << 20);
        return Vectors.relativeError(toDoubles(ar, s.apply(j, ar.fromDoubles(tr.x())), tr.y().length), tr.y());
    }

    @ParameterizedTest
    @ValueSource(strings = {"The Golden", "def fib(n):\n    return", "Paris is the capital of", "1, 2, 3, 5, 8, 13,",
            "Ein Hund läuft über die Straße und", "<start_of_turn>user\nWhy is the sky blue?<end_of_turn>\n<start_of_turn>model\n"})
    void everyPromptAndBothMlpPathsReconstructExactly(String prompt) {
        ForwardTrace tr = trace(prompt);
        for (MlpPath path : MlpPath.values()) {
            double e32 = reconstructionError(tr, path, Arith.F32), e64 = reconstructionError(tr, path, Arith.F64);
            assertTrue(e32 <= 1e-5, path + " fp32 error " + e32);
            assertTrue(e64 <= 1e-12, path + " fp64 error " + e64);
        }
    }

    @Test
    void reverseSweepIsTheTransposeOfTheForwardSweep() {
        ForwardTrace tr = trace("The Golden Gate");
        var s = new DetachedSystem<>(TestModels.gemma(), tr, MlpPath.UP, Arith.F64);
        int n = tr.n(), d = s.dim(), k = 3;
        Random rnd = new Random(7);
        double[] u = new double[k * d], v = new double[n * k * d];
        for (int i = 0; i < u.length; i++) u[i] = rnd.nextGaussian();
        for (int i = 0; i < v.length; i++) v[i] = rnd.nextGaussian();
        double[] jv = s.jvp(v, k);          // (k, d)
        double[] jtu = s.vjp(u, k);         // (n, k, d)
        for (int a = 0; a < k; a++)
            for (int b = 0; b < k; b++) {
                double lhs = 0, rhs = 0, scale = 0;
                for (int i = 0; i < d; i++) lhs += u[a * d + i] * jv[b * d + i];
                for (int t = 0; t < n; t++)
                    for (int i = 0; i < d; i++) {
                        double p = jtu[(t * k + a) * d + i] * v[(t * k + b) * d + i];
                        rhs += p;
                        scale += Math.abs(p);
                    }
                assertEquals(lhs, rhs, 1e-12 * scale, "<u" + a + ", J v" + b + ">");
            }
    }

    @Test
    void gateAndUpPathsGiveDifferentJacobians() {
        ForwardTrace tr = trace("The Golden");
        double[] u = new double[640];
        u[0] = 1;
        double[] up = new DetachedSystem<>(TestModels.gemma(), tr, MlpPath.UP, Arith.F64).vjp(u, 1);
        double[] gate = new DetachedSystem<>(TestModels.gemma(), tr, MlpPath.GATE, Arith.F64).vjp(u, 1);
        assertTrue(Vectors.relativeError(gate, up) > 1e-3, "the two linear paths should differ (METHOD.md 2)");
    }
}
