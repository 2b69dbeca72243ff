package linlens.analysis;

import com.fasterxml.jackson.annotation.JsonProperty;
import linlens.model.Transformer;

/** Model-level facts every result and report carries. */
public record ModelInfo(String architecture, String family, @JsonProperty("hidden_size") int hiddenSize,
                        int layers, @JsonProperty("vocab_size") int vocabSize, String source) {
    public static ModelInfo of(Transformer m) {
        var c = m.config();
        return new ModelInfo(c.architecture(), m.family().name(), c.dim(), c.layers(), c.vocab(), m.source());
    }
}
