"""Token-id references for every byte-level BPE pre-tokenizer name llama.cpp accepts.

For each `tokenizer.ggml.pre` name llama.cpp (as vendored by the installed llama-cpp-python)
accepts for a "gpt2" vocabulary, llama-cpp-python tokenizes a varied corpus (make_tokens.py's
plus texts aimed at the pre-tokenizers' differences) on a vocab-only GGUF: a reduced copy of one
of llama.cpp's real BPE vocabularies (models/ggml-vocab-*.gguf in its source) with
`tokenizer.ggml.pre` set to that name: llama.cpp's own vocabulary for that name where it ships
one (deepseek-coder, falcon, starcoder, command-r, ...), otherwise Llama 3's (llama-bpe). The
names are read from llama.cpp's loader (src/llama-vocab.cpp).

Reduced: the first MERGES merges, the tokens they use and make, the 256 byte tokens (appended
where the vocabulary lacks one) and every control or user-defined token; ids renumbered in their
original order; add_bos/add_eos keys dropped so that llama.cpp's per-name defaults decide. Every name also runs on a made vocabulary,
"substrings" (see substring_vocab), whose merges cross word boundaries that real vocabularies'
merges do not, so that a word boundary drawn differently shows in the ids.

The vocabularies are committed (src/test/resources/reference/pretok/vocab-*.gguf) with
tokens.json: for each name and vocabulary, the ids with add_special on (BOS as llama.cpp
decides), parse_special off and on ("special" lists only the texts where it differs); names whose
ids equal another name's on the same vocabulary are stored as "same_as".

Usage: /opt/linlens-ref/bin/python make_pretok_tokens.py [LLAMA_CPP_DIR]
  LLAMA_CPP_DIR: a llama.cpp source tree with models/ and src/ (default: llama-cpp-python's sdist of the
  installed version, fetched with pip download).
"""
import json
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import gguf
import llama_cpp

from common import REPO_ROOT, versions, write_json
from make_tokens import CORPUS as BASE_CORPUS

OUT = REPO_ROOT / "src" / "test" / "resources" / "reference" / "pretok"
MERGES = 2000
DEFAULT_VOCAB = "llama-bpe"
SUBSTRINGS = "substrings"  # the made vocabulary every name also runs on
# names llama.cpp runs without GPT-2's byte map (SentencePiece-style BPE over raw UTF-8)
NOT_BYTE_LEVEL = {"gemma4", "granite-embed-multi-311m", "sarvam-moe", "whitespace"}
# texts aimed at where pre-tokenizers differ: case changes, digit groups, CJK and other scripts,
# white space beyond ASCII, the chameleon and deepseek special regexes
EXTRA = [
    "ŒUVRE ÉCOLE ÆRØ HelloWorld XMLHttpRequest iPhone McDONALD'S",
    "1234567 12345 1,234,567.89 0.5 ١٢٣٤ ½ ² Ⅻ 99 999 9999",
    "東京は日本の首都です。カタカナ ひらがな 中文字符 한국어 ㄅㄆㄇ",
    "ไทย ភាសាខ្មែរ ພາສາລາວ မြန်မာ",
    "full\u3000width\u00a0nbsp\u2003em\u2028ls\u0085nel end\u3000",
    "<sentinel:12> IMGIMGABZ text  two  spaces    four",
    "「引用」、句読点。！？ ＡＢＣ ｆｕｌｌ",
    "don't DON'T we'Ll you'RE it'S l'homme",
    "a1b22c333d4444 x_y-z.w",
    "  \n  \n\n\t \r\n end  ",
]


def vocab_dir(arg):
    if arg:
        return Path(arg) / "models"
    version = llama_cpp.__version__
    tmp = Path(tempfile.mkdtemp())
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps",
                    f"llama-cpp-python=={version}", "-d", str(tmp)], check=True)
    sdist = next(tmp.glob("llama_cpp_python-*.tar.gz"))
    with tarfile.open(sdist) as t:
        members = [m for m in t.getmembers() if re.search(r"vendor/llama\.cpp/(models/ggml-vocab-[^/]+\.gguf|src/llama-vocab\.cpp)$", m.name)]
        t.extractall(tmp, members=members, filter="data")
    return next(tmp.glob("*/vendor/llama.cpp/models"))


def accepted_names(models):
    """The names llama-vocab.cpp's loader accepts for a BPE vocabulary (its if-chain)."""
    src = (models.parent / "src" / "llama-vocab.cpp").read_text(encoding="utf-8")
    chain = src[src.index('tokenizer_pre == "default"'):]
    chain = chain[:chain.index("unknown pre-tokenizer type")]
    return sorted(set(re.findall(r'tokenizer_pre == "([^"]+)"', chain)))


def field(r, key):
    f = r.fields.get(key)
    return None if f is None else f.contents()


def reduce_vocab(src, dst):
    """The first MERGES merges of src's vocabulary, as described above; other metadata kept."""
    r = gguf.GGUFReader(src)
    tokens = field(r, "tokenizer.ggml.tokens")
    types = field(r, "tokenizer.ggml.token_type")
    merges = field(r, "tokenizer.ggml.merges")[:MERGES]
    index = {t: i for i, t in enumerate(tokens)}
    keep = set()
    # GPT-2's byte map: printable Latin-1 bytes stand for themselves, the others for 256, 257, ...
    # A byte without its token (Falcon's vocabulary lacks a few control bytes) is appended, as
    # linlens requires every byte's token.
    n, missing = 0, []
    for b in range(256):
        printable = 33 <= b <= 126 or 161 <= b <= 172 or 174 <= b <= 255
        ch = chr(b) if printable else chr(256 + n)
        n += 0 if printable else 1
        if ch in index:
            keep.add(index[ch])
        else:
            missing.append(ch)
    for m in merges:
        a, b = m.split(" ", 1)
        for t in (a, b, a + b):
            if t in index:
                keep.add(index[t])
    specials = {}
    for key in ("bos", "eos", "unknown", "padding", "seperator", "mask", "eot", "eom"):
        v = field(r, f"tokenizer.ggml.{key}_token_id")
        if v is not None and 0 <= v < len(tokens):
            specials[key] = v
            keep.add(v)
    keep |= {i for i, t in enumerate(types) if t in (3, 4)}  # control, user-defined
    order = sorted(keep)
    new_id = {old: new for new, old in enumerate(order)}
    merges = [m for m in merges if all(p in index and index[p] in new_id for p in m.split(" ", 1))]

    w = gguf.GGUFWriter(dst, arch=field(r, "general.architecture"))
    for key, f in r.fields.items():
        if key.startswith("GGUF.") or key == "general.architecture" or key.startswith("tokenizer."):
            continue
        sub = f.types[-1] if f.types[0] == gguf.GGUFValueType.ARRAY else None
        w.add_key_value(key, f.contents(), f.types[0], sub_type=sub)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre(field(r, "tokenizer.ggml.pre"))
    w.add_token_list([tokens[i] for i in order] + missing)
    w.add_token_types([types[i] for i in order] + [1] * len(missing))
    w.add_token_merges(merges)
    for key, v in specials.items():
        w.add_uint32(f"tokenizer.ggml.{key}_token_id", new_id[v])
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.close()
    return {"source": Path(src).name, "tokens": len(order) + len(missing), "merges": len(merges),
            "byte_tokens_added": len(missing)}


def gpt2_chars():
    """GPT-2's byte map: printable Latin-1 bytes stand for themselves, the others for 256, 257, ..."""
    out, n = [], 0
    for b in range(256):
        printable = 33 <= b <= 126 or 161 <= b <= 172 or 174 <= b <= 255
        out.append(chr(b) if printable else chr(256 + n))
        n += 0 if printable else 1
    return out


def substring_vocab(base, dst, texts):
    """A vocabulary made to show word boundaries: the 256 byte tokens, base's control tokens, and
    every 2- to 4-byte substring of the corpus (as GPT-2 characters), each made by merging any two
    pieces of it (shorter results first, then in order of first occurrence). A real vocabulary's
    merges rarely cross another pre-tokenizer's word boundaries; these do, so a boundary llama.cpp
    draws and linlens does not (or the reverse) changes the ids."""
    r = gguf.GGUFReader(base)
    tokens, types = field(r, "tokenizer.ggml.tokens"), field(r, "tokenizer.ggml.token_type")
    chars = gpt2_chars()
    vocab = list(chars)
    specials = [t for t, k in zip(tokens, types) if k == 3][:8]
    vocab += specials
    mapped = ["".join(chars[b] for b in t.encode("utf-8")) for t in texts]
    seen, merges = set(vocab), []
    for n in (2, 3, 4):
        for m in mapped:
            for i in range(len(m) - n + 1):
                piece = m[i:i + n]
                if piece not in seen:
                    seen.add(piece)
                    vocab.append(piece)
                    merges += [piece[:k] + " " + piece[k:] for k in range(1, n)]
    w = gguf.GGUFWriter(dst, arch=field(r, "general.architecture"))
    for key, f in r.fields.items():
        if key.startswith("GGUF.") or key == "general.architecture" or key.startswith("tokenizer."):
            continue
        sub = f.types[-1] if f.types[0] == gguf.GGUFValueType.ARRAY else None
        w.add_key_value(key, f.contents(), f.types[0], sub_type=sub)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("default")
    w.add_token_list(vocab)
    w.add_token_types([1] * 256 + [3] * len(specials) + [1] * (len(vocab) - 256 - len(specials)))
    w.add_token_merges(merges)
    w.add_uint32("tokenizer.ggml.bos_token_id", 256)
    w.add_uint32("tokenizer.ggml.eos_token_id", 257)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.close()
    return {"source": f"made from the corpus (specials of {Path(base).name})", "tokens": len(vocab), "merges": len(merges),
            "byte_tokens_added": 0}


def with_pre(src, pre, dst):
    """A copy of the GGUF src (no tensors) with tokenizer.ggml.pre replaced."""
    r = gguf.GGUFReader(src)
    w = gguf.GGUFWriter(dst, arch=field(r, "general.architecture"))
    for key, f in r.fields.items():
        if key.startswith("GGUF.") or key == "general.architecture":
            continue
        value = pre if key == "tokenizer.ggml.pre" else f.contents()
        sub = f.types[-1] if f.types[0] == gguf.GGUFValueType.ARRAY else None
        w.add_key_value(key, value, f.types[0], sub_type=sub)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.close()


def special_text(path):
    """A text with up to three of the vocabulary's control/user-defined tokens among words."""
    r = gguf.GGUFReader(path)
    tokens, types = field(r, "tokenizer.ggml.tokens"), field(r, "tokenizer.ggml.token_type")
    sp = [t for t, k in zip(tokens, types) if k in (3, 4)][:3]
    return "hi " + " there".join(sp) + "end" if sp else "no special tokens here"


def main():
    models = vocab_dir(sys.argv[1] if len(sys.argv) > 1 else None)
    names = accepted_names(models)
    real = {}
    for p in sorted(models.glob("ggml-vocab-*.gguf")):
        r = gguf.GGUFReader(str(p))
        if field(r, "tokenizer.ggml.model") == "gpt2" and field(r, "tokenizer.ggml.pre"):
            real.setdefault(field(r, "tokenizer.ggml.pre"), p.name[len("ggml-vocab-"):-len(".gguf")])
    corpus = list(dict.fromkeys(BASE_CORPUS + EXTRA))

    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("vocab-*.gguf"):
        old.unlink()
    vocabs = {}
    for pre, stem in sorted(real.items()):
        print("reducing", stem, flush=True)
        vocabs[stem] = reduce_vocab(str(models / f"ggml-vocab-{stem}.gguf"), str(OUT / f"vocab-{stem}.gguf"))
        vocabs[stem]["pre"] = pre
    if DEFAULT_VOCAB not in vocabs:
        sys.exit(f"llama.cpp ships no ggml-vocab-{DEFAULT_VOCAB}.gguf")
    vocabs[SUBSTRINGS] = substring_vocab(str(OUT / f"vocab-{DEFAULT_VOCAB}.gguf"), str(OUT / f"vocab-{SUBSTRINGS}.gguf"), corpus)
    vocabs[SUBSTRINGS]["pre"] = "default"
    for stem in vocabs:
        vocabs[stem]["special_text"] = special_text(str(OUT / f"vocab-{stem}.gguf"))

    out = {"tool": f"llama-cpp-python {llama_cpp.__version__} (Llama(vocab_only=True).tokenize, add_bos=True)",
           "versions": versions(), "corpus": corpus, "vocabs": vocabs, "names": {}, "names_on_substrings": {},
           "not_byte_level": []}
    seen = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            if name in NOT_BYTE_LEVEL:
                out["not_byte_level"].append(name)
                continue
            for table, stem in (("names", real.get(name, DEFAULT_VOCAB)), ("names_on_substrings", SUBSTRINGS)):
                path = str(Path(tmp) / "v.gguf")
                with_pre(str(OUT / f"vocab-{stem}.gguf"), name, path)
                llm = llama_cpp.Llama(model_path=path, vocab_only=True, verbose=False)
                texts = corpus + [vocabs[stem]["special_text"]]
                plain = [llm.tokenize(t.encode("utf-8"), add_bos=True, special=False) for t in texts]
                special = {str(i): ids for i, t in enumerate(texts)
                           if (ids := llm.tokenize(t.encode("utf-8"), add_bos=True, special=True)) != plain[i]}
                del llm
                key = json.dumps([stem, plain, special])
                if key in seen:
                    out[table][name] = {"vocab": stem, "same_as": seen[key]}
                else:
                    seen[key] = name
                    out[table][name] = {"vocab": stem, "plain": plain, "special": special}
    write_json(OUT / "tokens.json", out, compact=True)
    size = sum(p.stat().st_size for p in OUT.iterdir())
    distinct = sum("same_as" not in v for v in out["names_on_substrings"].values())
    print(f"{len(out['names'])} names, {len(corpus) + 1} texts each on two vocabularies; {distinct} distinct results on {SUBSTRINGS},"
          f" {len(vocabs)} vocabularies; {OUT}: {size} bytes")
    print("not byte-level:", ", ".join(out["not_byte_level"]))


if __name__ == "__main__":
    main()
