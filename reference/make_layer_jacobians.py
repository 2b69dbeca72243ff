"""Writes layer_jacobian/<case>/*.npy + meta.json: layer Jacobians from PyTorch autograd.

For layer l and site in {layer, attn, mlp} the output is the final RMSNorm (its 1/rms detached)
applied to, at the last position: the residual stream after layer l (layer), the attention
block's output before it joins the residual (attn), or the MLP block's output before it joins
the residual (mlp) -- METHOD.md section 5. Two Jacobians per site, with every METHOD.md detach
point frozen (gemma3_torch.py's detach=True):
  cumulative: w.r.t. the scaled input embeddings x (n, d);
  layerwise:  w.r.t. the residual stream entering layer l (n, d).
Stored: rows ROWS of every J_i as float64 (n, r, d), plus the output vector and the input.

Run with the reference venv:  /opt/linlens-ref/bin/python reference/make_layer_jacobians.py
"""
import numpy as np
import torch

from common import FIXTURE_DIR, MODEL_PATH, check_model, load_llama, tokenize, versions, write_json
from gemma3_torch import Gemma3Ref

ROWS_SEED = 4321
N_ROWS = 12
LAYERS = (1, 10, 17)
SITES = ("layer", "attn", "mlp")
CASES = {"golden": "The Golden"}


def run_layer(model, il, h, site):
    """Layer il on residual input h (n, d), detached; returns the site's output (n, d)."""
    p = f"blk.{il}."
    xn = model.rmsnorm(h, model.w[p + "attn_norm.weight"], True)
    a = model.attention(il, xn, True)
    a = model.rmsnorm(a, model.w[p + "post_attention_norm.weight"], True)
    if site == "attn":
        return a
    h = h + a
    xn = model.rmsnorm(h, model.w[p + "ffn_norm.weight"], True)
    m = model.mlp(il, xn, True, "up")
    m = model.rmsnorm(m, model.w[p + "post_ffw_norm.weight"], True)
    return m if site == "mlp" else h + m


def residual_before(model, x, il):
    """Residual stream entering layer il, detached system."""
    h = x
    for j in range(il):
        h = run_layer(model, j, h, "layer")
    return h


def site_output(model, h_in, il, site):
    out = run_layer(model, il, h_in, site)[-1]
    return model.rmsnorm(out, model.w["output_norm.weight"], True)


def save(path, arr):
    np.save(path, np.ascontiguousarray(np.asarray(arr, dtype="<f8")), allow_pickle=False)


def main():
    sha = check_model()
    vocab = load_llama(vocab_only=True)
    model = Gemma3Ref(MODEL_PATH)
    d = model.cfg.n_embd
    rows = np.sort(np.random.default_rng(ROWS_SEED).choice(d, N_ROWS, replace=False)).astype(np.int64)
    for case, prompt in CASES.items():
        ids = tokenize(vocab, prompt)
        out_dir = FIXTURE_DIR / "layer_jacobian" / case
        out_dir.mkdir(parents=True, exist_ok=True)
        x = model.embed(ids)
        np.save(out_dir / "ids.npy", np.asarray(ids, dtype="<i8"), allow_pickle=False)
        np.save(out_dir / "rows.npy", rows.astype("<i8"), allow_pickle=False)
        meta = {"tool": "reference/make_layer_jacobians.py with torch autograd", "versions": versions(),
                "model_sha256": sha, "prompt": prompt, "n": len(ids), "d": d, "layers": list(LAYERS),
                "sites": list(SITES), "rows_seed": ROWS_SEED, "errors": {}, "files": {}}
        for il in LAYERS:
            with torch.no_grad():
                h_in = residual_before(model, x, il)
            for site in SITES:
                y = site_output(model, h_in, il, site).detach()
                cum = torch.autograd.functional.jacobian(
                    lambda xx: site_output(model, residual_before(model, xx, il), il, site), x, vectorize=True)
                lw = torch.autograd.functional.jacobian(lambda hh: site_output(model, hh, il, site), h_in, vectorize=True)
                tag = f"L{il}_{site}"
                for kind, J, inp in (("cumulative", cum, x), ("layerwise", lw, h_in)):
                    rec = torch.einsum("dnk,nk->d", J, inp)
                    err = float((rec - y).norm() / y.norm())
                    meta["errors"][f"{tag}_{kind}"] = err
                    save(out_dir / f"{tag}_{kind}_rows.npy", J.numpy()[rows].transpose(1, 0, 2))
                    print(f"{case} {tag} {kind}: reconstruction {err:.2e}", flush=True)
                save(out_dir / f"{tag}_y.npy", y.numpy())
                meta["files"][f"{tag}_*"] = "cumulative/layerwise rows (n, r, d) float64; y (d,) the site output"
        write_json(out_dir / "meta.json", meta)


if __name__ == "__main__":
    main()
