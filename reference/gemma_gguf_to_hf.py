"""Converts the Gemma 3 270M GGUF into a Hugging Face model folder, and checks it with transformers.

  gemma_gguf_to_hf.py OUT_DIR          write OUT_DIR/{config.json, model-0000k-of-0000K.safetensors,
                                       model.safetensors.index.json, tokenizer.json, tokenizer_config.json}
  gemma_gguf_to_hf.py OUT_DIR --check  also run transformers' Gemma3ForCausalLM on the folder in float64
                                       and compare with the committed fixtures (PyTorch on the GGUF)
  gemma_gguf_to_hf.py OUT_DIR --linlens  also run `bin/linlens decompose` on the GGUF and on the folder
                                       (fp64 and fp32) and compare the two reports

The weights are dequantized by the gguf package (exactly the values llama.cpp and Linear Lens
decode) and stored as F32, sharded (so the folder exercises model.safetensors.index.json). The GGUF
converter stored Gemma's norm weights as 1 + w; the folder stores w as Hugging Face does. The
config comes from the GGUF metadata. The tokenizer (SentencePiece pieces, scores and types in the
GGUF) is rebuilt as a SentencePiece model (tokenizer.model), which transformers loads and saves
as tokenizer.json. Nothing here is committed output: the folder is ~1.1 GB.

Run with the reference venv:  /opt/linlens-ref/bin/python reference/gemma_gguf_to_hf.py /tmp/gemma-3-270m-hf --check
"""
import json
import sys
from pathlib import Path

import numpy as np
import gguf
from safetensors.numpy import save_file

from common import FIXTURE_DIR, MODEL_PATH, check_model

SHARD_BYTES = 400 << 20
LAYER_NAMES = {
    "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj", "attn_q_norm": "self_attn.q_norm", "attn_k_norm": "self_attn.k_norm",
    "attn_norm": "input_layernorm", "post_attention_norm": "post_attention_layernorm",
    "ffn_norm": "pre_feedforward_layernorm", "post_ffw_norm": "post_feedforward_layernorm",
    "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj",
}


def field(r, key):
    return r.fields[key].contents()


def hf_name(name):
    if name == "token_embd.weight":
        return "model.embed_tokens.weight"
    if name == "output_norm.weight":
        return "model.norm.weight"
    if name == "output.weight":
        return "lm_head.weight"
    _, layer, base, kind = name.split(".")
    return f"model.layers.{layer}.{LAYER_NAMES[base]}.{kind}"


def weights(r):
    out = {}
    for t in r.tensors:
        w = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32)
        w = w.reshape([int(d) for d in reversed(t.shape)])
        if t.name.endswith("norm.weight"):
            w = w - np.float32(1.0)  # Hugging Face applies (1 + w)
        out[hf_name(t.name)] = np.ascontiguousarray(w)
    return out


def config(r, n_vocab, tied):
    a = "gemma3."
    layers = int(field(r, a + "block_count"))
    pattern = 6  # llama.cpp's Gemma 3 layout: 5 sliding-window layers, then one global
    return {
        "architectures": ["Gemma3ForCausalLM"], "model_type": "gemma3_text", "dtype": "float32",
        "vocab_size": n_vocab, "hidden_size": int(field(r, a + "embedding_length")),
        "intermediate_size": int(field(r, a + "feed_forward_length")), "num_hidden_layers": layers,
        "num_attention_heads": int(field(r, a + "attention.head_count")),
        "num_key_value_heads": int(field(r, a + "attention.head_count_kv")),
        "head_dim": int(field(r, a + "attention.key_length")),
        "query_pre_attn_scalar": int(field(r, a + "attention.key_length")),
        "rms_norm_eps": float(field(r, a + "attention.layer_norm_rms_epsilon")),
        "max_position_embeddings": int(field(r, a + "context_length")),
        "sliding_window": int(field(r, a + "attention.sliding_window")),
        "layer_types": ["full_attention" if (i + 1) % pattern == 0 else "sliding_attention" for i in range(layers)],
        "rope_parameters": {"full_attention": {"rope_type": "default", "rope_theta": float(field(r, a + "rope.freq_base"))},
                            "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0}},
        "hidden_activation": "gelu_pytorch_tanh", "tie_word_embeddings": tied,
        "final_logit_softcapping": None, "attn_logit_softcapping": None,
        "bos_token_id": int(field(r, "tokenizer.ggml.bos_token_id")),
        "eos_token_id": int(field(r, "tokenizer.ggml.eos_token_id")),
        "pad_token_id": int(field(r, "tokenizer.ggml.padding_token_id")),
    }


def write_shards(ws, out: Path):
    shards, cur, size = [], {}, 0
    for k, v in ws.items():
        if cur and size + v.nbytes > SHARD_BYTES:
            shards.append(cur)
            cur, size = {}, 0
        cur[k] = v
        size += v.nbytes
    shards.append(cur)
    weight_map = {}
    for i, s in enumerate(shards):
        name = f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors"
        save_file(s, out / name, metadata={"format": "pt"})
        weight_map.update({k: name for k in s})
    total = sum(v.nbytes for v in ws.values())
    (out / "model.safetensors.index.json").write_text(
        json.dumps({"metadata": {"total_size": total}, "weight_map": weight_map}, indent=2) + "\n")


def write_tokenizer(r, out: Path):
    """A SentencePiece model from the GGUF vocabulary; transformers turns it into tokenizer.json."""
    from sentencepiece import sentencepiece_model_pb2 as spm
    from transformers import AutoTokenizer
    proto = spm.ModelProto()
    proto.trainer_spec.model_type = spm.TrainerSpec.BPE
    proto.trainer_spec.byte_fallback = True
    proto.trainer_spec.unk_id, proto.trainer_spec.bos_id = int(field(r, "tokenizer.ggml.unknown_token_id")), int(field(r, "tokenizer.ggml.bos_token_id"))
    proto.trainer_spec.eos_id, proto.trainer_spec.pad_id = int(field(r, "tokenizer.ggml.eos_token_id")), int(field(r, "tokenizer.ggml.padding_token_id"))
    proto.normalizer_spec.add_dummy_prefix = False
    kinds = {1: spm.ModelProto.SentencePiece.NORMAL, 2: spm.ModelProto.SentencePiece.UNKNOWN,
             3: spm.ModelProto.SentencePiece.CONTROL, 4: spm.ModelProto.SentencePiece.USER_DEFINED,
             5: spm.ModelProto.SentencePiece.UNUSED, 6: spm.ModelProto.SentencePiece.BYTE}
    for piece, score, kind in zip(field(r, "tokenizer.ggml.tokens"), field(r, "tokenizer.ggml.scores"),
                                  field(r, "tokenizer.ggml.token_type")):
        p = proto.pieces.add()
        p.piece, p.score, p.type = piece, score, kinds.get(int(kind), spm.ModelProto.SentencePiece.NORMAL)

    (out / "tokenizer.model").write_bytes(proto.SerializeToString())
    (out / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "GemmaTokenizer", "bos_token": "<bos>", "eos_token": "<eos>", "unk_token": "<unk>",
        "pad_token": "<pad>", "add_bos_token": True, "add_eos_token": False}, indent=2) + "\n")
    AutoTokenizer.from_pretrained(out).save_pretrained(out)  # writes tokenizer.json


def check(out: Path):
    import torch
    # fp64 throughout: transformers computes norms, RoPE tables and Gemma's sqrt(d) in float32 via
    # `torch.float` / `.float()` / the default dtype; route those to float64
    torch.float = torch.float64
    torch.Tensor.float = lambda self, *a, **k: self.double()
    torch.set_default_dtype(torch.float64)
    import transformers
    logits_ref = json.loads((FIXTURE_DIR / "logits.json").read_text())
    model = transformers.AutoModelForCausalLM.from_pretrained(out, dtype=torch.float64, attn_implementation="eager").eval()
    tok = transformers.AutoTokenizer.from_pretrained(out)
    torch.float32 = torch.float64  # after loading: eager attention's softmax asks for float32 explicitly
    probe = logits_ref["probe_ids"]
    worst = 0.0
    for case in logits_ref["cases"]:
        ids = case["ids"]
        if len(ids) > 64:
            continue
        hf_ids = tok(case["prompt"])["input_ids"] if "<" not in case["prompt"] else ids
        with torch.no_grad():
            lg = model(torch.tensor([ids])).logits[0, -1].numpy()
        ref = np.array(case["torch_fp64"]["probe_logits"])
        diff = float(np.abs(lg[probe] - ref).max())
        worst = max(worst, diff)
        print(f"{case['prompt'][:40]!r:44} n={len(ids):3d} argmax {int(lg.argmax())} vs {case['torch_fp64']['argmax']}"
              f"  max|Δlogit| over probes {diff:.2e}  tokenizer.json ids equal: {hf_ids == ids}")
    print(f"worst |Δlogit| transformers(HF folder) vs PyTorch(GGUF): {worst:.2e}")


def compare_linlens(out: Path):
    """Linear Lens on both formats: tokens, prediction, reconstruction and spectra must agree."""
    import subprocess
    import tempfile
    launcher = Path(__file__).resolve().parent.parent / "bin" / "linlens"
    with tempfile.TemporaryDirectory() as tmp:
        for precision in ("fp64", "fp32"):
            reports = []
            for model in (MODEL_PATH, out):
                js = Path(tmp) / f"{precision}-{len(reports)}.json"
                subprocess.run([str(launcher), "decompose", "--model", str(model), "--precision", precision,
                                "--json", str(js), "--quiet"], check=True, stdout=subprocess.DEVNULL)
                reports.append(json.loads(js.read_text()))
            a, b = reports
            top = lambda r: [(c["token_id"], c["logit"]) for c in r["prediction"]["top"]]
            sv = max(abs(x - y) / abs(x) for pa, pb in zip(a["svd"], b["svd"])
                     for x, y in zip(pa["singular_values"][:20], pb["singular_values"][:20]))
            dlogit = max(abs(x[1] - y[1]) for x, y in zip(top(a), top(b)))
            same_ids = [x[0] for x in top(a)] == [y[0] for y in top(b)]
            print(f"linlens {precision}: tokens equal {a['tokens'] == b['tokens']}, top-5 ids equal {same_ids}, "
                  f"max|Δlogit| {dlogit:.1e}, recon error GGUF {a['reconstruction']['relative_error']:.2e} "
                  f"folder {b['reconstruction']['relative_error']:.2e}, max rel Δσ (top 20 per position) {sv:.1e}")


def main():
    out = Path(sys.argv[1])
    check_model()
    r = gguf.GGUFReader(str(MODEL_PATH))
    if not (out / "config.json").exists():
        out.mkdir(parents=True, exist_ok=True)
        ws = weights(r)
        tied = "lm_head.weight" not in ws
        n_vocab = ws["model.embed_tokens.weight"].shape[0]
        write_shards(ws, out)
        write_tokenizer(r, out)
        (out / "config.json").write_text(json.dumps(config(r, n_vocab, tied), indent=2) + "\n")
        print("wrote", out)
    if "--check" in sys.argv:
        check(out)
    if "--linlens" in sys.argv:
        compare_linlens(out)


if __name__ == "__main__":
    main()
