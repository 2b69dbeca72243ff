"""The paper's pipeline, for timing side by side with `linlens bench` on the same model, prompt and machine.

As in the paper's code: the detached Jacobian of y (the last position's final-normed hidden state) w.r.t.
the input embeddings by PyTorch autograd, `torch.autograd.functional.jacobian(..., vectorize=True)` (reverse
mode), of a forward pass with stop-gradients (.detach()) at the METHOD.md points, in float32 on the CPU; then
a randomized SVD (torch.svd_lowrank) of the tokens-combined [J_0 ... J_T]. Two forward passes (--impl):

  lean          gemma3_torch.py: a compact PyTorch Gemma 3 on the GGUF's weights (the faster of the two)
  transformers  gemma3_hf_detached.py: Hugging Face transformers' own Gemma 3 modules with the detach points
                patched in, as the paper's code runs them, on the HF folder that gemma_gguf_to_hf.py makes
                from the same GGUF (--hf-dir; made there first if missing, ~1.1 GB)

Each stage is warmed up once, then repeated; reported: best and median wall time, and the peak resident set
size over the timed repeats (VmHWM, reset through /proc/self/clear_refs before them, exactly as linlens bench
measures its own), plus the process's peak over everything (ru_maxrss, including loading the weights).

Usage:
  /opt/linlens-ref/bin/python reference/pipeline_torch.py --prompt-file bench/passage.txt --tokens 8,32 \
      [--impl lean|transformers] [--hf-dir DIR] [--repeats 3] [--k 16] [--threads 2] [--json out.json]
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import MODEL_PATH, check_model, load_llama, tokenize, versions  # noqa: E402
from gemma3_torch import Gemma3Ref, reconstruction_error  # noqa: E402

HF_DIR = os.path.expanduser("~/.cache/linlens/hf/gemma-3-270m")


class LeanRef:
    """gemma3_torch.py behind the interface both implementations share."""
    jacobian_call = "torch.autograd.functional.jacobian(f, x, vectorize=True)"

    def __init__(self):
        self.m = Gemma3Ref(MODEL_PATH, dtype=torch.float32)
        self.d = self.m.cfg.n_embd

    def embed(self, ids):
        return self.m.embed(ids)

    def y_last(self, x):
        return self.m.y_last(x)

    def jacobian(self, x):
        return self.m.jacobian(x, detach=True)


def transformers_ref(hf_dir):
    if not os.path.exists(os.path.join(hf_dir, "config.json")):
        subprocess.run([sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "gemma_gguf_to_hf.py"),
                        hf_dir], check=True)
    from gemma3_hf_detached import Gemma3HfDetached  # patches transformers' Gemma 3 modules: only on request
    return Gemma3HfDetached(hf_dir)


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
    ap.add_argument("--impl", choices=["lean", "transformers"], default="lean")
    ap.add_argument("--hf-dir", default=HF_DIR, help="Hugging Face folder of the model (--impl transformers)")
    ap.add_argument("--json")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    check_model()
    text = open(a.prompt_file, encoding="utf-8").read().strip() if a.prompt_file else a.prompt
    ids_all = tokenize(load_llama(vocab_only=True), text)
    counts = [int(v) for v in a.tokens.split(",")] if a.tokens else [len(ids_all)]

    t0 = time.perf_counter()
    model = LeanRef() if a.impl == "lean" else transformers_ref(a.hf_dir)
    load_s = time.perf_counter() - t0
    d = model.d
    results = []
    for n in counts:
        ids = ids_all[:n]
        x = model.embed(ids)
        with torch.no_grad():
            y = model.y_last(x)
        J, jac = timed(lambda: model.jacobian(x), a.warmup, a.repeats)  # (d, n, d)
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
    report = {"tool": "reference/pipeline_torch.py", "impl": a.impl, "versions": versions(),
              "torch_threads": torch.get_num_threads(),
              "model": str(MODEL_PATH) if a.impl == "lean" else a.hf_dir, "dtype": "float32", "load_s": load_s,
              "jacobian_call": model.jacobian_call,
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
