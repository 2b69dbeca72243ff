"""Self-consistency checks on the committed fixtures (needs only numpy; no model file).

  /opt/linlens-ref/bin/python reference/verify_fixtures.py
"""
import json
import sys

import numpy as np

from common import FIXTURE_DIR, MODEL_SHA256

failures = []


def check(cond, msg):
    print(("ok   " if cond else "FAIL ") + msg)
    if not cond:
        failures.append(msg)


def main():
    tok = json.load(open(FIXTURE_DIR / "tokens.json", encoding="utf-8"))
    check(tok["model_sha256"] == MODEL_SHA256, "tokens.json model sha256")
    check(all(c["ids"][:1] == [2] for c in tok["cases"]), f"tokens.json: {len(tok['cases'])} cases, all start with BOS")

    lg = json.load(open(FIXTURE_DIR / "logits.json", encoding="utf-8"))
    check(lg["model_sha256"] == MODEL_SHA256, "logits.json model sha256")
    check(len(lg["cases"]) >= 12 and len(lg["probe_ids"]) == 500, f"logits.json: {len(lg['cases'])} prompts, 500 probes")
    for c in lg["cases"]:
        for src in ("llama_cpp", "llama_cpp_f32", "torch_fp64"):
            s = c[src]
            ok = (s["argmax"] == s["top100"][0][0] and len(s["top100"]) == 100
                  and len(s["probe_logits"]) == 500)
            if not ok:
                check(False, f"logits.json {src} {c['prompt'][:30]!r}")
        t = np.array(c["torch_fp64"]["probe_logits"])
        a32 = np.array(c["llama_cpp_f32"]["probe_logits"])
        a = np.array(c["llama_cpp"]["probe_logits"])
        if np.abs(t - a32).max() > 0.02 or np.abs(t - a).max() > 2.0:
            check(False, f"logits.json probe differences {c['prompt'][:30]!r}")
    print("     logits max abs diff:", lg["max_abs_diff"])

    for case_dir in sorted((FIXTURE_DIR / "jacobian").iterdir()):
        meta = json.load(open(case_dir / "meta.json", encoding="utf-8"))
        ids = np.load(case_dir / "ids.npy")
        x = np.load(case_dir / "x.npy")
        y = np.load(case_dir / "y.npy")
        rows = np.load(case_dir / "rows.npy")
        Jr = np.load(case_dir / "J_rows.npy")
        Jl = np.load(case_dir / "J_last.npy")
        Jnl = np.load(case_dir / "Jnl_rows.npy")
        n, d = meta["n"], meta["d"]
        check(meta["model_sha256"] == MODEL_SHA256, f"{case_dir.name}: model sha256")
        check(ids.shape == (n,) and x.shape == (n, d) and y.shape == (d,) and rows.shape == (48,)
              and Jr.shape == (n, 48, d) and Jl.shape == (d, d) and Jnl.shape == (n, 48, d)
              and Jl.dtype == np.float32 and Jr.dtype == np.float64, f"{case_dir.name}: shapes/dtypes")
        rec = np.einsum("nrd,nd->r", Jr, x)
        err = np.linalg.norm(rec - y[rows]) / np.linalg.norm(y[rows])
        check(err < 1e-12, f"{case_dir.name}: Σ_i J_rows[i] x_i vs y[rows] rel err {err:.2e}")
        rec_nl = np.einsum("nrd,nd->r", Jnl, x)
        err_nl = np.linalg.norm(rec_nl - y[rows]) / np.linalg.norm(y[rows])
        check(err_nl > 1e-2, f"{case_dir.name}: ordinary rows do not reconstruct (rel err {err_nl:.2e})")
        dl = np.abs(Jl[rows].astype(np.float64) - Jr[n - 1]).max() / np.abs(Jr[n - 1]).max()
        check(dl < 1e-6, f"{case_dir.name}: J_last[rows] == J_rows[n-1] (rel {dl:.1e})")

    print("all fixture checks passed" if not failures else f"{len(failures)} fixture checks failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
