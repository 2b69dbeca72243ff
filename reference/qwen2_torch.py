"""Independent plain-PyTorch reference of the Qwen 2 / 2.5 decoder, read straight from a GGUF file.

Weights are dequantized exactly (gguf.quants.dequantize) and held in float64; hyperparameters come
from the GGUF metadata (qwen2.* keys). The block, as llama.cpp's src/models/qwen2.cpp builds it:
  x = token_embd[ids] (no scale); per layer
  h += attn_output · attn(RoPE_neox(attn_q·x̂ + bq), RoPE_neox(attn_k·x̂ + bk), attn_v·x̂ + bv),
       x̂ = attn_norm ⊙ x·r, r = 1/sqrt(mean(x²) + eps); causal softmax, q scaled by 1/sqrt(head_dim),
       query head h reads kv head h // (H / KV); no output bias;
  h += ffn_down · (silu(ffn_gate · x̂) ⊙ ffn_up · x̂), x̂ = ffn_norm ⊙ h·r;
  y = output_norm ⊙ h·r, logits = output · y (output.weight, or token_embd when absent).

Detached (docs/METHOD.md): every 1/rms per position, the attention probabilities and the whole
silu(gate) vector (path "up") or sigmoid(gate) and up (path "gate") are held fixed; y is then an
affine function of x: the q/k biases only enter the frozen probabilities, the value bias adds a
constant c, so y = Σ_i J_i x_i + c.

Sites (METHOD.md section 5), at the last position, before the frozen final norm: "attn" the
attention branch's output, "mlp" the MLP branch's output, "layer" the residual stream after the
layer.
"""
import math

import numpy as np
import torch
from gguf import GGUFReader
from gguf.quants import dequantize

ARCH = "qwen2"


def _field(reader, key, default=None):
    f = reader.fields.get(key)
    return default if f is None else f.contents()


class Qwen2Ref:
    def __init__(self, path, dtype=torch.float64):
        self.reader = GGUFReader(str(path))
        k = lambda name, default=None: _field(self.reader, f"{ARCH}.{name}", default)  # noqa: E731
        arch = _field(self.reader, "general.architecture")
        if arch != ARCH:
            raise ValueError(f"not a qwen2 GGUF: general.architecture={arch!r}")
        self.d = int(k("embedding_length"))
        self.n_layer = int(k("block_count"))
        self.n_head = int(k("attention.head_count"))
        self.n_head_kv = int(k("attention.head_count_kv"))
        self.head_dim = self.d // self.n_head
        self.eps = float(k("attention.layer_norm_rms_epsilon"))
        self.rope_base = float(k("rope.freq_base", 10000.0))
        assert k("rope.scaling.type") in (None, "none"), "rope scaling is not modelled here"
        self.dtype = dtype
        self.tensor_types = {}
        self.w = {}
        for t in self.reader.tensors:
            arr = dequantize(t.data, t.tensor_type)  # shape = reversed GGUF ne (rows = outputs)
            self.tensor_types[t.name] = t.tensor_type.name
            self.w[t.name] = torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float64)).to(dtype)
        self.tok_embd = self.w["token_embd.weight"]
        self.output = self.w.get("output.weight", self.tok_embd)

    # ----- building blocks -----
    def rmsnorm(self, x, weight, detach):
        r = torch.rsqrt(x.pow(2).mean(dim=-1, keepdim=True) + self.eps)
        return x * (r.detach() if detach else r) * weight

    def rope(self, x):
        """NEOX rotary embedding (halves rotate against each other) over the whole head. x: (n, h, hd)."""
        n, _, hd = x.shape
        half = hd // 2
        inv = self.rope_base ** (-torch.arange(0, half, dtype=torch.float64) * 2.0 / hd)
        ang = torch.arange(n, dtype=torch.float64)[:, None] * inv[None, :]
        cos, sin = torch.cos(ang)[:, None, :], torch.sin(ang)[:, None, :]
        x1, x2 = x[..., :half], x[..., half:]
        return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)

    def linear(self, x, name):
        out = x @ self.w[name + ".weight"].T
        b = self.w.get(name + ".bias")
        return out if b is None else out + b

    def attention(self, il, xn, detach):
        p = f"blk.{il}."
        n, H, KV, hd = xn.shape[0], self.n_head, self.n_head_kv, self.head_dim
        q = self.rope(self.linear(xn, p + "attn_q").view(n, H, hd)) / math.sqrt(hd)
        k = self.rope(self.linear(xn, p + "attn_k").view(n, KV, hd))
        v = self.linear(xn, p + "attn_v").view(n, KV, hd)
        kh, vh = k.repeat_interleave(H // KV, dim=1), v.repeat_interleave(H // KV, dim=1)
        scores = torch.einsum("thd,shd->hts", q, kh)
        scores = scores.masked_fill(torch.ones(n, n, dtype=torch.bool).triu(1)[None], float("-inf"))
        probs = torch.softmax(scores, dim=-1)
        if detach:
            probs = probs.detach()
        o = torch.einsum("hts,shd->thd", probs, vh).reshape(n, H * hd)
        return self.linear(o, p + "attn_output")

    def mlp(self, il, xn, detach, mlp_path="up"):
        p = f"blk.{il}."
        g, u = self.linear(xn, p + "ffn_gate"), self.linear(xn, p + "ffn_up")
        if detach and mlp_path == "gate":
            h = g * (torch.sigmoid(g) * u).detach()  # silu(g) = g·sigmoid(g): sigmoid(g) and up frozen
        else:
            a = torch.nn.functional.silu(g)
            h = (a.detach() if detach else a) * u
        return self.linear(h, p + "ffn_down")

    def layer(self, il, h, detach, mlp_path="up"):
        """Layer il on the residual stream h (n, d): (attention branch, MLP branch, stream after)."""
        p = f"blk.{il}."
        a = self.attention(il, self.rmsnorm(h, self.w[p + "attn_norm.weight"], detach), detach)
        h = h + a
        m = self.mlp(il, self.rmsnorm(h, self.w[p + "ffn_norm.weight"], detach), detach, mlp_path)
        return a, m, h + m

    # ----- forward -----
    def embed(self, ids):
        return self.tok_embd[torch.as_tensor(np.asarray(ids, dtype=np.int64))].clone()

    def stream(self, h, first, last, detach, mlp_path="up"):
        """The residual stream after layers first..last-1 applied to h."""
        for il in range(first, last):
            h = self.layer(il, h, detach, mlp_path)[2]
        return h

    def final_norm(self, v, detach):
        return self.rmsnorm(v, self.w["output_norm.weight"], detach)

    def y_last(self, x, detach=False, mlp_path="up"):
        return self.final_norm(self.stream(x, 0, self.n_layer, detach, mlp_path)[-1], detach)

    def site(self, h_in, il, site, detach=True):
        """The frozen final norm of a site of layer il at the last position, from the stream entering layer il."""
        a, m, out = self.layer(il, h_in, detach)
        return self.final_norm({"attn": a, "mlp": m, "layer": out}[site][-1], detach)

    def logits_last(self, ids):
        with torch.no_grad():
            return self.y_last(self.embed(ids)) @ self.output.T
