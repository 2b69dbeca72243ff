"""Small safetensors files for SafetensorsTest, written by the `safetensors` package (torch API).

  single/model.safetensors      F32, F16, BF16 and F64 tensors (1-D, 2-D, 3-D)
  sharded/model-0000{1,2}-of-00002.safetensors + model.safetensors.index.json
  expected.npz -> one .npy per tensor under values/: the values as float64, decoded by torch

Run with the reference venv:  /opt/linlens-ref/bin/python reference/make_safetensors_fixtures.py
"""
import json
import shutil
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

OUT = Path(__file__).resolve().parent.parent / "src/test/resources/reference/safetensors"


def tensors():
    g = torch.Generator().manual_seed(7)
    r = lambda *s: torch.randn(*s, generator=g) * 3
    specials = torch.tensor([0.0, -0.0, 1.0, -2.5, 65504.0, 6.1e-5, 1e-7, 3.4e38, float("inf"), -float("inf")])
    return {
        "f32.matrix": r(5, 7).float(),
        "f16.matrix": r(4, 6).half(),
        "bf16.matrix": r(3, 8).bfloat16(),
        "f64.vector": r(9).double(),
        "f32.cube": r(2, 3, 4).float(),
        "f16.specials": specials.half(),
        "bf16.specials": specials.bfloat16(),
    }


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    (OUT / "single").mkdir(parents=True)
    (OUT / "sharded").mkdir()
    (OUT / "values").mkdir()
    ts = tensors()
    save_file(ts, OUT / "single/model.safetensors", metadata={"format": "pt"})
    names = list(ts)
    shards = {"model-00001-of-00002.safetensors": names[:3], "model-00002-of-00002.safetensors": names[3:]}
    weight_map = {}
    for shard, ns in shards.items():
        save_file({n: ts[n] for n in ns}, OUT / "sharded" / shard, metadata={"format": "pt"})
        weight_map.update({n: shard for n in ns})
    (OUT / "sharded/model.safetensors.index.json").write_text(
        json.dumps({"metadata": {"total_size": 0}, "weight_map": weight_map}, indent=2) + "\n")
    for n, t in ts.items():
        np.save(OUT / "values" / (n + ".npy"), t.double().numpy().astype("<f8"), allow_pickle=False)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
