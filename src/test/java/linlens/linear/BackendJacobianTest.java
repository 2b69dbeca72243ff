package linlens.linear;

import linlens.blas.Arith;
import linlens.blas.BlasBackends;
import linlens.model.ForwardPass;
import linlens.model.ForwardTrace;
import linlens.model.MlpPath;
import linlens.model.ModelLoader;
import linlens.model.Transformer;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The whole detached system (forward pass, J_i of every position, the constant) on the tiny
 * Gemma 3 fixture, once per GEMM backend: the plain-Java loops must give OpenBLAS's J. Tolerance
 * max |diff| / max |J|: fp64 1e-10 (sums in a different order through a few layers), fp32 1e-4
 * (OpenBLAS sums in fp32, the Java backend in fp64).
 */
class BackendJacobianTest {
    static final Path MODEL = Path.of("src/test/resources/reference/tiny/gemma3/model.gguf");
    /** The fixture's first prompt (its meta.json). */
    static final int[] IDS = {0, 45, 101, 7, 230, 66};

    record Result(double[] jacobian, double[] constant, double[] y) {}

    static <A> Result detached(Transformer m, MlpPath path, Arith<A> ar) {
        ForwardTrace tr = new ForwardPass(m).run(IDS);
        DetachedSystem<A> sys = new DetachedSystem<>(m, tr, path, ar);
        return new Result(toDoubles(ar, sys.jacobian(64L << 20)), toDoubles(ar, sys.constant()), tr.y());
    }

    static <A> double[] toDoubles(Arith<A> ar, A a) {
        double[] d = new double[ar.length(a)];
        for (int i = 0; i < d.length; i++) d[i] = ar.get(a, i);
        return d;
    }

    static double[] diff(double[] a, double[] b) {
        assertEquals(b.length, a.length);
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) d[i] = a[i] - b[i];
        return d;
    }

    static double maxRelDiff(double[] ours, double[] ref) { return maxAbs(diff(ours, ref)) / maxAbs(ref); }

    @Test
    void javaBackendGivesOpenBlasJacobian() {
        Transformer m = ModelLoader.load(MODEL);
        for (MlpPath path : MlpPath.values())
            for (Arith<?> ar : new Arith<?>[]{Arith.F64, Arith.F32}) {
                Result ref = BlasBackends.with("openblas", () -> detached(m, path, ar));
                Result java = BlasBackends.with("java", () -> detached(m, path, ar));
                double tol = ar == Arith.F64 ? 1e-10 : 1e-4;
                double errJ = maxRelDiff(java.jacobian(), ref.jacobian());
                // c is zero up to rounding in this bias-free model: compared relative to y, as in FamilyReferenceTest
                double errC = maxAbs(diff(java.constant(), ref.constant())) / maxAbs(ref.y());
                System.out.printf("tiny gemma3 %s %s: java vs openblas, J max rel diff %.2e, c/|y| %.2e%n", path, ar.name(), errJ, errC);
                assertTrue(errJ <= tol, path + " " + ar.name() + " J differs by " + errJ);
                assertTrue(errC <= tol, path + " " + ar.name() + " constant differs by " + errC);
            }
    }

    static double maxAbs(double[] a) {
        double m = 0;
        for (double v : a) m = Math.max(m, Math.abs(v));
        return m;
    }
}
