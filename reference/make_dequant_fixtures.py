#!/usr/bin/env python3
"""Writes the reference fixtures that DequantTest checks Dequant.toFloat against.

The reference is gguf-py (the `gguf` package, 0.19.x), an implementation independent of ours:
its numpy dequantizers follow llama.cpp's dequantize_row_* in float32.

  python -m venv /opt/dequant-venv && /opt/dequant-venv/bin/pip install gguf==0.19.0 numpy
  /opt/dequant-venv/bin/python reference/make_dequant_fixtures.py [path/to/gemma-3-270m.gguf]

Outputs, under src/test/resources/reference/dequant/ (all little endian):

<TYPE>.bin: synthetic blocks of one type.
    "LLDQ", u32 ggml type id, u32 value count n, u32 byte count m, m raw bytes, n float32.
gemma-3-270m.bin: rows of the real model, dequantized by gguf-py.
    "LLDM", u32 record count, then per record: u16 name length, UTF-8 name, u32 ggml type id,
    u32 row, u32 values per row n, u32 CRC-32 of the row's stored bytes, n float32.

The data is seeded, so reruns give the same files.
"""
import os
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from gguf.quants import dequantize, quantize

OUT = Path(__file__).resolve().parent.parent / "src/test/resources/reference/dequant"
MODEL = Path(os.path.expanduser("~/.cache/linlens/models/gemma-3-270m.gguf"))

# Byte offsets of the f16 scale fields inside each block type (see ggml-common.h).
HALF_FIELDS = {
    T.Q8_0: [0], T.Q4_0: [0], T.Q4_1: [0, 2], T.Q5_0: [0], T.Q5_1: [0, 2],
    T.Q2_K: [80, 82], T.Q3_K: [108], T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208],
}
# Types gguf-py can also quantize: for those some blocks come from quantizing real-looking data.
QUANTIZABLE = {T.Q8_0, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1}


def random_halves(rng, k):
    """Sane scales of both signs over a wide range of magnitudes (no inf/nan)."""
    mag = 10.0 ** rng.uniform(-6, 1, size=k)
    return (mag * rng.choice([-1.0, 1.0], size=k)).astype(np.float16)


def set_halves(blocks, qtype, values):
    """Writes float16 values into every scale field of every block (values cycle)."""
    fields = HALF_FIELDS[qtype]
    raw = np.asarray(values, dtype=np.float16).view(np.uint8).reshape(-1, 2)
    k = 0
    for b in range(blocks.shape[0]):
        for off in fields:
            blocks[b, off:off + 2] = raw[k % len(raw)]
            k += 1


def quant_blocks(qtype, rng):
    block_size, type_size = gguf.GGML_QUANT_SIZES[qtype]
    parts = []
    if qtype in QUANTIZABLE:
        # Weight-like data, one block all zero and one with a single outlier.
        x = rng.normal(0, 0.05, size=(6, block_size)).astype(np.float32)
        x[1] = 0
        x[2, 7] = -3.0
        parts.append(quantize(x, qtype).reshape(-1, type_size))
    # Random bytes with sane random scales of both signs.
    rnd = rng.integers(0, 256, size=(8, type_size), dtype=np.uint8)
    set_halves(rnd, qtype, random_halves(rng, 8 * len(HALF_FIELDS[qtype])))
    parts.append(rnd)
    # Edge cases: all quant bits set / clear, with extreme scales (max f16, smallest subnormal, -0),
    # and a negative scale on zero quants (the sign of zero shows the order of operations).
    edge = np.zeros((5, type_size), dtype=np.uint8)
    edge[0] = edge[1] = 0xFF
    edge[3] = 0xAA
    set_halves(edge[0:1], qtype, [65504.0, -65504.0])
    set_halves(edge[1:2], qtype, [-1.0, 0.5])
    set_halves(edge[2:3], qtype, [2.0 ** -24, -2.0 ** -14])
    set_halves(edge[3:4], qtype, [-0.0, 1.0])
    set_halves(edge[4:5], qtype, [-1.0, 0.0])
    parts.append(edge)
    blocks = np.concatenate(parts)
    return blocks.tobytes(), dequantize(blocks, qtype).reshape(-1).astype(np.float32)


def quiet_nans(bits16, exp_mask, quiet_bit):
    """Replaces signaling NaN patterns by quiet ones: no model stores them and CPUs may quiet them on load."""
    nan = ((bits16 & exp_mask) == exp_mask) & ((bits16 & ~np.uint16(exp_mask | 0x8000)) != 0)
    return np.where(nan, bits16 | np.uint16(quiet_bit), bits16)


def float_blocks(qtype, rng):
    if qtype == T.F32:
        x = rng.normal(0, 1, size=250).astype(np.float32)
        specials = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, -3.4e38, 1.17549435e-38], dtype=np.float32)
        raw = np.concatenate([x, specials])
        return raw.tobytes(), dequantize(raw.view(np.uint8), qtype)
    if qtype in (T.F16, T.BF16):
        bits = rng.integers(0, 1 << 16, size=512, dtype=np.uint16)
        bits = quiet_nans(bits, 0x7C00, 0x0200) if qtype == T.F16 else quiet_nans(bits, 0x7F80, 0x0040)
        bits[:6] = [0x0000, 0x8000, 0x0001, 0x8001, 0x7C00 if qtype == T.F16 else 0x7F80, 0x3C00]
        return bits.tobytes(), dequantize(bits.view(np.uint8), qtype).reshape(-1)
    # No gguf-py dequantizer exists for these: the reference is numpy's round-to-nearest cast.
    if qtype == T.F64:
        x = rng.normal(0, 1, size=120) * 10.0 ** rng.uniform(-40, 40, size=120)
        x = np.concatenate([x, [1e300, -1e300, 1e-300, 0.1, 1 + 2.0 ** -24, 1 + 3 * 2.0 ** -25, np.nan, -0.0]])
        with np.errstate(over="ignore"):
            return x.astype("<f8").tobytes(), x.astype(np.float32)
    dtype = {T.I8: "<i1", T.I16: "<i2", T.I32: "<i4"}[qtype]
    info = np.iinfo(dtype)
    x = rng.integers(info.min, info.max, size=256, endpoint=True).astype(dtype)
    x[:3] = [info.min, info.max, 0]
    return x.tobytes(), x.astype(np.float32)


def write_type(qtype, raw, values):
    values = np.asarray(values, dtype="<f4")
    with open(OUT / f"{qtype.name}.bin", "wb") as f:
        f.write(b"LLDQ" + struct.pack("<III", int(qtype), values.size, len(raw)))
        f.write(raw)
        f.write(values.tobytes())


def write_model_rows(path):
    reader = gguf.GGUFReader(path)
    tensors = {t.name: t for t in reader.tensors}
    # Several tensors of every type in the file, first/middle/last rows.
    picks = [
        ("output_norm.weight", [0]),
        ("token_embd.weight", [0, 2, 106, 262143]),
        ("blk.0.attn_k.weight", [0, 255]),
        ("blk.5.ffn_gate.weight", [1000]),
        ("blk.0.attn_v.weight", [17]),
        ("blk.0.attn_output.weight", [0, 639]),
        ("blk.17.attn_output.weight", [300]),
        ("blk.0.ffn_down.weight", [0, 320]),
        ("blk.17.ffn_down.weight", [639]),
    ]
    records = []
    for name, rows in picks:
        t = tensors[name]
        data = t.data.reshape(-1, t.data.shape[-1])
        for r in rows:
            row = np.ascontiguousarray(data[r])
            raw = row.view(np.uint8)
            values = dequantize(raw, t.tensor_type).reshape(-1)
            records.append((name, t.tensor_type, r, zlib.crc32(raw.tobytes()), values.astype("<f4")))
    with open(OUT / "gemma-3-270m.bin", "wb") as f:
        f.write(b"LLDM" + struct.pack("<I", len(records)))
        for name, qtype, r, crc, values in records:
            nb = name.encode()
            f.write(struct.pack("<H", len(nb)) + nb)
            f.write(struct.pack("<IIII", int(qtype), r, values.size, crc))
            f.write(values.tobytes())


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(20240611)
    for qtype in [T.F32, T.F16, T.BF16, T.F64, T.I8, T.I16, T.I32]:
        write_type(qtype, *float_blocks(qtype, rng))
    for qtype in HALF_FIELDS:
        write_type(qtype, *quant_blocks(qtype, rng))
    write_model_rows(Path(sys.argv[1]) if len(sys.argv) > 1 else MODEL)


if __name__ == "__main__":
    main()
