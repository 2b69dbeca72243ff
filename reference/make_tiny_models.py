"""Tiny random models of every supported family, in both formats, with reference numbers.

For each family a small model (hidden size 32, 2-6 layers, every architectural feature of the
family switched on) is built by Hugging Face transformers from a config with random weights and
saved as a Hugging Face folder (safetensors + a tiny byte-level BPE tokenizer.json); where
llama.cpp's converter supports the architecture it is also converted to GGUF (F32) with
convert_hf_to_gguf.py from the llama-cpp-python 0.3.36 sdist (not committed: set LLAMA_CPP_DIR to
its unpacked vendor/llama.cpp, e.g. after `pip download llama-cpp-python==0.3.36 --no-deps
--no-binary :all:` and untar).

References, per prompt of token ids, all in float64 from transformers' own modeling code:
- logits of the last position;
- the detached Jacobians J_t = dy/dx_t (y = final-normed last hidden state, x = the input
  embeddings as the first layer receives them), by autograd with stop-gradients at the METHOD.md
  points hooked into the modules: RMSNorm's 1/rms, the attention softmax, and the MLP's gate
  activation (path "up": act(gate) frozen; path "gate": phi(gate) and up frozen, act(g)=g*phi(g));
- c = y - sum_t J_t x_t, the constant of the affine map (zero up to rounding without biases).

Usage: LLAMA_CPP_DIR=... /opt/linlens-ref/bin/python make_families.py
"""
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

# fp64 throughout: transformers computes RoPE angles with `torch.float` / `.float()`; route
# those to float64 so the reference is not limited by float32 rotary tables.
torch.float = torch.float64
torch.Tensor.float = lambda self, *a, **k: self.double()
torch.set_default_dtype(torch.float64)

import transformers  # noqa: E402
from tokenizers import Tokenizer, models, pre_tokenizers, decoders, trainers, Regex  # noqa: E402

from common import REPO_ROOT, versions  # noqa: E402

OUT = REPO_ROOT / "src" / "test" / "resources" / "reference" / "tiny"
LLAMA_CPP = Path(os.environ.get("LLAMA_CPP_DIR", "/tmp/wtfam/llama_cpp_python-0.3.36/vendor/llama.cpp"))

# Llama 3's pre-tokenizer split (tokenizer.ggml.pre = "llama-bpe").
LLAMA3_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                r"|\s*[\r\n]+|\s+(?!\S)|\s+")
CORPUS = [
    "The bridge out of Marin is the Golden Gate Bridge.",
    "Linear Lens rewrites a language model as an exactly equivalent linear system.",
    "In 1937 the bridge opened; it is 2737 metres long, and its towers are 227 m high!",
    "Quelle heure est-il? Es ist schon spät. ¿Dónde está la biblioteca?",
    "def f(x):\n    return x * 2  # doubles\n\n",
    "We've told him they'll say it's fine, but I'd rather not.",
]
SPECIAL = ["<|begin_of_text|>", "<|endoftext|>"]
PROMPTS = [[0, 45, 101, 7, 230, 66], [0, 12, 77, 140, 3, 250, 18, 99, 205, 61, 33]]

D = 32
BASE = dict(hidden_size=D, intermediate_size=48, num_attention_heads=4, num_key_value_heads=2,
            head_dim=8, num_hidden_layers=3, max_position_embeddings=256, rms_norm_eps=1e-5,
            bos_token_id=0, eos_token_id=1, pad_token_id=None)

FAMILIES = {
    # Llama 3: llama3 RoPE frequency scaling in all three regimes for head_dim 8, separate head.
    "llama3": ("LlamaForCausalLM", "llama", dict(
        tie_word_embeddings=False, rope_parameters=dict(
            rope_type="llama3", rope_theta=10000.0, factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0,
            original_max_position_embeddings=64))),
    # Qwen 2 / 2.5 (and the R1 distills): q/k/v biases, tied head.
    "qwen2": ("Qwen2ForCausalLM", "qwen2", dict(tie_word_embeddings=True, rope_parameters=dict(
        rope_type="default", rope_theta=1000000.0))),
    # Qwen 3: per-head QK-norm, separate head; stored as BF16.
    "qwen3": ("Qwen3ForCausalLM", "qwen3", dict(tie_word_embeddings=False, attention_bias=False,
                                                rope_parameters=dict(rope_type="default", rope_theta=1000000.0))),
    # Phi 3 / Phi 4 mini: fused qkv and gate_up, partial rotary (0.5), longrope with the attention
    # factor (short factors up to 8 tokens: prompt 0; long factors beyond: prompt 1), a sliding
    # window on every layer; stored as F16.
    "phi3": ("Phi3ForCausalLM", "phi3", dict(
        tie_word_embeddings=False, sliding_window=5, max_position_embeddings=1024, original_max_position_embeddings=8,
        rope_parameters=dict(rope_type="longrope", rope_theta=10000.0, partial_rotary_factor=0.5,
                             original_max_position_embeddings=8,
                             short_factor=[1.0, 1.25], long_factor=[2.0, 4.5]))),
    # Mistral: a sliding window on every layer.
    "mistral": ("MistralForCausalLM", "mistral", dict(tie_word_embeddings=False, sliding_window=7,
                                                      rope_parameters=dict(rope_type="default", rope_theta=1000000.0))),
    # Ministral: interleaved sliding-window and full layers (layer_types); sharded safetensors.
    "ministral": ("MinistralForCausalLM", "ministral", dict(
        tie_word_embeddings=False, sliding_window=4, num_hidden_layers=4,
        layer_types=["sliding_attention", "full_attention", "sliding_attention", "full_attention"],
        rope_parameters=dict(rope_type="default", rope_theta=100000.0))),
    # OLMo 2: norms on the attention and MLP outputs inside the residual branch, QK-norm over all of q and k.
    "olmo2": ("Olmo2ForCausalLM", "olmo2", dict(tie_word_embeddings=False,
                                                rope_parameters=dict(rope_type="default", rope_theta=500000.0))),
    # Gemma 3: sandwich norms with (1+w), per-head QK-norm, GELU-tanh, sqrt(d) embedding scale,
    # 5 local : 1 global with their own RoPE bases (linear scaling on global), tied head.
    "gemma3": ("Gemma3ForCausalLM", "gemma3_text", dict(
        tie_word_embeddings=True, num_hidden_layers=6, sliding_window=4, query_pre_attn_scalar=8,
        hidden_activation="gelu_pytorch_tanh", rms_norm_eps=1e-6,
        rope_parameters=dict(full_attention=dict(rope_type="linear", rope_theta=1000000.0, factor=8.0),
                             sliding_attention=dict(rope_type="default", rope_theta=10000.0)))),
}
DTYPES = {"qwen3": torch.bfloat16, "phi3": torch.float16}
SHARDED = {"ministral"}
GGUF_FAMILIES = {"llama3", "qwen2", "qwen3", "phi3", "mistral", "olmo2", "gemma3"}  # ministral: no converter


def make_tokenizer(folder, tokenizer_class):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_SPLIT), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=SPECIAL, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(CORPUS * 4, trainer)
    tok.save(str(folder / "tokenizer.json"))
    (folder / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": tokenizer_class, "bos_token": SPECIAL[0], "eos_token": SPECIAL[1],
        "add_bos_token": True, "add_eos_token": False, "model_max_length": 256}, indent=1))
    return tok.get_vocab_size()


def randomize(model, seed):
    """Random weights everywhere, norms and biases included, so every feature shows in the numbers."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight") or "layernorm" in name:
                base = 0.0 if "gemma" in type(model).__name__.lower() else 1.0
                p.copy_(base + 0.2 * torch.randn(p.shape, generator=g))
            elif name.endswith("bias"):
                p.copy_(0.3 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(p.shape[-1]))


# ---------------------------------------------------------------- detach points

MLP_PATH = {"path": "up"}


def rms_forward(self, x):
    eps = getattr(self, "variance_epsilon", getattr(self, "eps", None))
    r = torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps).detach()
    w = (1.0 + self.weight) if type(self).__name__ == "Gemma3RMSNorm" else self.weight
    return w * (x * r)


def phi_of(act_module, g):
    """phi(g) with act(g) = g * phi(g), for the activations the families use."""
    name = type(act_module).__name__
    if name in ("SiLUActivation", "SiLU"):
        return torch.sigmoid(g)
    if name in ("PytorchGELUTanh", "GELUTanh", "NewGELUActivation", "GELUActivation") or "Tanh" in name:
        return 0.5 * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (g + 0.044715 * g ** 3)))
    raise ValueError("unknown activation " + name)


def mlp_forward(self, x):
    if hasattr(self, "gate_up_proj"):
        gate, up = self.gate_up_proj(x).chunk(2, dim=-1)
        act_fn = self.activation_fn
    else:
        gate, up = self.gate_proj(x), self.up_proj(x)
        act_fn = self.act_fn
    act = act_fn(gate)
    phi = phi_of(act_fn, gate)
    assert torch.allclose(act, gate * phi, rtol=1e-13, atol=1e-13), type(act_fn).__name__
    if MLP_PATH["path"] == "up":
        h = act.detach() * up
    else:
        h = gate * (phi * up).detach()
    return self.down_proj(h)


def detached_attention(module, query, key, value, attention_mask, scaling=None, dropout=0.0, softcap=None, **kw):
    groups = query.shape[1] // key.shape[1]
    key = key.repeat_interleave(groups, dim=1)
    value = value.repeat_interleave(groups, dim=1)
    if scaling is None:
        scaling = module.head_dim ** -0.5
    s = torch.matmul(query, key.transpose(2, 3)) * scaling
    assert softcap is None
    if attention_mask is not None:
        s = s + attention_mask
    p = torch.softmax(s, dim=-1).detach()
    return torch.matmul(p, value).transpose(1, 2).contiguous(), p


def hook(model):
    for m in model.modules():
        cls = type(m).__name__
        if cls.endswith("RMSNorm"):
            m.forward = rms_forward.__get__(m)
        elif cls.endswith("MLP"):
            m.forward = mlp_forward.__get__(m)
    sys.modules[type(model).__module__].eager_attention_forward = detached_attention


# ---------------------------------------------------------------- building and converting

def build(name):
    arch, model_type, extra = FAMILIES[name]
    folder = OUT / name / "hf"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    vocab = make_tokenizer(folder, "GPT2Tokenizer" if name == "phi3" else "PreTrainedTokenizerFast")
    cfg = transformers.AutoConfig.for_model(model_type, **{**BASE, **extra, "vocab_size": vocab})
    cfg.architectures = [arch]
    model = getattr(transformers, arch)(cfg)
    randomize(model, seed=sum(map(ord, name)))
    model = model.to(DTYPES.get(name, torch.float32))
    model.save_pretrained(folder, max_shard_size="100KB" if name in SHARDED else "50GB")
    return folder


def convert(name, folder):
    """GGUF F32 via llama.cpp's converter; its BPE pre-tokenizer check does not know our tiny
    tokenizer's hash, so it is told the pre-tokenizer the tokenizer was built with."""
    out = OUT / name / "model.gguf"
    code = ("import sys; sys.path[:0] = [%r, %r]\n"
            "import conversion.base as b\n"
            "b.TextModel.get_vocab_base_pre = lambda self, tok: 'llama-bpe'\n"
            "import convert_hf_to_gguf as c\n"
            "sys.argv = ['convert', %r, '--outtype', 'f32', '--outfile', %r]\n"
            "c.main()\n") % (str(LLAMA_CPP / "gguf-py"), str(LLAMA_CPP), str(folder), str(out))
    subprocess.run([sys.executable, "-c", code], check=True, cwd=LLAMA_CPP, capture_output=True)
    return out


def references(name, folder):
    model = transformers.AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float64,
                                                               attn_implementation="eager")
    model.eval()
    hook(model)
    emb = model.get_input_embeddings()
    meta = {"prompts": []}
    for k, ids in enumerate(PROMPTS):
        x = emb(torch.tensor([ids])).detach()[0]
        entry = {"ids": ids}
        for path in ("up", "gate"):
            MLP_PATH["path"] = path
            f = lambda inp: model.model(inputs_embeds=inp[None]).last_hidden_state[0, -1]
            with torch.no_grad():
                y = f(x)
                logits = model(inputs_embeds=x[None]).logits[0, -1]
            J = torch.autograd.functional.jacobian(f, x).permute(1, 0, 2).contiguous()  # (n, d, d)
            c = y - torch.einsum("tij,tj->i", J, x)
            tag = f"p{k}_{path}"
            np.save(OUT / name / f"J_{tag}.npy", J.numpy())
            np.save(OUT / name / f"c_{tag}.npy", c.numpy())
            entry[f"c_rel_{path}"] = float(c.norm() / y.norm())
        np.save(OUT / name / f"x_p{k}.npy", x.numpy())
        np.save(OUT / name / f"y_p{k}.npy", y.numpy())
        np.save(OUT / name / f"logits_p{k}.npy", logits.numpy())
        meta["prompts"].append(entry)
    # Plain transformers (no hooks, its own float32 kernels) as a sanity check of the hooks.
    plain = transformers.AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    with torch.no_grad():
        for k, ids in enumerate(PROMPTS):
            lp = plain(torch.tensor([ids])).logits[0, -1].double()
            ref = torch.from_numpy(np.load(OUT / name / f"logits_p{k}.npy"))
            meta["prompts"][k]["plain_fp32_logit_maxdiff"] = float((lp - ref).abs().max())
    return meta


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    only = sys.argv[1:] or list(FAMILIES)
    for name in only:
        folder = build(name)
        if name in GGUF_FAMILIES:
            convert(name, folder)
        meta = references(name, folder)
        meta.update({"family": name, "architecture": FAMILIES[name][0], "gguf": name in GGUF_FAMILIES,
                     "versions": versions()})
        (OUT / name / "meta.json").write_text(json.dumps(meta, indent=1))
        print(name, json.dumps(meta["prompts"]))


if __name__ == "__main__":
    main()
