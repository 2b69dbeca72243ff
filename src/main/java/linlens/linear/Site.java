package linlens.linear;

/**
 * Where inside a layer an output is read (TransformerLens names in brackets): the residual
 * stream after the layer [resid_post], the attention block's output before it joins the
 * residual [attn_out], or the MLP block's output before it joins the residual [mlp_out].
 */
public enum Site {
    LAYER("layer", "resid_post"), ATTN("attn", "attn_out"), MLP("mlp", "mlp_out");

    public final String key, hookName;

    Site(String key, String hookName) {
        this.key = key;
        this.hookName = hookName;
    }

    public static Site parse(String s) {
        for (Site k : values()) if (k.key.equalsIgnoreCase(s) || k.hookName.equalsIgnoreCase(s)) return k;
        throw new IllegalArgumentException("unknown site '" + s + "' (use layer, attn or mlp)");
    }
}
