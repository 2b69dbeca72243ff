"""Writes logits.json: last-position logits of llama.cpp and of the float64 torch reference.

Three sources per prompt:
  llama_cpp         llama.cpp (llama-cpp-python) on the Q4_K_M GGUF itself, CPU, F32 KV cache.
                    K-quant/Q5_0/Q8_0 matmuls quantize the activations to 8 bit, so it differs from
                    exact math by ~1e-1..1.
  llama_cpp_f32     llama.cpp on an F32 copy of the same GGUF (every tensor dequantized by
                    llama_model_quantize(ftype=ALL_F32); identical weight values, float32 matmuls,
                    no activation quantization). Written to a temp dir, never committed.
  torch_fp64        reference/gemma3_torch.py: exactly dequantized weights, float64 math.

Run with the reference venv:  /opt/linlens-ref/bin/python reference/make_logits.py
"""
import ctypes
import os
import tempfile

import numpy as np
import torch

from common import (FIXTURE_DIR, MODEL_PATH, check_model, tokenize, versions, write_json)
from gemma3_torch import Gemma3Ref

PROBE_SEED = 20250524
N_PROBES = 500
TOP_K = 100
N_CTX = 1024

LONG_40 = ("In the early morning fog, the old fisherman pushed his wooden boat into the cold grey "
           "water, listening to the gulls and wondering whether today, at last, the sea would")
# ~600 tokens: longer than the 512-token sliding window, so local layers really mask.
SENTENCES = [
    "The river bends twice before it reaches the town.",
    "Seven lanterns hung above the market square that night.",
    "Nobody remembered who had planted the orchard on the hill.",
    "A train whistled somewhere far beyond the wheat fields.",
    "She counted the steps: forty-one, forty-two, forty-three.",
    "The library closed at nine, but the lights stayed on.",
    "Every winter the lake froze thick enough to walk across.",
    "His notebook was full of maps of places that did not exist.",
]
LONG_600 = " ".join(SENTENCES[i % len(SENTENCES)] + f" ({i})" for i in range(48)) + " In the end, the"

PROMPTS = [
    "The bridge out of Marin is the",
    "The Golden",
    "Paris",
    "What is the capital of France?",
    "def fibonacci(n):\n    if n < 2:\n        return n\n    return",
    "Der schnellste Weg von München nach Berlin ist",
    "東京は日本の",
    "Привет! Как у тебя",
    LONG_40,
    "<start_of_turn>user\nWrite a haiku about the sea.<end_of_turn>\n<start_of_turn>model\n",
    "1, 2, 3, 4, 5,",
    "Once upon a time, there was a",
    "",
    LONG_600,
]


def summarize(logits, probe_ids):
    logits = np.asarray(logits, dtype=np.float64)
    order = np.argsort(-logits, kind="stable")[:TOP_K]
    return {
        "argmax": int(np.argmax(logits)),
        "top100": [[int(i), float(logits[i])] for i in order],
        "probe_logits": [float(logits[i]) for i in probe_ids],
    }


def make_f32_copy(dst):
    import llama_cpp
    p = llama_cpp.llama_model_quantize_default_params()
    p.ftype = llama_cpp.LLAMA_FTYPE_ALL_F32
    p.allow_requantize = True
    p.nthread = os.cpu_count() or 1
    rc = llama_cpp.llama_model_quantize(str(MODEL_PATH).encode(), str(dst).encode(), ctypes.byref(p))
    if rc != 0:
        raise RuntimeError(f"llama_model_quantize failed: {rc}")


def llama_logits(model_path, prompts_ids):
    from llama_cpp import Llama, GGML_TYPE_F32
    llm = Llama(model_path=str(model_path), n_ctx=N_CTX, n_batch=N_CTX, n_ubatch=N_CTX,
                logits_all=True, type_k=GGML_TYPE_F32, type_v=GGML_TYPE_F32, flash_attn=False,
                n_gpu_layers=0, n_threads=os.cpu_count(), verbose=False)
    out = []
    for ids in prompts_ids:
        llm.reset()
        llm.eval(ids)
        out.append(np.array(llm.scores[len(ids) - 1], dtype=np.float64))
    del llm
    return out


def main():
    sha = check_model()
    from llama_cpp import Llama
    vocab = Llama(model_path=str(MODEL_PATH), vocab_only=True, verbose=False)
    prompts_ids = [tokenize(vocab, p) for p in PROMPTS]
    n_vocab = vocab.n_vocab()
    del vocab
    assert max(len(i) for i in prompts_ids) < N_CTX
    probe_ids = np.sort(np.random.default_rng(PROBE_SEED).choice(n_vocab, N_PROBES, replace=False))

    lc = llama_logits(MODEL_PATH, prompts_ids)
    with tempfile.TemporaryDirectory() as td:
        f32 = os.path.join(td, "gemma-3-270m-f32.gguf")
        make_f32_copy(f32)
        lc32 = llama_logits(f32, prompts_ids)

    model = Gemma3Ref(MODEL_PATH)
    tr = [model.logits_last(ids).numpy() for ids in prompts_ids]

    cases = []
    worst = {"llama_cpp_vs_torch": 0.0, "llama_cpp_f32_vs_torch": 0.0, "llama_cpp_vs_llama_cpp_f32": 0.0}
    for p, ids, a, a32, t in zip(PROMPTS, prompts_ids, lc, lc32, tr):
        d = {
            "llama_cpp_vs_torch": float(np.abs(a - t).max()),
            "llama_cpp_f32_vs_torch": float(np.abs(a32 - t).max()),
            "llama_cpp_vs_llama_cpp_f32": float(np.abs(a - a32).max()),
        }
        for k in worst:
            worst[k] = max(worst[k], d[k])
        cases.append({
            "prompt": p, "n": len(ids), "ids": [int(i) for i in ids],
            "max_abs_diff": d,
            "mean_abs_diff_llama_cpp_vs_torch": float(np.abs(a - t).mean()),
            "llama_cpp": summarize(a, probe_ids),
            "llama_cpp_f32": summarize(a32, probe_ids),
            "torch_fp64": summarize(t, probe_ids),
        })
        print(f"n={len(ids):4d} argmax lc={cases[-1]['llama_cpp']['argmax']} "
              f"lc32={cases[-1]['llama_cpp_f32']['argmax']} torch={cases[-1]['torch_fp64']['argmax']} "
              + " ".join(f"{k}={v:.4g}" for k, v in d.items()) + f"  {p[:40]!r}")

    vers = versions()
    out = {
        "tool": f"llama-cpp-python {vers.get('llama-cpp-python')} and reference/gemma3_torch.py "
                f"(torch {vers.get('torch')}, gguf {vers.get('gguf')})",
        "versions": vers,
        "model": "gemma-3-270m.gguf",
        "model_sha256": sha,
        "position": "last",
        "add_bos": True,
        "parse_special": True,
        "llama_cpp_settings": {"n_ctx": N_CTX, "n_batch": N_CTX, "type_k": "f32", "type_v": "f32",
                               "flash_attn": False, "device": "cpu"},
        "sources": {
            "llama_cpp": "llama.cpp on the Q4_K_M GGUF (activations quantized to 8 bit in quantized matmuls)",
            "llama_cpp_f32": "llama.cpp on an F32 copy of the GGUF (same weight values, fp32 matmuls)",
            "torch_fp64": "reference/gemma3_torch.py, exactly dequantized weights, float64",
        },
        "probe_seed": PROBE_SEED,
        "probe_ids": [int(i) for i in probe_ids],
        "max_abs_diff": worst,
        "cases": cases,
    }
    path = FIXTURE_DIR / "logits.json"
    write_json(path, out, compact=True)
    print("overall max abs diff:", worst)
    print(f"wrote {path}")


if __name__ == "__main__":
    torch.set_num_threads(os.cpu_count() or 1)
    main()
