"""Fixtures for the second real family, Qwen2.5-Coder 0.5B Instruct Q4_K_M, in
src/test/resources/reference/qwen2.5-coder-0.5b/:

  tokens     tokens.json: llama.cpp's ids for make_tokens.py's corpus plus Qwen's own special tokens
             (the file has tokenizer.ggml.add_bos_token = false: no BOS is added).
  logits     logits.json: last-position logits of llama.cpp on the Q4_K_M file, llama.cpp on an F32
             copy (llama_model_quantize ALL_F32, temporary), and qwen2_torch.py in float64 on the same
             exactly dequantized weights; per source the top 100 and 300 fixed probe ids. Also, as a
             cross-check of qwen2_torch.py only (not used by the Java tests), transformers' own Qwen2
             code in float64 on the GGUF (from_pretrained(gguf_file=...), dequantized by gguf).
  jacobians  jacobian/<case>/: the detached system against torch autograd on short prompts:
             x, y, rows of every J_i, J·V for two random tangents V, and c = y − Σ_i J_i x_i with
             Σ_i J_i x_i from forward-mode jvp (the value biases make c nonzero); and per site of a
             few layers (attn, mlp, layer; METHOD.md section 5) the site's frozen-normed output, J·V
             of its cumulative Jacobian, and its cumulative and layer-wise constants.

Run with the reference venv:  /opt/linlens-ref/bin/python reference/make_qwen_fixtures.py [part ...]
"""
import ctypes
import os
import sys
import tempfile

import numpy as np
import torch

from common import (QWEN_FIXTURE_DIR, QWEN_PATH, check_qwen_model, versions, write_json)
from make_tokens import CORPUS as GEMMA_CORPUS
from qwen2_torch import Qwen2Ref

QWEN_SPECIAL = [
    "<|im_start|>system\nYou are Qwen.<|im_end|>\n<|im_start|>user\nWrite a sort in Go.<|im_end|>\n<|im_start|>assistant\n",
    "<|endoftext|>",
    "<|fim_prefix|>def add(a, b):\n    <|fim_suffix|>\n    return c<|fim_middle|>",
    "text <|im_end|> in the middle",
    "<|im_start|><|im_end|>",
    "<|not_special|>",
    "    indented code\n        more\n\treturn None",
    "x = [i ** 2 for i in range(10) if i % 3 == 0]",
]
CORPUS = GEMMA_CORPUS + QWEN_SPECIAL

LONG_40 = ("In the early morning fog, the old fisherman pushed his wooden boat into the cold grey "
           "water, listening to the gulls and wondering whether today, at last, the sea would")
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
    "<|im_start|>user\nWrite a haiku about the sea.<|im_end|>\n<|im_start|>assistant\n",
    "1, 2, 3, 4, 5,",
    "public static int gcd(int a, int b) {\n    return b == 0 ? a :",
]
PROBE_SEED = 20250524
N_PROBES = 300
TOP_K = 100
N_CTX = 512

JACOBIAN_CASES = {"golden_gate": "The Golden Gate Bridge", "fib": "def fib(n):"}
ROWS_SEED, N_ROWS, N_TANGENTS, TANGENT_SEED = 1234, 8, 2, 99
SITE_LAYERS, SITES = (0, 11, 23), ("attn", "mlp", "layer")


def llama(path, vocab_only=False):
    from llama_cpp import Llama, GGML_TYPE_F32
    if vocab_only:
        return Llama(model_path=str(path), vocab_only=True, verbose=False)
    return Llama(model_path=str(path), n_ctx=N_CTX, n_batch=N_CTX, n_ubatch=N_CTX, logits_all=True,
                 type_k=GGML_TYPE_F32, type_v=GGML_TYPE_F32, flash_attn=False, n_gpu_layers=0,
                 n_threads=os.cpu_count(), verbose=False)


def tokenize(llm, text):
    """llama.cpp's ids: the model's own BOS rule (none for this file), special tokens parsed."""
    return [int(i) for i in llm.tokenize(text.encode("utf-8"), add_bos=True, special=True)]


_REF = {}


def reference():
    """The fp64 reference, built once per process (dequantizing the file takes a while)."""
    if "model" not in _REF:
        _REF["model"] = Qwen2Ref(QWEN_PATH)
    return _REF["model"]


def save(path, arr, dtype="<f8"):
    np.save(path, np.ascontiguousarray(np.asarray(arr, dtype=dtype)), allow_pickle=False)


# ---------------------------------------------------------------- tokens

def tokens(sha):
    vocab = llama(QWEN_PATH, vocab_only=True)
    assert len(set(CORPUS)) == len(CORPUS), "duplicate corpus entries"
    vers = versions()
    out = {"tool": f"llama-cpp-python {vers.get('llama-cpp-python')} (Llama(vocab_only=True).tokenize)",
           "versions": vers, "model": "qwen2.5-coder-0.5b.gguf", "model_sha256": sha,
           "add_bos": True, "parse_special": True,
           "note": "add_bos asks for the model's BOS rule; this file says add_bos_token=false, so none is added",
           "cases": [{"text": t, "ids": tokenize(vocab, t)} for t in CORPUS]}
    write_json(QWEN_FIXTURE_DIR / "tokens.json", out)
    print(f"tokens.json: {len(CORPUS)} cases")


# ---------------------------------------------------------------- logits

def summarize(logits, probe_ids):
    logits = np.asarray(logits, dtype=np.float64)
    order = np.argsort(-logits, kind="stable")[:TOP_K]
    return {"argmax": int(np.argmax(logits)), "top100": [[int(i), float(logits[i])] for i in order],
            "probe_logits": [float(logits[i]) for i in probe_ids]}


def llama_logits(path, prompts_ids):
    llm = llama(path)
    out = []
    for ids in prompts_ids:
        llm.reset()
        llm.eval(ids)
        out.append(np.array(llm.scores[len(ids) - 1], dtype=np.float64))
    del llm
    return out


def f32_copy(dst):
    import llama_cpp
    p = llama_cpp.llama_model_quantize_default_params()
    p.ftype = llama_cpp.LLAMA_FTYPE_ALL_F32
    p.allow_requantize = True
    p.nthread = os.cpu_count() or 1
    if llama_cpp.llama_model_quantize(str(QWEN_PATH).encode(), str(dst).encode(), ctypes.byref(p)) != 0:
        raise RuntimeError("llama_model_quantize failed")


def transformers_logits(prompts_ids):
    """transformers' Qwen2 in float64 on the GGUF's dequantized weights (a cross-check of qwen2_torch.py)."""
    import transformers
    model = transformers.AutoModelForCausalLM.from_pretrained(
        str(QWEN_PATH.parent), gguf_file=QWEN_PATH.name, dtype=torch.float64, attn_implementation="eager").eval()
    with torch.no_grad():
        return [model(torch.tensor([ids])).logits[0, -1].numpy() for ids in prompts_ids]


def logits(sha):
    vocab = llama(QWEN_PATH, vocab_only=True)
    prompts_ids = [tokenize(vocab, p) for p in PROMPTS]
    n_vocab = vocab.n_vocab()
    del vocab
    probe_ids = np.sort(np.random.default_rng(PROBE_SEED).choice(n_vocab, N_PROBES, replace=False))
    lc = llama_logits(QWEN_PATH, prompts_ids)
    with tempfile.TemporaryDirectory() as td:
        f32 = os.path.join(td, "qwen-f32.gguf")
        f32_copy(f32)
        lc32 = llama_logits(f32, prompts_ids)
    tr = [reference().logits_last(ids).numpy() for ids in prompts_ids]
    _REF.clear()  # room for transformers' copy
    try:
        hf = transformers_logits(prompts_ids)
        hf_note = "transformers float64 on the GGUF (gguf dequantization)"
    except Exception as e:  # recorded, not fatal: the Java tests do not read it
        hf, hf_note = None, f"transformers could not load the GGUF: {e!r}"
    cases, worst = [], {}
    for p, ids, a, a32, t, h in zip(PROMPTS, prompts_ids, lc, lc32, tr, hf or [None] * len(PROMPTS)):
        d = {"llama_cpp_vs_torch": float(np.abs(a - t).max()),
             "llama_cpp_f32_vs_torch": float(np.abs(a32 - t).max()),
             "llama_cpp_vs_llama_cpp_f32": float(np.abs(a - a32).max())}
        if h is not None:
            d["transformers_fp64_vs_torch"] = float(np.abs(h - t).max())
        for k, v in d.items():
            worst[k] = max(worst.get(k, 0.0), v)
        cases.append({"prompt": p, "n": len(ids), "ids": ids, "max_abs_diff": d,
                      "llama_cpp": summarize(a, probe_ids), "llama_cpp_f32": summarize(a32, probe_ids),
                      "torch_fp64": summarize(t, probe_ids)})
        print(f"n={len(ids):3d} argmax lc={cases[-1]['llama_cpp']['argmax']} lc32={cases[-1]['llama_cpp_f32']['argmax']} "
              f"torch={cases[-1]['torch_fp64']['argmax']} " + " ".join(f"{k}={v:.3g}" for k, v in d.items()) + f" {p[:30]!r}")
    vers = versions()
    write_json(QWEN_FIXTURE_DIR / "logits.json", {
        "tool": f"llama-cpp-python {vers.get('llama-cpp-python')} and reference/qwen2_torch.py",
        "versions": vers, "model": "qwen2.5-coder-0.5b.gguf", "model_sha256": sha, "position": "last",
        "llama_cpp_settings": {"n_ctx": N_CTX, "type_k": "f32", "type_v": "f32", "flash_attn": False, "device": "cpu"},
        "sources": {"llama_cpp": "llama.cpp on the Q4_K_M GGUF (activations quantized to 8 bit in quantized matmuls)",
                    "llama_cpp_f32": "llama.cpp on an F32 copy of the GGUF (same weight values, fp32 matmuls)",
                    "torch_fp64": "reference/qwen2_torch.py, exactly dequantized weights, float64"},
        "cross_check": hf_note, "probe_seed": PROBE_SEED, "probe_ids": [int(i) for i in probe_ids],
        "max_abs_diff": worst, "cases": cases}, compact=True)
    print("overall max abs diff:", worst)


# ---------------------------------------------------------------- jacobians

def jvp(f, x, v):
    """J·v of the (detached, affine) f at x."""
    return torch.func.jvp(f, (x,), (v,))[1]


def jacobians(sha):
    vocab = llama(QWEN_PATH, vocab_only=True)
    ref = reference()
    d = ref.d
    rows = np.sort(np.random.default_rng(ROWS_SEED).choice(d, N_ROWS, replace=False)).astype(np.int64)
    for case, prompt in JACOBIAN_CASES.items():
        ids = tokenize(vocab, prompt)
        n = len(ids)
        out = QWEN_FIXTURE_DIR / "jacobian" / case
        out.mkdir(parents=True, exist_ok=True)
        x = ref.embed(ids)
        f = lambda xx: ref.y_last(xx, detach=True)  # noqa: E731
        with torch.no_grad():
            y = f(x)
            y_plain = ref.y_last(x, detach=False)
        # rows of every J_i by reverse mode: (n, r, d)
        _, pullback = torch.func.vjp(f, x)
        j_rows = torch.stack([pullback(torch.eye(d, dtype=torch.float64)[r])[0] for r in rows], dim=1)
        tangents = torch.from_numpy(np.random.default_rng(TANGENT_SEED).standard_normal((n, N_TANGENTS, d)))  # (n, k, d)
        jv = torch.stack([jvp(f, x, tangents[:, c]) for c in range(N_TANGENTS)])  # (k, d)
        jx = jvp(f, x, x)
        c = y - jx
        meta = {"tool": "reference/make_qwen_fixtures.py (qwen2_torch.py, torch.func vjp/jvp, float64)",
                "versions": versions(), "model_sha256": sha, "prompt": prompt, "n": n, "d": d,
                "rows_seed": ROWS_SEED, "tangent_seed": TANGENT_SEED,
                "y_detached_vs_plain_max_abs": float((y - y_plain).abs().max()),
                "c_norm_over_y_norm": float(c.norm() / y.norm()),
                "sites": {"layers": list(SITE_LAYERS), "sites": list(SITES)}}
        save(out / "ids.npy", ids, "<i8")
        save(out / "x.npy", x)
        save(out / "y.npy", y)
        save(out / "rows.npy", rows, "<i8")
        save(out / "J_rows.npy", j_rows)
        save(out / "V.npy", tangents)
        save(out / "JV.npy", jv)
        save(out / "c.npy", c)
        print(f"{case}: n={n} |c|/|y|={meta['c_norm_over_y_norm']:.3e}", flush=True)
        if case == "fib":
            for il in SITE_LAYERS:
                with torch.no_grad():
                    h_in = ref.stream(x, 0, il, detach=True)
                for site in SITES:
                    cum = lambda xx: ref.site(ref.stream(xx, 0, il, detach=True), il, site)  # noqa: E731
                    lw = lambda hh: ref.site(hh, il, site)  # noqa: E731
                    with torch.no_grad():
                        ys = cum(x)
                    tag = f"L{il}_{site}"
                    save(out / f"{tag}_y.npy", ys)
                    save(out / f"{tag}_JV.npy", torch.stack([jvp(cum, x, tangents[:, c]) for c in range(N_TANGENTS)]))
                    c_cum, c_lw = ys - jvp(cum, x, x), ys - jvp(lw, h_in, h_in)
                    save(out / f"{tag}_c_cumulative.npy", c_cum)
                    save(out / f"{tag}_c_layerwise.npy", c_lw)
                    meta[f"{tag}_c_norm_over_y_norm"] = [float(c_cum.norm() / ys.norm()), float(c_lw.norm() / ys.norm())]
                    print(f"  {tag}: |c_cum|/|y| {meta[f'{tag}_c_norm_over_y_norm'][0]:.3e} "
                          f"|c_lw|/|y| {meta[f'{tag}_c_norm_over_y_norm'][1]:.3e}", flush=True)
        write_json(out / "meta.json", meta)


def main(parts):
    sha = check_qwen_model()
    for part in parts or ["tokens", "jacobians", "logits"]:
        {"tokens": tokens, "logits": logits, "jacobians": jacobians}[part](sha)


if __name__ == "__main__":
    torch.set_num_threads(os.cpu_count() or 1)
    main(sys.argv[1:])
