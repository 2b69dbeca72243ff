"""Writes a synthetic GGUF with a real model's configuration and random Q4_K_M-like weights.

For the scale benchmarks only: the numbers are random, while the shapes, tensor types and metadata are
those of the real checkpoint, so time, memory and disk traffic are what that model would cost.

Configurations (--config, the published ones):
  gemma3-4b      Gemma 3 4B's text decoder: d=2560, 34 layers, ffn 10240, 8 heads, 4 KV heads, head_dim 256,
                 vocab 262144, sliding window 1024, rope base 1e6, linear rope scaling 8; ~2.5 GB.
                 Tokenizer: the Gemma 3 270M GGUF's (the same vocabulary).
  llama3.1-8b    Llama 3.1 8B: d=4096, 32 layers, ffn 14336, 32 heads, 8 KV heads, head_dim 128, vocab 128256,
                 rope base 500000 with llama3 frequency scaling (factor 8, low 1, high 4, original context
                 8192) stored as rope_freqs; untied output; ~4.9 GB.
  llama3.3-70b   Llama 3.3 70B: d=8192, 80 layers, ffn 28672, 64 heads, 8 KV heads, head_dim 128, the same
                 vocabulary and RoPE; ~42.5 GB.
The Llama tokenizer is byte-level BPE with the llama-bpe pre-tokenizer over a 128256-token vocabulary: the
first 128000 tokens of the Qwen 2.5 GGUF's (its ids are merge ranks, so a prefix with the merges that stay
inside it is a valid BPE vocabulary) and Llama 3's 256 special tokens (<|begin_of_text|> = 128000 is BOS).

Tensor types follow llama.cpp's Q4_K_M recipe (llama_tensor_get_type): attn_v and ffn_down Q6_K on the first
and last eighth of the layers and every third layer between, otherwise Q4_K (attn_v Q5_K for the 70B, as
llama.cpp raises it there); the other matrices Q4_K; output Q6_K; norms F32 (ones). Quantized blocks are
random bytes with their scale fields set so weights have mean ~0 and standard deviation ~0.02. The file is
written to a temporary name and renamed when complete.

Usage: /opt/linlens-ref/bin/python bench/make_synthetic_model.py [--config NAME] [OUT.gguf]
       (default OUT: ~/.cache/linlens/synthetic/<config>-synthetic-q4_k_m.gguf; never committed)
"""
import argparse
import math
import os
import sys
from pathlib import Path

import numpy as np
import gguf
from gguf import GGMLQuantizationType as Q, GGUFReader, GGUFWriter
from gguf.constants import GGML_QUANT_SIZES

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "reference"))
from common import MODEL_PATH, check_model  # noqa: E402

QWEN_PATH = Path(os.environ.get("LINLENS_QWEN", str(Path.home() / ".cache" / "linlens" / "models"
                                                     / "qwen2.5-coder-0.5b.gguf")))
LLAMA_ROPE = dict(rope_base=500000.0, rope_factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0, original_context=8192)
CONFIGS = {
    "gemma3-4b": dict(arch="gemma3", name="Gemma 3 4B (synthetic random weights)", dim=2560, layers=34, ffn=10240,
                      heads=8, kv_heads=4, head_dim=256, vocab=262144, context=131072, window=1024, rope_base=1e6,
                      rope_scale=8.0, eps=1e-6),
    "llama3.1-8b": dict(arch="llama", name="Llama 3.1 8B (synthetic random weights)", dim=4096, layers=32, ffn=14336,
                        heads=32, kv_heads=8, head_dim=128, vocab=128256, context=131072, eps=1e-5, **LLAMA_ROPE),
    "llama3.3-70b": dict(arch="llama", name="Llama 3.3 70B (synthetic random weights)", dim=8192, layers=80, ffn=28672,
                         heads=64, kv_heads=8, head_dim=128, vocab=128256, context=131072, eps=1e-5, v_type=Q.Q5_K,
                         **LLAMA_ROPE),
}
SEED = 20251124


def f16_bytes(x):
    return np.frombuffer(np.float16(x).tobytes(), np.uint8)


def random_blocks(rng, qtype, n_blocks):
    """Random blocks of a k-quant type, scale fields set for mean ~0 and std ~0.02."""
    size = GGML_QUANT_SIZES[qtype][1]
    b = np.frombuffer(rng.bytes(n_blocks * size), np.uint8).reshape(n_blocks, size).copy()
    if qtype == Q.Q4_K:    # f16 d, f16 dmin, 12 bytes 6-bit scales/mins, 128 bytes nibbles: w = d·sc·q − dmin·m
        b[:, 0:2] = f16_bytes(1e-4)
        b[:, 2:4] = f16_bytes(7.5e-4)   # dmin·E[m] ≈ d·E[sc]·E[q] (E[q] = 7.5): mean ~0
    elif qtype == Q.Q5_K:  # as Q4_K with a fifth bit (32 bytes qh): E[q] = 15.5
        b[:, 0:2] = f16_bytes(5e-5)
        b[:, 2:4] = f16_bytes(7.75e-4)
    elif qtype == Q.Q6_K:  # 128 bytes low bits, 64 bytes high bits, 16 int8 scales, f16 d: w = d·scale·(q − 32)
        b[:, 192:208] = rng.integers(1, 17, size=(n_blocks, 16), dtype=np.uint8)
        b[:, 208:210] = f16_bytes(1e-4)
    else:
        raise ValueError(qtype)
    return b


def random_matrix(rng, rows, cols, qtype):
    block, size = GGML_QUANT_SIZES[qtype]
    return random_blocks(rng, qtype, rows * cols // block).reshape(rows, cols // block * size)


def more_bits(il, n):
    """llama.cpp's use_more_bits: the first and last eighth of the layers and every third layer between."""
    return il < n // 8 or il >= 7 * n // 8 or (il - n // 8) % 3 == 2


def llama3_rope_factors(c):
    """Per-frequency divisors of Llama 3's RoPE scaling, as llama.cpp's converter stores them (rope_freqs)."""
    hd = c["head_dim"]
    low_wavelen = c["original_context"] / c["low_freq_factor"]
    high_wavelen = c["original_context"] / c["high_freq_factor"]
    out = []
    for i in range(0, hd, 2):
        freq = 1.0 / c["rope_base"] ** (i / hd)
        wavelen = 2 * math.pi / freq
        if wavelen < high_wavelen:
            out.append(1.0)
        elif wavelen > low_wavelen:
            out.append(c["rope_factor"])
        else:
            smooth = (c["original_context"] / wavelen - c["low_freq_factor"]) / (c["high_freq_factor"] - c["low_freq_factor"])
            out.append(1 / ((1 - smooth) / c["rope_factor"] + smooth))
    return np.array(out, dtype=np.float32)


def tensors(c):
    """(name, shape as (rows, cols) or (n,), type) in file order."""
    L, d, F, hd = c["layers"], c["dim"], c["ffn"], c["head_dim"]
    qd, kvd = c["heads"] * hd, c["kv_heads"] * hd
    gemma = c["arch"] == "gemma3"
    out = [("token_embd.weight", (c["vocab"], d), Q.Q6_K if gemma else Q.Q4_K)]
    if not gemma:
        out.append(("rope_freqs.weight", (hd // 2,), Q.F32))
    for il in range(L):
        mb = more_bits(il, L)
        p = f"blk.{il}."
        out += [(p + "attn_norm.weight", (d,), Q.F32), (p + "attn_q.weight", (qd, d), Q.Q4_K),
                (p + "attn_k.weight", (kvd, d), Q.Q4_K),
                (p + "attn_v.weight", (kvd, d), Q.Q6_K if mb else c.get("v_type", Q.Q4_K))]
        if gemma:
            out += [(p + "attn_q_norm.weight", (hd,), Q.F32), (p + "attn_k_norm.weight", (hd,), Q.F32)]
        out += [(p + "attn_output.weight", (d, qd), Q.Q4_K)]
        if gemma:
            out += [(p + "post_attention_norm.weight", (d,), Q.F32)]
        out += [(p + "ffn_norm.weight", (d,), Q.F32), (p + "ffn_gate.weight", (F, d), Q.Q4_K),
                (p + "ffn_up.weight", (F, d), Q.Q4_K),
                (p + "ffn_down.weight", (d, F), Q.Q6_K if mb else Q.Q4_K)]
        if gemma:
            out += [(p + "post_ffw_norm.weight", (d,), Q.F32)]
    out.append(("output_norm.weight", (d,), Q.F32))
    if not gemma:
        out.append(("output.weight", (c["vocab"], d), Q.Q6_K))
    return out


def copy_gemma_tokenizer(w):
    src = GGUFReader(str(MODEL_PATH))
    f = lambda k: src.fields[k].contents()  # noqa: E731
    w.add_tokenizer_model(f("tokenizer.ggml.model"))
    w.add_tokenizer_pre(f("tokenizer.ggml.pre"))
    w.add_token_list(f("tokenizer.ggml.tokens"))
    w.add_token_scores(f("tokenizer.ggml.scores"))
    w.add_token_types(f("tokenizer.ggml.token_type"))
    w.add_bos_token_id(f("tokenizer.ggml.bos_token_id"))
    w.add_eos_token_id(f("tokenizer.ggml.eos_token_id"))
    w.add_unk_token_id(f("tokenizer.ggml.unknown_token_id"))
    w.add_pad_token_id(f("tokenizer.ggml.padding_token_id"))
    w.add_add_bos_token(f("tokenizer.ggml.add_bos_token"))
    w.add_add_eos_token(f("tokenizer.ggml.add_eos_token"))
    w.add_add_space_prefix(f("tokenizer.ggml.add_space_prefix"))


def add_llama_tokenizer(w, vocab):
    """Llama 3's layout over the Qwen 2.5 vocabulary's first vocab−256 tokens (see the module docstring)."""
    if not QWEN_PATH.exists():
        sys.exit(f"{QWEN_PATH}: the Qwen 2.5 GGUF is missing (bin/linlens models fetch qwen2.5-coder-0.5b)")
    src = GGUFReader(str(QWEN_PATH))
    ordinary = vocab - 256
    tokens = list(src.fields["tokenizer.ggml.tokens"].contents()[:ordinary])
    kept = set(tokens)
    merges = [m for m in src.fields["tokenizer.ggml.merges"].contents()
              if (lambda a, b: a in kept and b in kept and a + b in kept)(*m.split(" ", 1))]
    specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>",
                "<|reserved_special_token_1|>", "<|finetune_right_pad_id|>", "<|reserved_special_token_2|>",
                "<|start_header_id|>", "<|end_header_id|>", "<|eom_id|>", "<|eot_id|>", "<|python_tag|>"]
    specials += [f"<|reserved_special_token_{i}|>" for i in range(3, 3 + 256 - len(specials))]
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("llama-bpe")
    w.add_token_list(tokens + specials)
    w.add_token_types([1] * ordinary + [3] * 256)
    w.add_token_merges(merges)
    w.add_bos_token_id(ordinary)
    w.add_eos_token_id(ordinary + 1)
    w.add_add_bos_token(True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", choices=sorted(CONFIGS), default="gemma3-4b")
    ap.add_argument("out", nargs="?")
    a = ap.parse_args()
    c = CONFIGS[a.config]
    out = Path(a.out) if a.out else Path.home() / ".cache" / "linlens" / "synthetic" / f"{a.config}-synthetic-q4_k_m.gguf"
    out.parent.mkdir(parents=True, exist_ok=True)
    specs = tensors(c)
    tmp = out.with_name(out.name + ".tmp")
    w = GGUFWriter(str(tmp), c["arch"])
    w.add_name(c["name"])
    w.add_context_length(c["context"])
    w.add_embedding_length(c["dim"])
    w.add_block_count(c["layers"])
    w.add_feed_forward_length(c["ffn"])
    w.add_head_count(c["heads"])
    w.add_head_count_kv(c["kv_heads"])
    w.add_layer_norm_rms_eps(c["eps"])
    w.add_rope_freq_base(c["rope_base"])
    w.add_file_type(15)  # MOSTLY_Q4_K_M
    if c["arch"] == "gemma3":
        check_model()
        w.add_key_length(c["head_dim"])
        w.add_value_length(c["head_dim"])
        w.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
        w.add_rope_scaling_factor(c["rope_scale"])
        w.add_sliding_window(c["window"])
        copy_gemma_tokenizer(w)
    else:
        w.add_rope_dimension_count(c["head_dim"])
        w.add_vocab_size(c["vocab"])
        add_llama_tokenizer(w, c["vocab"])
    for name, shape, qt in specs:
        if qt == Q.F32:
            w.add_tensor_info(name, shape, np.dtype(np.float32), shape[0] * 4)
        else:
            block, size = GGML_QUANT_SIZES[qt]
            byte_shape = (shape[0], shape[1] // block * size)
            w.add_tensor_info(name, byte_shape, np.dtype(np.uint8), byte_shape[0] * byte_shape[1], raw_dtype=qt)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    rng = np.random.default_rng(SEED)
    params = 0
    for name, shape, qt in specs:
        params += int(np.prod(shape))
        if name == "rope_freqs.weight":
            w.write_tensor_data(llama3_rope_factors(c))
        elif qt == Q.F32:
            w.write_tensor_data(np.ones(shape, dtype=np.float32))
        else:
            w.write_tensor_data(random_matrix(rng, shape[0], shape[1], qt))
    w.close()
    os.replace(tmp, out)
    print(f"wrote {out}: {params / 1e9:.2f}B parameters, {out.stat().st_size / 1e9:.2f} GB")


if __name__ == "__main__":
    main()
