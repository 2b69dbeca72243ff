"""The paper's code path: Hugging Face transformers' own Gemma 3 modules, with stop-gradients at the METHOD.md points.

The paper's code (jamesgolden1/equivalent-linear-LLMs) runs transformers' model classes, with modified
modeling files that add `.detach()` where METHOD.md freezes a factor, and differentiates the last position's
final-normed hidden state w.r.t. the input embeddings with torch.autograd.functional.jacobian (reverse mode,
vectorize=True). This module does the same with transformers as installed, patching (not copying) three
places of its Gemma 3 modeling code:

  - RMSNorm: the 1/rms factor is detached (the norm weight stays a linear scale);
  - MLP: the whole gate activation act(W_gate x) is detached, so the linear path runs through W_up;
  - attention: queries and keys are detached before the eager attention function, so the softmax
    probabilities (and RoPE, QK-norm, scaling) carry no gradient; values and W_O stay linear.

Load the model from a Hugging Face folder made by gemma_gguf_to_hf.py (the same dequantized weights the GGUF
holds). The patches are process-wide: import this module only in a process that wants the detached model.
"""
import torch
import transformers
from transformers.models.gemma3 import modeling_gemma3 as mg

_eager = mg.eager_attention_forward


def _norm_detached(self, x):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps).detach()


def _mlp_detached(self, x):
    return self.down_proj(self.act_fn(self.gate_proj(x)).detach() * self.up_proj(x))


def _attention_detached(module, query, key, value, attention_mask, **kwargs):
    return _eager(module, query.detach(), key.detach(), value, attention_mask, **kwargs)


mg.Gemma3RMSNorm._norm = _norm_detached
mg.Gemma3MLP.forward = _mlp_detached
mg.eager_attention_forward = _attention_detached  # Gemma3Attention resolves it at call time for "eager"


class Gemma3HfDetached:
    jacobian_call = "torch.autograd.functional.jacobian(f, x, vectorize=True, strategy='reverse-mode')"

    def __init__(self, folder, dtype=torch.float32):
        self.model = transformers.AutoModelForCausalLM.from_pretrained(
            folder, dtype=dtype, attn_implementation="eager").eval()
        self.text = self.model.model  # Gemma3TextModel: embeddings (scaled), layers, final norm
        self.d = self.model.config.hidden_size
        for p in self.model.parameters():
            p.requires_grad_(False)

    def embed(self, ids):
        with torch.no_grad():
            return self.text.embed_tokens(torch.tensor([ids]))[0]  # (n, d), Gemma's sqrt(d) scale included

    def y_last(self, x):
        """The last position's final-normed hidden state for input embeddings x (n, d)."""
        return self.text(inputs_embeds=x.unsqueeze(0), use_cache=False).last_hidden_state[0, -1]

    def jacobian(self, x):
        """J with J[:, i, :] = ∂y/∂x_i, shape (d, n, d), as the paper computes it."""
        return torch.autograd.functional.jacobian(self.y_last, x, vectorize=True, strategy="reverse-mode")
