"""Writes jacobian/<case>/*.npy + meta.json: detached and ordinary Jacobians from gemma3_torch.py.

J has shape (d, n, d) with J_i = J[:, i, :] = ∂y/∂x_i; x = scaled input embeddings, y = final-normed
hidden state at the last position. All float64 except J_last (float32, as the file says).

Run with the reference venv:  /opt/linlens-ref/bin/python reference/make_jacobians.py
"""
import os
import shutil

import numpy as np
import torch

from common import (FIXTURE_DIR, MODEL_PATH, check_model, load_llama, tokenize, versions, write_json)
from gemma3_torch import Gemma3Ref, reconstruction_error

ROWS_SEED = 1234
N_ROWS = 48
CASES = {
    "bridge_marin": "The bridge out of Marin is the",
    "golden": "The Golden",
}


def save(path, arr, dtype):
    arr = np.ascontiguousarray(np.asarray(arr, dtype=np.dtype(dtype).newbyteorder("<")))
    np.save(path, arr, allow_pickle=False)


def main():
    sha = check_model()
    vocab = load_llama(vocab_only=True)
    model = Gemma3Ref(MODEL_PATH)
    d = model.cfg.n_embd
    rows = np.sort(np.random.default_rng(ROWS_SEED).choice(d, N_ROWS, replace=False)).astype(np.int64)
    vers = versions()
    for case, prompt in CASES.items():
        ids = tokenize(vocab, prompt)
        n = len(ids)
        x = model.embed(ids)
        with torch.no_grad():
            y = model.y_last(x)
            y_det = model.y_last(x, detach=True)
        J = model.jacobian(x, detach=True)  # (d, n, d)
        Jnl = model.jacobian(x, detach=False)
        err_det = reconstruction_error(J, x, y)
        err_ord = reconstruction_error(Jnl, x, y)
        # per-position split of the top logit (exact attribution, METHOD.md §4)
        logits = model.logits_from_y(y)
        top = int(torch.argmax(logits))
        contrib = torch.einsum("a,ani,ni->n", model.output[top], J, x)
        print(f"{case}: n={n} detached recon err={err_det:.3e} ordinary recon err={err_ord:.3e} "
              f"forward(detach) vs forward max|Δy|={float((y_det - y).abs().max()):.1e}")

        out = FIXTURE_DIR / "jacobian" / case
        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
        Jn = J.numpy()
        Jnln = Jnl.numpy()
        save(out / "ids.npy", ids, np.int64)
        save(out / "x.npy", x.numpy(), np.float64)
        save(out / "y.npy", y.numpy(), np.float64)
        save(out / "rows.npy", rows, np.int64)
        save(out / "J_rows.npy", np.transpose(Jn[rows], (1, 0, 2)), np.float64)       # (n, 48, d)
        save(out / "J_last.npy", Jn[:, n - 1, :], np.float32)                         # (d, d)
        save(out / "Jnl_rows.npy", np.transpose(Jnln[rows], (1, 0, 2)), np.float32)  # (n, 48, d); float32 keeps the fixtures small
        write_json(out / "meta.json", {
            "tool": f"reference/gemma3_torch.py (torch {vers.get('torch')}, gguf {vers.get('gguf')}, "
                    f"tokens by llama-cpp-python {vers.get('llama-cpp-python')})",
            "versions": vers,
            "model": "gemma-3-270m.gguf",
            "model_sha256": sha,
            "prompt": prompt,
            "add_bos": True,
            "parse_special": True,
            "n": n,
            "d": d,
            "dtype": "float64",
            "mlp_path": "up",
            "rows_seed": ROWS_SEED,
            "detached_reconstruction_rel_error": err_det,
            "ordinary_reconstruction_rel_error": err_ord,
            "top_token": top,
            "top_logit": float(logits[top]),
            "top_logit_split_by_position": [float(v) for v in contrib],
            "files": {
                "ids.npy": "int64 (n): token ids (llama.cpp, BOS added)",
                "x.npy": "float64 (n, d): token_embd rows * sqrt(d)",
                "y.npy": "float64 (d): final-normed hidden state at the last position",
                "rows.npy": "int64 (48): output-row indices of J used below",
                "J_rows.npy": "float64 (n, 48, d): J_rows[i] = J_i[rows, :], detached Jacobian",
                "J_last.npy": "float32 (d, d): J_{n-1}, detached Jacobian of the last position",
                "Jnl_rows.npy": "float32 (n, 48, d): rows of the ordinary (non-detached) Jacobian",
            },
        })
    print(f"wrote {FIXTURE_DIR / 'jacobian'}")


if __name__ == "__main__":
    torch.set_num_threads(os.cpu_count() or 1)
    main()
