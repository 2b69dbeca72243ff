package linlens.scan;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The columns of a scan's results: the row's own (index, prompt, the dataset's other fields,
 * error, tokens, timings), then those of each analysis group asked for. Every part of a scan
 * has the same columns, so that DuckDB, pandas or Spark read the parts as one table.
 */
public final class ScanSchema {
    private ScanSchema() {}

    /** The layout version written in scan.json; a change of columns or meaning bumps it. */
    public static final int VERSION = 1;  // new groups add columns; a scan's own columns are in its scan.json

    /** The groups {@code --analyses} may list, each one of the analyses of {@link linlens.analysis.Analyses#ALL}. */
    public static final List<String> GROUPS = List.of("predict", "decompose", "attribute", "layers", "concept");

    /** What a scan computes when {@code --analyses} is not given (see README, "Dataset scans", for its cost). */
    public static final List<String> DEFAULT_GROUPS = List.of("predict", "attribute");

    /** One column: its name, DuckDB type, the group that fills it (null: every row) and what it holds. */
    public record Column(String name, String type, String group, String description) {}

    private static final List<Column> HEAD = List.of(
            new Column("row_index", "BIGINT", null, "0-based row of the dataset file (line for text and JSON Lines, record after the header for CSV)"),
            new Column("prompt", "VARCHAR", null, "the prompt (null when the row has none)"));

    private static final List<Column> ROW = List.of(
            new Column("error", "VARCHAR", null, "why the row was not analysed (null when it was): no prompt, empty, not valid text, too many tokens"),
            new Column("n_tokens", "INTEGER", null, "prompt tokens, BOS included"),
            new Column("tokens", "VARCHAR[]", null, "the tokens' texts"),
            new Column("token_ids", "INTEGER[]", null, "the token ids"),
            new Column("time_total_ms", "DOUBLE", null, "the row's wall time: tokenizing, forward pass and analyses"),
            new Column("time_forward_ms", "DOUBLE", null, "the forward pass"));

    private static final List<Column> GROUP_COLUMNS = List.of(
            new Column("predicted_token_id", "INTEGER", "predict", "the most likely next token"),
            new Column("predicted_token", "VARCHAR", "predict", "its text"),
            new Column("predicted_prob", "DOUBLE", "predict", "its probability"),
            new Column("predicted_logit", "DOUBLE", "predict", "its logit"),
            new Column("top5_token_ids", "INTEGER[]", "predict", "the five most likely next tokens"),
            new Column("top5_tokens", "VARCHAR[]", "predict", "their texts"),
            new Column("top5_probs", "DOUBLE[]", "predict", "their probabilities"),
            new Column("reconstruction_error", "DOUBLE", "decompose", "‖Σ J_i x_i + c − y‖ / ‖y‖ (one forward sweep of the input)"),
            new Column("combined_sigma", "DOUBLE[]", "decompose", "top-k singular values of the tokens-combined [J_0 … J_n−1] (matrix-free)"),
            new Column("combined_u_tokens", "VARCHAR[]", "decompose", "top decoded token of each u_k (unembedding)"),
            new Column("combined_v_tokens", "VARCHAR[]", "decompose", "top decoded token of each v_k (heaviest position's block, embedding cosine)"),
            new Column("last_sigma", "DOUBLE[]", "decompose", "top-k singular values of the last position's J_{n−1} (matrix-free)"),
            new Column("last_u_tokens", "VARCHAR[]", "decompose", "top decoded token of each u_k"),
            new Column("last_v_tokens", "VARCHAR[]", "decompose", "top decoded token of each v_k"),
            new Column("time_decompose_ms", "DOUBLE", "decompose", "the decompose group's time"),
            new Column("attribution", "DOUBLE[]", "attribute", "exact contribution w_tᵀ J_i x_i of each position to the predicted token's logit"),
            new Column("attribution_constant", "DOUBLE", "attribute", "the biases' constant w_tᵀ c (0 without biases)"),
            new Column("attribution_error", "DOUBLE", "attribute", "|Σ contributions + constant − logit| / |logit|"),
            new Column("time_attribute_ms", "DOUBLE", "attribute", "the attribute group's time"),
            new Column("layer_top_tokens", "VARCHAR[]", "layers", "per layer: top decoded token of u_1 of the cumulative tokens-combined J of the residual stream after it (matrix-free)"),
            new Column("layer_top_token_ids", "INTEGER[]", "layers", "their ids"),
            new Column("first_prediction_layer", "INTEGER", "layers", "the first layer whose top token is the predicted token (null: none)"),
            new Column("time_layers_ms", "DOUBLE", "layers", "the layers group's time"),
            new Column("concept", "VARCHAR", "concept", "the concept's name (--concept)"),
            new Column("concept_logit", "DOUBLE", "concept", "w_Cᵀy: the mean logit of the concept's tokens over the vocabulary's (or over its versus tokens')"),
            new Column("concept_attribution", "DOUBLE[]", "concept", "its exact split over positions, w_Cᵀ J_i x_i"),
            new Column("concept_attribution_constant", "DOUBLE", "concept", "the biases' constant w_Cᵀ c (0 without biases)"),
            new Column("concept_attribution_error", "DOUBLE", "concept", "|Σ positions + constant − concept_logit| / |concept_logit|"),
            new Column("concept_embedding_direct", "DOUBLE", "concept", "its part through the embedding's direct path at the last position"),
            new Column("concept_layer_attn", "DOUBLE[]", "concept", "per layer: its part through the attention output at the last position"),
            new Column("concept_layer_mlp", "DOUBLE[]", "concept", "per layer: its part through the MLP output (direct + Σ attn + Σ mlp = concept_logit)"),
            new Column("concept_share_last", "DOUBLE", "concept", "σ²-weighted share of the top-k left singular subspace of J_{n−1} in the concept's subspace (k = --k)"),
            new Column("concept_share_combined", "DOUBLE", "concept", "the same for the tokens-combined [J_0 … J_n−1]"),
            new Column("concept_chance", "DOUBLE", "concept", "the share a random direction has: the concept's rank / d"),
            new Column("concept_logit_lens", "DOUBLE[]", "concept", "baseline: per layer, w_Cᵀ of the residual stream after it through the final norm"),
            new Column("concept_grad_x_input", "DOUBLE[]", "concept", "baseline: per position, gradient × input of w_Cᵀy with the ordinary Jacobian"),
            new Column("concept_probability", "DOUBLE", "concept", "baseline: the output probability of the concept's tokens"),
            new Column("concept_versus_probability", "DOUBLE", "concept", "the same of its versus tokens (null: none)"),
            new Column("time_concept_ms", "DOUBLE", "concept", "the concept group's time"));

    /** The columns of a scan of these groups, with the dataset's extra columns (text) after the prompt. */
    public static List<Column> columns(List<String> groups, List<String> extra) {
        List<Column> out = new ArrayList<>(HEAD);
        for (String e : extra) out.add(new Column(e, "VARCHAR", null, "the dataset's field, as text"));
        out.addAll(ROW);
        for (Column c : GROUP_COLUMNS) if (groups.contains(c.group())) out.add(c);
        return out;
    }

    /** Every name the scan itself may use, lower case (DuckDB's names ignore case): extra columns are renamed away from these. */
    public static Set<String> reserved() {
        Set<String> s = new LinkedHashSet<>();
        for (List<Column> l : List.of(HEAD, ROW, GROUP_COLUMNS)) for (Column c : l) s.add(c.name().toLowerCase(Locale.ROOT));
        return s;
    }

    /** Every column any scan may have (the README's table). */
    public static List<Column> all() {
        List<Column> out = new ArrayList<>(HEAD);
        out.addAll(ROW);
        out.addAll(GROUP_COLUMNS);
        return out;
    }
}
