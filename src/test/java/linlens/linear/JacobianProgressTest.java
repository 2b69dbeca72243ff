package linlens.linear;

import linlens.blas.Arith;
import linlens.model.ForwardTrace;
import linlens.model.MlpPath;
import linlens.testing.RealModel;
import linlens.testing.TestModels;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;

import static org.junit.jupiter.api.Assertions.*;

/** Progress reports of the Jacobian sweep: monotone, complete, without changing J; a throw cancels. */
@RealModel
class JacobianProgressTest {
    @Test
    void reportsEveryLayerAndLeavesJUnchanged() {
        ForwardTrace tr = DetachedSystemTest.trace("The Golden");
        var sys = new DetachedSystem<>(TestModels.gemma(), tr, MlpPath.UP, Arith.F32);
        int d = sys.dim(), layers = TestModels.gemma().config().layers();
        List<Long> done = new ArrayList<>();
        // a small budget forces several blocks of output features
        long budget = 200L * tr.n() * 20_000;
        float[] withProgress = sys.jacobian(budget, (stage, k, total) -> {
            assertEquals("jacobian", stage);
            assertEquals(d, total);
            done.add(k);
        });
        assertArrayEquals(sys.jacobian(budget), withProgress);
        assertTrue(done.size() > layers, "reports: " + done.size());
        for (int i = 1; i < done.size(); i++) assertTrue(done.get(i) >= done.get(i - 1), "not monotone: " + done);
        assertEquals(d, done.getLast());
    }

    @Test
    void aThrowingReportStopsTheSweep() {
        ForwardTrace tr = DetachedSystemTest.trace("The Golden");
        var sys = new DetachedSystem<>(TestModels.gemma(), tr, MlpPath.UP, Arith.F32);
        int[] calls = {0};
        assertThrows(CancellationException.class, () -> sys.jacobian(1L << 30, (stage, k, total) -> {
            if (++calls[0] == 3) throw new CancellationException();
        }));
        assertEquals(3, calls[0]);
    }
}
