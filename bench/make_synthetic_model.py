"""Writes a synthetic Gemma 3 GGUF with a real model's configuration and random Q4_K_M-like weights.

For the scale benchmark only: the numbers are random, the shapes, tensor types and metadata are those of
a real checkpoint, so time and memory are what that model would cost. Default configuration: Gemma 3 4B's
text decoder (d=2560, 34 layers, ffn 10240, 8 heads, 4 KV heads, head_dim 256, vocab 262144,
sliding window 1024, rope base 1e6, linear rope scaling 8 on global layers), 3.9B parameters.

Tensor types follow llama.cpp's Q4_K_M recipe: token_embd Q6_K; attn_v and ffn_down Q6_K on the first
and last eighth of the layers and every third layer between, Q4_K elsewhere; the other matrices Q4_K;
norms F32 (ones, i.e. Gemma's (1+γ) with γ=0). Quantized blocks are random bytes with their scale fields
set so weights have mean ~0 and standard deviation ~0.02. The tokenizer is copied from the Gemma 3 270M
GGUF (same 262144-token vocabulary). The file is written to a temporary name and renamed when complete.

Usage: /opt/linlens-ref/bin/python bench/make_synthetic_model.py [OUT.gguf]
       (default ~/.cache/linlens/synthetic/gemma3-4b-synthetic-q4_k_m.gguf; ~2.5 GB; not for committing)
"""
import os
import sys
from pathlib import Path

import numpy as np
from gguf import GGMLQuantizationType as Q, GGUFReader, GGUFWriter
from gguf.constants import GGML_QUANT_SIZES

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "reference"))
from common import MODEL_PATH, check_model  # noqa: E402

CONFIG = dict(name="Gemma 3 4B (synthetic random weights)", dim=2560, layers=34, ffn=10240, heads=8, kv_heads=4,
              head_dim=256, vocab=262144, context=131072, window=1024, rope_base=1e6, rope_scale=8.0, eps=1e-6)
SEED = 20251124


def q4_k_blocks(rng, n_blocks):
    """Q4_K: f16 d, f16 dmin, 12 bytes of 6-bit scales/mins, 128 bytes of nibbles; w = d·sc·q − dmin·m."""
    b = rng.integers(0, 256, size=(n_blocks, 144), dtype=np.uint8)
    b[:, 0:2] = np.frombuffer(np.float16(1e-4).tobytes(), np.uint8)
    b[:, 2:4] = np.frombuffer(np.float16(7.5e-4).tobytes(), np.uint8)  # dmin·E[m] ≈ d·E[sc]·E[q]: mean ~0
    return b


def q6_k_blocks(rng, n_blocks):
    """Q6_K: 128 bytes low bits, 64 bytes high bits, 16 int8 scales, f16 d; w = d·scale·(q − 32)."""
    b = rng.integers(0, 256, size=(n_blocks, 210), dtype=np.uint8)
    b[:, 192:208] = rng.integers(1, 17, size=(n_blocks, 16), dtype=np.uint8)
    b[:, 208:210] = np.frombuffer(np.float16(1e-4).tobytes(), np.uint8)
    return b


def random_matrix(rng, rows, cols, qtype):
    block, size = GGML_QUANT_SIZES[qtype]
    n_blocks = rows * cols // block
    make = q4_k_blocks if qtype == Q.Q4_K else q6_k_blocks
    return make(rng, n_blocks).reshape(rows, cols // block * size)


def tensors(c):
    """(name, shape as (rows, cols) or (n,), type) in file order."""
    L, d, F, hd = c["layers"], c["dim"], c["ffn"], c["head_dim"]
    qd, kvd = c["heads"] * hd, c["kv_heads"] * hd
    out = [("token_embd.weight", (c["vocab"], d), Q.Q6_K)]
    for il in range(L):
        more_bits = il < L // 8 or il >= 7 * L // 8 or (il - L // 8) % 3 == 2
        p = f"blk.{il}."
        out += [(p + "attn_norm.weight", (d,), Q.F32), (p + "attn_q.weight", (qd, d), Q.Q4_K),
                (p + "attn_k.weight", (kvd, d), Q.Q4_K),
                (p + "attn_v.weight", (kvd, d), Q.Q6_K if more_bits else Q.Q4_K),
                (p + "attn_q_norm.weight", (hd,), Q.F32), (p + "attn_k_norm.weight", (hd,), Q.F32),
                (p + "attn_output.weight", (d, qd), Q.Q4_K), (p + "post_attention_norm.weight", (d,), Q.F32),
                (p + "ffn_norm.weight", (d,), Q.F32), (p + "ffn_gate.weight", (F, d), Q.Q4_K),
                (p + "ffn_up.weight", (F, d), Q.Q4_K),
                (p + "ffn_down.weight", (d, F), Q.Q6_K if more_bits else Q.Q4_K),
                (p + "post_ffw_norm.weight", (d,), Q.F32)]
    out.append(("output_norm.weight", (d,), Q.F32))
    return out


def copy_tokenizer(w, src):
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


def main():
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else \
        Path.home() / ".cache" / "linlens" / "synthetic" / "gemma3-4b-synthetic-q4_k_m.gguf"
    out.parent.mkdir(parents=True, exist_ok=True)
    check_model()
    c = CONFIG
    tmp = out.with_name(out.name + ".tmp")
    w = GGUFWriter(str(tmp), "gemma3")
    w.add_name(c["name"])
    w.add_context_length(c["context"])
    w.add_embedding_length(c["dim"])
    w.add_block_count(c["layers"])
    w.add_feed_forward_length(c["ffn"])
    w.add_head_count(c["heads"])
    w.add_head_count_kv(c["kv_heads"])
    w.add_key_length(c["head_dim"])
    w.add_value_length(c["head_dim"])
    w.add_layer_norm_rms_eps(c["eps"])
    w.add_rope_freq_base(c["rope_base"])
    w.add_rope_scaling_type(__import__("gguf").RopeScalingType.LINEAR)
    w.add_rope_scaling_factor(c["rope_scale"])
    w.add_sliding_window(c["window"])
    w.add_file_type(15)  # MOSTLY_Q4_K_M
    copy_tokenizer(w, GGUFReader(str(MODEL_PATH)))
    specs = tensors(c)
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
        if qt == Q.F32:
            w.write_tensor_data(np.ones(shape, dtype=np.float32))
        else:
            w.write_tensor_data(random_matrix(rng, shape[0], shape[1], qt))
    w.close()
    os.replace(tmp, out)
    print(f"wrote {out}: {params / 1e9:.2f}B parameters, {out.stat().st_size / 1e9:.2f} GB")


if __name__ == "__main__":
    main()
