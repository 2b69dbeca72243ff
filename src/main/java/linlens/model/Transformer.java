package linlens.model;

import linlens.format.StoredMatrix;
import linlens.tokenizer.Tokenizer;

/**
 * A loaded decoder: its family, hyperparameters, tokenizer and weights in stored form.
 * Norm weights are plain vectors already including any (1+w) offset the family uses.
 */
public record Transformer(Family family, ModelConfig config, Tokenizer tokenizer, StoredMatrix embedding,
                          StoredMatrix output, double[] outputNorm, Layer[] layers, String source) {

    /**
     * One block's weights. Norm vectors and biases are null where the model has none.
     * q/k/v/o and gate/up/down are matrices with rows = output features.
     */
    public record Layer(double[] attnNorm, StoredMatrix wq, StoredMatrix wk, StoredMatrix wv, StoredMatrix wo,
                        double[] bq, double[] bk, double[] bv, double[] bo,
                        double[] qNorm, double[] kNorm, double[] postAttnNorm,
                        double[] ffnNorm, StoredMatrix gate, StoredMatrix up, StoredMatrix down,
                        double[] postFfnNorm) {}

    public boolean tiedHead() { return output == embedding; }
}
