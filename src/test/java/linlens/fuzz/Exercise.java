package linlens.fuzz;

import linlens.analysis.Prediction;
import linlens.format.StoredMatrix;
import linlens.model.ForwardPass;
import linlens.model.Prompts;
import linlens.model.Transformer;

import java.util.Collection;

/** What the targets do with whatever the code under test accepted: touch every part of it. */
final class Exercise {
    static final String PROMPT = "The bridge out of Marin is the";

    private Exercise() {}

    /** Shape of every stored tensor, plus its first and last row dequantized. */
    static void tensors(Collection<? extends StoredMatrix> tensors) {
        for (StoredMatrix t : tensors) {
            int rows = t.rows(), cols = t.cols();
            float[] row = new float[cols];
            if (rows == 0) continue;
            t.rowsToFloat(0, 1, row, 0);
            t.rowsToFloat(rows - 1, 1, row, 0);
        }
    }

    /** What 'linlens predict' does after loading: encode the prompt, run the forward pass, rank the next tokens. */
    static void forward(Transformer m) {
        int[] ids = Prompts.encode(m, PROMPT);
        var trace = new ForwardPass(m).run(ids);
        for (var c : Prediction.of(m, trace, 5).top()) c.text();
    }
}
