package linlens.analysis;

import com.fasterxml.jackson.annotation.JsonProperty;
import linlens.blas.Arith;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The figure data a decomposition adds to its report sections, as JSON-able records: the
 * reconstruction scatter (paper figure 3) and a heat map of every J_i (figure 2). The spectra
 * and decoded tokens (figure 4) are read straight from {@link Decomposition.Result}.
 */
public final class Figures {
    private Figures() {}

    /** Heat maps are at most this many cells a side: J is pooled in square blocks when d is larger. */
    public static final int HEATMAP_SIDE = 160;

    /** One linear map's output Σ_i J_i x_i against the true output y, coordinate by coordinate. */
    public record Scatter(String label, @JsonProperty("relative_error") double relativeError, double[] y,
                          double[] reconstructed) {}

    public record Reconstruction(List<Scatter> series) {}

    /**
     * J_i pooled to {@code side}×{@code side} cells of {@code block}×{@code block} entries (the
     * last ones may be smaller); each cell holds its block's entry of largest magnitude, sign kept,
     * so isolated strong entries stay visible. Row-major, row = output feature.
     */
    public record JacobianMap(int position, String token, float[] values) {}

    public record Jacobians(int dim, int block, int side, List<JacobianMap> maps) {}

    /** What the forward pass alone shows: section "forward" (the app draws it while an analysis runs; predict's result). */
    public record Forward(ModelInfo model, String prompt, List<TokenInfo> tokens, Prediction prediction) {
        public static Forward of(PromptContext ctx) {
            return new Forward(ctx.modelInfo(), ctx.prompt(), ctx.tokens(), ctx.prediction());
        }
    }

    /** A decomposition's sections: its result (figure 4), the reconstruction (3), the J_i heat maps (2). */
    public static Map<String, Object> sections(Decomposition.Detail<?> d) {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("decomposition", d.result());
        s.put("reconstruction", reconstruction(d));
        if (d.jacobian() != null) s.put("jacobians", jacobians(d));
        return s;
    }

    /** The detached Jacobian's Σ J_i x_i (+ c) against y, and the ordinary Jacobian's when it was computed. */
    public static Reconstruction reconstruction(Decomposition.Detail<?> d) {
        var r = d.result();
        List<Scatter> series = new ArrayList<>();
        series.add(new Scatter("detached Jacobian", r.reconstruction().relativeError(), d.y(), d.reconstructed()));
        if (r.nonlinearReconstruction() != null)
            series.add(new Scatter("ordinary Jacobian", r.nonlinearReconstruction().relativeError(), d.y(),
                    r.reconstructionVectors().nonlinear()));
        return new Reconstruction(series);
    }

    public static Jacobians jacobians(Decomposition.Detail<?> d) { return pool(d, HEATMAP_SIDE); }

    private static <A> Jacobians pool(Decomposition.Detail<A> det, int maxSide) {
        Arith<A> ar = det.arith();
        A jac = det.jacobian();
        int dim = det.y().length;
        int block = (dim + maxSide - 1) / maxSide, side = (dim + block - 1) / block;
        List<JacobianMap> maps = new ArrayList<>();
        for (var pos : det.result().svd()) {
            float[] cells = new float[side * side];
            int base = pos.position() * dim * dim;
            for (int r = 0; r < dim; r++)
                for (int c = 0; c < dim; c++) {
                    double v = ar.get(jac, base + r * dim + c);
                    int cell = (r / block) * side + c / block;
                    if (Math.abs(v) > Math.abs(cells[cell])) cells[cell] = (float) v;
                }
            for (int i = 0; i < cells.length; i++) cells[i] = round(cells[i]);
            maps.add(new JacobianMap(pos.position(), pos.token(), cells));
        }
        return new Jacobians(dim, block, side, maps);
    }

    /** Four significant digits: plenty for a colour, and the JSON stays small. */
    static float round(float v) {
        if (v == 0 || !Float.isFinite(v)) return v;
        double scale = Math.pow(10, 3 - Math.floor(Math.log10(Math.abs(v))));
        return (float) (Math.round(v * scale) / scale);
    }
}
