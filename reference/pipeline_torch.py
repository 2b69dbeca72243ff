"""The paper's pipeline, for timing side by side with `linlens bench` on the same model, prompt and machine.

As in the paper's code: the detached Jacobian of y (the last position's final-normed hidden state) w.r.t.
the input embeddings by PyTorch autograd, `torch.autograd.functional.jacobian(..., vectorize=True)` (reverse
mode), of a forward pass with stop-gradients (.detach()) at the METHOD.md points (gemma3_torch.py), in
float32 on the CPU; then a randomized SVD (torch.svd_lowrank) of the tokens-combined [J_0 ... J_T].

Each stage is warmed up once, then repeated; reported: best and median wall time, and the peak resident set
size over the timed repeats (VmHWM, reset through /proc/self/clear_refs before them, exactly as linlens bench
measures its own), plus the process's peak over everything (ru_maxrss, including loading the weights).

Usage:
  /opt/linlens-ref/bin/python reference/pipeline_torch.py --prompt-file bench/passage.txt --tokens 8,32 \
      [--repeats 3] [--k 16] [--threads 2] [--json out.json]
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import MODEL_PATH, check_model, load_llama, tokenize, versions  # noqa: E402
from gemma3_torch import Gemma3Ref, reconstruction_error  # noqa: E402


def reset_peak_rss():
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def peak_rss_bytes():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def timed(fn, warmup, repeats):
    for _ in range(warmup):
        fn()
    reset_peak_rss()
    secs, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        secs.append(time.perf_counter() - t0)
    return out, {"wall_s_min": min(secs), "wall_s_median": statistics.median(secs), "repeats": repeats,
                 "peak_rss_bytes": peak_rss_bytes()}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--prompt", default="The bridge out of Marin is the")
    ap.add_argument("--prompt-file")
    ap.add_argument("--tokens", default=None, help="comma-separated token counts (leading tokens of the prompt)")
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--k", type=int, default=16, help="singular triplets of the randomized SVD")
    ap.add_argument("--oversampling", type=int, default=16)
    ap.add_argument("--niter", type=int, default=3, help="power iterations of torch.svd_lowrank")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--json")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    check_model()
    text = open(a.prompt_file, encoding="utf-8").read().strip() if a.prompt_file else a.prompt
    ids_all = tokenize(load_llama(vocab_only=True), text)
    counts = [int(v) for v in a.tokens.split(",")] if a.tokens else [len(ids_all)]

    t0 = time.perf_counter()
    model = Gemma3Ref(MODEL_PATH, dtype=torch.float32)
    load_s = time.perf_counter() - t0
    d = model.cfg.n_embd
    results = []
    for n in counts:
        ids = ids_all[:n]
        x = model.embed(ids)
        with torch.no_grad():
            y = model.y_last(x)
        J, jac = timed(lambda: model.jacobian(x, detach=True), a.warmup, a.repeats)  # (d, n, d)
        err = reconstruction_error(J, x, y)
        combined = J.reshape(d, n * d)  # [J_0 ... J_T]
        q = min(a.k + a.oversampling, d)
        (u, s, v), svd = timed(lambda: torch.svd_lowrank(combined, q=q, niter=a.niter), a.warmup, a.repeats)
        print(f"{n} tokens: jacobian {jac['wall_s_min']:.3f} s (peak RSS {jac['peak_rss_bytes'] / 1e6:.0f} MB), "
              f"svd_lowrank {svd['wall_s_min']:.3f} s; reconstruction error {err:.2e}; top singular values "
              f"{[round(float(v), 4) for v in s[:4]]}", flush=True)
        results.append({"tokens": n, "token_ids": [int(i) for i in ids], "jacobian": jac, "svd_lowrank": svd,
                        "reconstruction_relative_error": err, "jacobian_bytes": J.numel() * J.element_size(),
                        "top_singular_values": [float(v) for v in s[:a.k]]})
        del J, combined
    report = {"tool": "reference/pipeline_torch.py", "versions": versions(), "torch_threads": torch.get_num_threads(),
              "model": str(MODEL_PATH), "dtype": "float32", "load_s": load_s,
              "jacobian_call": "torch.autograd.functional.jacobian(f, x, vectorize=True)",
              "svd_call": f"torch.svd_lowrank(J, q=k+oversampling, niter={a.niter})", "k": a.k,
              "process_peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, "prompts": results}
    if a.json:
        tmp = a.json + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=1)
        os.replace(tmp, a.json)


if __name__ == "__main__":
    np.set_printoptions(precision=4)
    main()
