"""Token-id references for the byte-level BPE tokenizers, on a varied corpus.

- GGUF ("gpt2" tokenizer, tokenizer.ggml.pre per pre-tokenizer): llama.cpp (llama-cpp-python,
  vocab_only) on vocab-only copies of the tiny Llama 3 GGUF (reference/make_tiny_models.py) with
  tokenizer.ggml.pre set to each supported pre-tokenizer name; add_special and parse_special on.
- Hugging Face tokenizer.json: transformers' tokenizer of the tiny Llama 3 folder, with special
  tokens added.
Writes src/test/resources/reference/tiny/tokens.json. The Java test rebuilds the same vocab-only
GGUFs from the tiny model's metadata.

Usage: /opt/linlens-ref/bin/python make_tiny_tokens.py
"""
import json
import tempfile
from pathlib import Path

import gguf
import llama_cpp
import transformers

from common import REPO_ROOT, versions

TINY = REPO_ROOT / "src" / "test" / "resources" / "reference" / "tiny"
PRES = ["llama-bpe", "dbrx", "qwen2", "gpt-2", "olmo", "gpt-4o"]
CORPUS = [
    "The bridge out of Marin is the",
    "Hello world",
    " leading space and trailing space ",
    "Multiple   spaces\tand\ttabs\n\nand blank lines\n",
    "We've told him they'll say it's fine, but I'd rather not. WE'VE SAID IT'S FINE! 'Re 'Ll",
    "Numbers: 7, 42, 1937, 2737, 12345678, 3.14159, 1,000,000 and 0x1F",
    "Quelle heure est-il? Es ist schon spät. ¿Dónde está la biblioteca? Ça va, Ærø, Œuvre",
    "Привет, как дела? Ελληνικά κείμενα. 東京は日本の首都です。 안녕하세요",
    "emoji 🚀🦙 and 😶‍🌫️ combined ✅",
    "def f(x):\n    return x * 2  # doubles\n\n\n    pass\r\n",
    "<|begin_of_text|>special tokens inside<|endoftext|> the text",
    "a<|endoftext|>b<|begin_of_text|>",
    "$$$ ~~~ ||| ^^^ === +++ ... !!! ??? \"quoted\" (paren) [bracket] {brace}",
    "   ",
    "\n",
    "x",
]


def vocab_only_copy(src, pre, out):
    """All metadata of the tiny GGUF, no tensors, tokenizer.ggml.pre replaced."""
    r = gguf.GGUFReader(src)
    w = gguf.GGUFWriter(out, arch=r.fields["general.architecture"].contents())
    for key, field in r.fields.items():
        if key.startswith("GGUF.") or key == "general.architecture":
            continue
        value = pre if key == "tokenizer.ggml.pre" else field.contents()
        sub = field.types[-1] if field.types[0] == gguf.GGUFValueType.ARRAY else None
        w.add_key_value(key, value, field.types[0], sub_type=sub)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.close()


def main():
    src = TINY / "llama3" / "model.gguf"
    out = {"corpus": CORPUS, "gguf": {}, "versions": versions()}
    with tempfile.TemporaryDirectory() as tmp:
        for pre in PRES:
            path = str(Path(tmp) / f"{pre}.gguf")
            vocab_only_copy(str(src), pre, path)
            llm = llama_cpp.Llama(model_path=path, vocab_only=True, verbose=False)
            out["gguf"][pre] = [llm.tokenize(t.encode("utf-8"), add_bos=True, special=True) for t in CORPUS]
    tok = transformers.AutoTokenizer.from_pretrained(TINY / "llama3" / "hf")
    out["hf"] = [tok(t, add_special_tokens=True)["input_ids"] for t in CORPUS]
    (TINY / "tokens.json").write_text(json.dumps(out, indent=1, ensure_ascii=False))
    for pre in PRES:
        print(pre, sum(map(len, out["gguf"][pre])), "tokens")
    print("hf", sum(map(len, out["hf"])), "tokens")


if __name__ == "__main__":
    main()
