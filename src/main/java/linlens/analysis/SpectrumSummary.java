package linlens.analysis;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

import java.util.ArrayList;
import java.util.List;

/**
 * A decoded SVD for reports: all singular values, the stable rank and the leading pairs as
 * tokens. For a tokens-combined SVD each component also says how much of its right singular
 * vector sits at each input position, and its v tokens decode the heaviest position's block.
 * A matrix-free top-k has only its leading singular values and no stable rank (written as null).
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record SpectrumSummary(@JsonProperty("singular_values") double[] singularValues,
                              @JsonInclude(JsonInclude.Include.ALWAYS) @JsonProperty("stable_rank") Double stableRank,
                              List<Component> components) {

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Component(double sigma,
                            @JsonProperty("u_tokens") List<String> uTokens,
                            @JsonProperty("u_token_ids") List<Integer> uTokenIds,
                            @JsonProperty("v_tokens") List<String> vTokens,
                            @JsonProperty("v_token_ids") List<Integer> vTokenIds,
                            @JsonProperty("v_position_weights") double[] vPositionWeights) {}

    /**
     * Decodes the spectra's leading pairs with one pass over the vocabulary per kind.
     * {@code positions} > 0 marks tokens-combined spectra whose v has that many d-blocks.
     */
    public static List<SpectrumSummary> decode(TokenDecoder dec, List<Spectrum> spectra, int positions, int top) {
        List<double[]> us = new ArrayList<>(), vs = new ArrayList<>();
        List<double[]> weights = new ArrayList<>();
        for (Spectrum s : spectra)
            for (int k = 0; k < s.u().length; k++) {
                us.add(s.u()[k]);
                double[] v = s.v()[k];
                if (positions > 0) {
                    int d = v.length / positions;
                    double[] w = JacobianViews.blockNorms(v, positions, d);
                    int best = Vectors.topIndices(w, 1)[0];
                    vs.add(java.util.Arrays.copyOfRange(v, best * d, (best + 1) * d));
                    weights.add(w);
                } else {
                    vs.add(v);
                    weights.add(null);
                }
            }
        var uTok = dec.byUnembedding(us.toArray(double[][]::new), top);
        var vTok = dec.byEmbeddingCosine(vs.toArray(double[][]::new), top);
        List<SpectrumSummary> out = new ArrayList<>();
        int idx = 0;
        for (Spectrum s : spectra) {
            List<Component> comps = new ArrayList<>();
            for (int k = 0; k < s.u().length; k++, idx++)
                comps.add(new Component(s.singularValues()[k],
                        uTok.get(idx).stream().map(TokenDecoder.Token::text).toList(),
                        uTok.get(idx).stream().map(TokenDecoder.Token::id).toList(),
                        vTok.get(idx).stream().map(TokenDecoder.Token::text).toList(),
                        vTok.get(idx).stream().map(TokenDecoder.Token::id).toList(),
                        weights.get(idx)));
            out.add(new SpectrumSummary(s.singularValues(), s.stableRankIfComplete(), comps));
        }
        return out;
    }
}
