package linlens.linear;

import com.fasterxml.jackson.databind.ObjectMapper;
import linlens.analysis.Vectors;
import linlens.blas.Arith;
import linlens.format.Npy;
import linlens.model.ForwardPass;
import linlens.model.ForwardTrace;
import linlens.model.MlpPath;
import linlens.model.Prompts;
import linlens.model.Transformer;
import linlens.testing.RealModel;
import linlens.testing.TestModels;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;
import static linlens.linear.JacobianReferenceTest.diff;
import static linlens.linear.JacobianReferenceTest.maxAbs;

/**
 * The detached system of a model with biases, Qwen2.5-Coder 0.5B (q/k/v biases: the map is
 * affine, y = Σ_i J_i x_i + c), against torch autograd on the same dequantized weights
 * (reference/make_qwen_fixtures.py jacobians, fp64): rows of every J_i (one reverse sweep), J·V
 * for two random tangents (one forward sweep), and c from torch as y − Σ J_i x_i (forward-mode
 * jvp of the frozen map), which we compute independently as the frozen system's output on a zero
 * input with the biases on. Then the reconstruction Σ J_i x_i + c = y on more prompts, both MLP
 * paths, fp32 and fp64. Checked through sweeps: a full J of this model (d = 896, 24 layers) costs
 * 896 reverse sweeps per position, too slow for CI.
 *
 * <p>Tolerances, relative to the largest reference entry: fp64 1e-11 (different summation order
 * through 24 layers), fp32 1e-5. c is compared relative to |y|.
 */
@RealModel
class QwenDetachedSystemTest {
    static final double FP64_TOL = 1e-11, FP32_TOL = 1e-5;

    static Path caseDir(String name) throws Exception {
        var url = QwenDetachedSystemTest.class.getResource("/reference/qwen2.5-coder-0.5b/jacobian/" + name + "/meta.json");
        assertNotNull(url, "fixture qwen2.5-coder-0.5b/jacobian/" + name + " missing");
        return Path.of(url.toURI()).getParent();
    }

    @ParameterizedTest
    @ValueSource(strings = {"golden_gate", "fib"})
    void jacobianAndConstantMatchAutograd(String name) throws Exception {
        Path dir = caseDir(name);
        var meta = new ObjectMapper().readTree(dir.resolve("meta.json").toFile());
        assertEquals(TestModels.QWEN_SHA256, meta.get("model_sha256").asText());
        Transformer m = TestModels.qwen();
        int[] ids = java.util.Arrays.stream(Npy.read(dir.resolve("ids.npy")).ints()).mapToInt(Math::toIntExact).toArray();
        assertArrayEquals(ids, m.tokenizer().encode(meta.get("prompt").asText()), "token ids");
        ForwardTrace tr = new ForwardPass(m).run(ids);
        int n = ids.length, d = m.config().dim();
        double[] x = Npy.read(dir.resolve("x.npy")).values(), y = Npy.read(dir.resolve("y.npy")).values();
        assertEquals(0, maxAbs(diff(tr.x(), x)), "input embeddings");
        assertTrue(maxAbs(diff(tr.y(), y)) <= 1e-9 * maxAbs(y), "output embedding y: " + maxAbs(diff(tr.y(), y)));

        long[] rows = Npy.read(dir.resolve("rows.npy")).ints();
        Npy.Array jRows = Npy.read(dir.resolve("J_rows.npy")), tangents = Npy.read(dir.resolve("V.npy")),
                jv = Npy.read(dir.resolve("JV.npy"));
        int k = tangents.shape()[1];
        assertArrayEquals(new int[]{n, rows.length, d}, jRows.shape());
        assertArrayEquals(new int[]{n, k, d}, tangents.shape());
        double[] c = Npy.read(dir.resolve("c.npy")).values();
        assertTrue(norm(c) > 1e-3 * norm(y), "the biases make c nonzero: |c|/|y| " + norm(c) / norm(y));
        for (Arith<?> ar : new Arith<?>[]{Arith.F64, Arith.F32}) {
            double tol = ar == Arith.F64 ? FP64_TOL : FP32_TOL;
            double[] errs = check(m, tr, rows, jRows.values(), tangents.values(), k, jv.values(), c, ar);
            System.out.printf("qwen %s %s: J rows %.2e, J·V %.2e, c %.2e (|c|/|y| %.3f), reconstruction %.2e%n",
                    name, ar.name(), errs[0], errs[1], errs[2], norm(c) / norm(y), errs[3]);
            assertTrue(errs[0] <= tol, ar.name() + " J rows differ from autograd by " + errs[0]);
            assertTrue(errs[1] <= tol, ar.name() + " J·V differs from autograd by " + errs[1]);
            assertTrue(errs[2] <= tol, ar.name() + " constant differs from autograd by " + errs[2]);
            assertTrue(errs[3] <= (ar == Arith.F64 ? 1e-12 : 1e-5), ar.name() + " reconstruction error " + errs[3]);
        }
    }

    /** {J rows error, J·V error, c error, ‖Σ J_i x_i + c − y‖/‖y‖}, the first two relative to the largest reference entry, c's to |y|. */
    static <A> double[] check(Transformer m, ForwardTrace tr, long[] rows, double[] jRowsRef, double[] tangents, int k,
                              double[] jvRef, double[] cRef, Arith<A> ar) {
        var s = new DetachedSystem<>(m, tr, MlpPath.UP, ar);
        int d = s.dim();
        A u = ar.alloc(rows.length * d);
        for (int r = 0; r < rows.length; r++) ar.set(u, r * d + (int) rows[r], 1.0);
        double[] jRows = toDoubles(ar, s.vjp(u, rows.length));
        // one forward sweep for the k tangents and x: (n, k+1, d), x the last of each position's rows
        int n = tr.n();
        double[] vx = new double[n * (k + 1) * d];
        for (int t = 0; t < n; t++) {
            System.arraycopy(tangents, t * k * d, vx, t * (k + 1) * d, k * d);
            System.arraycopy(tr.x(), t * d, vx, (t * (k + 1) + k) * d, d);
        }
        double[] jvx = toDoubles(ar, s.jvp(ar.fromDoubles(vx), k + 1));
        double[] jv = java.util.Arrays.copyOf(jvx, k * d), recon = java.util.Arrays.copyOfRange(jvx, k * d, (k + 1) * d);
        double[] c = toDoubles(ar, s.constant());
        for (int i = 0; i < d; i++) recon[i] += c[i];
        return new double[]{maxAbs(diff(jRows, jRowsRef)) / maxAbs(jRowsRef), maxAbs(diff(jv, jvRef)) / maxAbs(jvRef),
                maxAbs(diff(c, cRef)) / maxAbs(tr.y()), Vectors.relativeError(recon, tr.y())};
    }

    /** Σ J_i x_i + c = y through one forward sweep each, both MLP paths, both precisions, on a chat prompt the fixture does not hold. */
    @ParameterizedTest
    @ValueSource(strings = {"<|im_start|>user\nWhy is the sky blue?<|im_end|>\n<|im_start|>assistant\n"})
    void everyPromptAndBothMlpPathsReconstructExactly(String prompt) {
        Transformer m = TestModels.qwen();
        ForwardTrace tr = new ForwardPass(m).run(Prompts.encode(m, prompt));
        for (MlpPath path : MlpPath.values()) {
            double e32 = reconstructionError(m, tr, path, Arith.F32), e64 = reconstructionError(m, tr, path, Arith.F64);
            System.out.printf("qwen %s %-40s fp32 %.2e fp64 %.2e%n", path, prompt.replace("\n", "\\n"), e32, e64);
            assertTrue(e32 <= 1e-5, path + " fp32 error " + e32);
            assertTrue(e64 <= 1e-12, path + " fp64 error " + e64);
        }
    }

    static <A> double reconstructionError(Transformer m, ForwardTrace tr, MlpPath path, Arith<A> ar) {
        var s = new DetachedSystem<>(m, tr, path, ar);
        double[] sum = toDoubles(ar, s.jvp(ar.fromDoubles(tr.x()), 1)), c = toDoubles(ar, s.constant());
        for (int i = 0; i < sum.length; i++) sum[i] += c[i];
        return Vectors.relativeError(sum, tr.y());
    }

    static double norm(double[] v) {
        double s = 0;
        for (double e : v) s += e * e;
        return Math.sqrt(s);
    }

    static <A> double[] toDoubles(Arith<A> ar, A a) {
        double[] d = new double[ar.length(a)];
        for (int i = 0; i < d.length; i++) d[i] = ar.get(a, i);
        return d;
    }
}
