"""Independent plain-PyTorch reference of the Gemma 3 text decoder, read straight from a GGUF file.

Weights are dequantized exactly (gguf.quants.dequantize) and held in float64. Hyperparameters come
from the GGUF metadata (gemma3.* keys). The forward pass can run "detached" (see
docs/METHOD.md, "Freezing the nonlinearities"): the per-position 1/rms factor of every RMSNorm, the whole activation
vector act(gate(x̂)) of the MLP (or, with mlp_path="gate", the factor act(g)/g and up(x̂)), and the
attention probabilities are treated as constants; y is then an exactly linear function of x.

Notation: x = scaled input embeddings (n × d), y = final-normed hidden state at the last position.

Usage (as a script): prints the GGUF facts, the logits for a prompt, and reconstruction errors.
"""
import math
import sys

import numpy as np
import torch
from gguf import GGUFReader
from gguf.quants import dequantize

ARCH = "gemma3"


def _field(reader, key, default=None):
    f = reader.fields.get(key)
    if f is None:
        return default
    return f.contents()


class Gemma3Config:
    def __init__(self, reader):
        arch = _field(reader, "general.architecture")
        if arch != ARCH:
            raise ValueError(f"not a gemma3 GGUF: general.architecture={arch!r}")
        k = lambda name, default=None: _field(reader, f"{ARCH}.{name}", default)  # noqa: E731
        self.n_embd = int(k("embedding_length"))
        self.n_layer = int(k("block_count"))
        self.n_ff = int(k("feed_forward_length"))
        self.n_head = int(k("attention.head_count"))
        self.n_head_kv = int(k("attention.head_count_kv"))
        self.head_dim = int(k("attention.key_length", self.n_embd // self.n_head))
        self.head_dim_v = int(k("attention.value_length", self.head_dim))
        self.eps = float(k("attention.layer_norm_rms_epsilon"))
        self.rope_base_global = float(k("rope.freq_base", 10000.0))
        # local (sliding-window) layers: llama.cpp's default is 10000 unless rope.freq_base_swa is present
        self.rope_base_local = float(k("rope.freq_base_swa", 10000.0))
        self.rope_dims = int(k("rope.dimension_count", self.head_dim))
        scaling_type = k("rope.scaling.type", None)
        scaling_factor = k("rope.scaling.factor", None)
        # linear rope scaling applies to the global layers only (local layers keep scale 1)
        if scaling_type in (None, "none") or not scaling_factor:
            self.rope_scale_global = 1.0
        elif scaling_type == "linear":
            self.rope_scale_global = 1.0 / float(scaling_factor)
        else:
            raise NotImplementedError(f"rope scaling {scaling_type!r}")
        self.rope_scaling_type = scaling_type
        self.n_swa = int(k("attention.sliding_window", 0) or 0)
        pattern = k("attention.sliding_window_pattern", None)
        if self.n_swa <= 0:
            self.is_swa = [False] * self.n_layer
        elif isinstance(pattern, list):  # per-layer booleans
            self.is_swa = [bool(v) for v in pattern]
        else:
            p = int(pattern) if pattern is not None else 6  # gemma3: 5 local, then 1 global
            self.is_swa = [(il % p) < (p - 1) for il in range(self.n_layer)] if p > 0 else [True] * self.n_layer
        self.swa_pattern = pattern if pattern is not None else 6
        # llama.cpp: 1/sqrt(head_dim) except the 27B (62 layers) which uses 1/sqrt(n_embd/n_head)
        # (= query_pre_attn_scalar**-0.5 in the HF config)
        if self.n_layer == 62:
            self.attn_scale = 1.0 / math.sqrt(self.n_embd / self.n_head)
        else:
            self.attn_scale = 1.0 / math.sqrt(self.head_dim)
        self.final_logit_softcap = float(k("final_logit_softcapping", 0.0) or 0.0)
        self.attn_logit_softcap = float(k("attn_logit_softcapping", 0.0) or 0.0)
        self.embed_scale = math.sqrt(self.n_embd)

    def as_dict(self):
        return dict(self.__dict__)


class Gemma3Ref:
    def __init__(self, path, dtype=torch.float64):
        self.path = str(path)
        self.reader = GGUFReader(self.path)
        self.cfg = Gemma3Config(self.reader)
        self.dtype = dtype
        self.tensor_types = {}
        self.w = {}
        for t in self.reader.tensors:
            arr = dequantize(t.data, t.tensor_type)  # numpy, shape = reversed GGUF ne (rows = out)
            self.tensor_types[t.name] = t.tensor_type.name
            self.w[t.name] = torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float64)).to(dtype)
        c = self.cfg
        self.tok_embd = self.w["token_embd.weight"]  # (n_vocab, d)
        self.output = self.w.get("output.weight", self.tok_embd)  # tied when absent
        self.tied = "output.weight" not in self.w
        assert self.tok_embd.shape[1] == c.n_embd

    # ----- building blocks -----
    def rmsnorm(self, x, weight, detach):
        """x * r * w with r = 1/sqrt(mean(x^2) + eps) over the last axis. GGUF weights already hold (1+γ)."""
        r = torch.rsqrt(x.pow(2).mean(dim=-1, keepdim=True) + self.cfg.eps)
        if detach:
            r = r.detach()
        return x * r * weight

    @staticmethod
    def gelu_tanh(x):
        return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x.pow(3))))

    def rope(self, x, base, scale):
        """NEOX-style rotary embedding (rotate halves) on the first rope_dims of each head. x: (n, h, hd)."""
        n, _, hd = x.shape
        rd = self.cfg.rope_dims
        half = rd // 2
        pos = torch.arange(n, dtype=torch.float64) * scale
        inv = base ** (-torch.arange(0, half, dtype=torch.float64) * 2.0 / rd)
        ang = pos[:, None] * inv[None, :]  # (n, half)
        cos = torch.cos(ang).to(x.dtype)[:, None, :]
        sin = torch.sin(ang).to(x.dtype)[:, None, :]
        x1, x2, rest = x[..., :half], x[..., half:rd], x[..., rd:]
        return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin, rest], dim=-1)

    def mask(self, n, swa):
        t = torch.arange(n)[:, None]
        s = torch.arange(n)[None, :]
        masked = s > t
        if swa:
            masked = masked | ((t - s) >= self.cfg.n_swa)
        return masked

    def attention(self, il, xn, detach):
        c = self.cfg
        p = f"blk.{il}."
        n = xn.shape[0]
        q = (xn @ self.w[p + "attn_q.weight"].T).view(n, c.n_head, c.head_dim)
        k = (xn @ self.w[p + "attn_k.weight"].T).view(n, c.n_head_kv, c.head_dim)
        v = (xn @ self.w[p + "attn_v.weight"].T).view(n, c.n_head_kv, c.head_dim_v)
        q = self.rmsnorm(q, self.w[p + "attn_q_norm.weight"], detach)
        k = self.rmsnorm(k, self.w[p + "attn_k_norm.weight"], detach)
        swa = c.is_swa[il]
        base = c.rope_base_local if swa else c.rope_base_global
        scale = 1.0 if swa else c.rope_scale_global
        q = self.rope(q, base, scale) * c.attn_scale
        k = self.rope(k, base, scale)
        group = c.n_head // c.n_head_kv
        kh = k.repeat_interleave(group, dim=1)  # (n, H, hd): query head h uses kv head h // group
        vh = v.repeat_interleave(group, dim=1)
        scores = torch.einsum("thd,shd->hts", q, kh)
        if c.attn_logit_softcap:
            scores = c.attn_logit_softcap * torch.tanh(scores / c.attn_logit_softcap)
        scores = scores.masked_fill(self.mask(n, swa)[None], float("-inf"))
        probs = torch.softmax(scores, dim=-1)
        if detach:
            probs = probs.detach()  # queries, keys, RoPE and QK-norm carry no gradient
        o = torch.einsum("hts,shd->thd", probs, vh).reshape(n, c.n_head * c.head_dim_v)
        return o @ self.w[p + "attn_output.weight"].T

    def mlp(self, il, xn, detach, mlp_path="up"):
        p = f"blk.{il}."
        g = xn @ self.w[p + "ffn_gate.weight"].T
        u = xn @ self.w[p + "ffn_up.weight"].T
        if detach and mlp_path == "gate":
            # gelu_tanh(g) = g * s(g) with s(g) = 0.5*(1+tanh(...)); s(g) and up(x̂) frozen
            s = 0.5 * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (g + 0.044715 * g.pow(3))))
            h = g * s.detach() * u.detach()
        else:
            a = self.gelu_tanh(g)
            if detach:
                a = a.detach()  # whole act(gate(x̂)) frozen: the linear path runs through up
            h = a * u
        return h @ self.w[p + "ffn_down.weight"].T

    # ----- forward -----
    def embed(self, ids):
        ids = torch.as_tensor(np.asarray(ids, dtype=np.int64))
        return self.tok_embd[ids] * torch.tensor(self.cfg.embed_scale, dtype=self.dtype)

    def hidden(self, x, detach=False, mlp_path="up"):
        """Final-normed hidden states at all positions, (n, d), from scaled embeddings x (n, d)."""
        h = x
        for il in range(self.cfg.n_layer):
            p = f"blk.{il}."
            xn = self.rmsnorm(h, self.w[p + "attn_norm.weight"], detach)
            a = self.attention(il, xn, detach)
            a = self.rmsnorm(a, self.w[p + "post_attention_norm.weight"], detach)
            h = h + a
            xn = self.rmsnorm(h, self.w[p + "ffn_norm.weight"], detach)
            m = self.mlp(il, xn, detach, mlp_path)
            m = self.rmsnorm(m, self.w[p + "post_ffw_norm.weight"], detach)
            h = h + m
        return self.rmsnorm(h, self.w["output_norm.weight"], detach)

    def y_last(self, x, detach=False, mlp_path="up"):
        return self.hidden(x, detach, mlp_path)[-1]

    def logits_from_y(self, y):
        out = y @ self.output.T
        c = self.cfg.final_logit_softcap
        if c:
            out = c * torch.tanh(out / c)
        return out

    def logits_last(self, ids):
        with torch.no_grad():
            return self.logits_from_y(self.y_last(self.embed(ids)))

    def jacobian(self, x, detach=True, mlp_path="up"):
        """J with J[:, i, :] = ∂y/∂x_i, shape (d, n, d)."""
        f = lambda xx: self.y_last(xx, detach=detach, mlp_path=mlp_path)  # noqa: E731
        return torch.autograd.functional.jacobian(f, x, vectorize=True)


def reconstruction_error(J, x, y):
    """‖Σ_i J_i x_i − y‖ / ‖y‖ for J of shape (d, n, d)."""
    recon = torch.einsum("ani,ni->a", J, x)
    return (torch.linalg.norm(recon - y) / torch.linalg.norm(y)).item()


def main(argv):
    from common import MODEL_PATH, check_model, load_llama, tokenize
    torch.set_num_threads(max(1, torch.get_num_threads()))
    check_model()
    prompt = argv[1] if len(argv) > 1 else "The bridge out of Marin is the"
    m = Gemma3Ref(MODEL_PATH)
    for key, val in m.cfg.as_dict().items():
        print(f"{key:20s} {val}")
    print("tied output:", m.tied)
    ids = tokenize(load_llama(vocab_only=True), prompt)
    x = m.embed(ids)
    logits = m.logits_last(ids)
    top = torch.topk(logits, 5)
    print("ids", ids, "top5", top.indices.tolist(), [round(v, 4) for v in top.values.tolist()])
    y = m.y_last(x).detach()
    for detach in (True, False):
        J = m.jacobian(x, detach=detach)
        print(f"detach={detach}: relative reconstruction error {reconstruction_error(J, x, y):.3e}")
    J = m.jacobian(x, detach=True, mlp_path="gate")
    print(f"detach=True mlp_path=gate: relative reconstruction error {reconstruction_error(J, x, y):.3e}")


if __name__ == "__main__":
    main(sys.argv)
