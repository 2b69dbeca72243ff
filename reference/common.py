"""Shared helpers for the Linear Lens Python reference scripts (paths, provenance, hashing)."""
import hashlib
import json
import os
import platform
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
MODEL_PATH = Path(os.environ.get(
    "LINLENS_GEMMA3_270M",
    str(Path.home() / ".cache" / "linlens" / "models" / "gemma-3-270m.gguf")))
MODEL_SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
FIXTURE_DIR = REPO_ROOT / "src" / "test" / "resources" / "reference" / "gemma-3-270m"


def sha256_of(path, chunk=1 << 20):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(chunk)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def check_model():
    """Fail loudly if the model file is missing or is not the expected one."""
    if not MODEL_PATH.exists():
        sys.exit(f"model not found: {MODEL_PATH} (set LINLENS_GEMMA3_270M)")
    got = sha256_of(MODEL_PATH)
    if got != MODEL_SHA256:
        sys.exit(f"model sha256 mismatch: {got} != {MODEL_SHA256}")
    return got


def versions():
    """Versions of every tool that can touch a fixture."""
    import importlib.metadata as md
    out = {"python": platform.python_version()}
    for pkg in ("numpy", "gguf", "llama-cpp-python", "torch", "transformers"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    return out


def write_json(path, obj, compact=False):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        if compact:
            json.dump(obj, f, ensure_ascii=False, separators=(",", ":"))
        else:
            json.dump(obj, f, ensure_ascii=False, indent=1)
        f.write("\n")


def load_llama(vocab_only=False, n_ctx=512):
    from llama_cpp import Llama
    return Llama(model_path=str(MODEL_PATH), vocab_only=vocab_only, n_ctx=n_ctx,
                 n_batch=n_ctx, n_ubatch=n_ctx, n_threads=os.cpu_count(),
                 n_gpu_layers=0, logits_all=False, verbose=False)


def tokenize(llm, text):
    """Token ids exactly as llama.cpp produces them: BOS added, special tokens parsed."""
    return llm.tokenize(text.encode("utf-8"), add_bos=True, special=True)


# The second real family: Qwen2.5-Coder 0.5B Instruct, GGUF Q4_K_M ('linlens models fetch qwen2.5-coder-0.5b').
QWEN_PATH = Path(os.environ.get(
    "LINLENS_QWEN25_CODER_05B",
    str(Path.home() / ".cache" / "linlens" / "models" / "qwen2.5-coder-0.5b.gguf")))
QWEN_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
QWEN_FIXTURE_DIR = REPO_ROOT / "src" / "test" / "resources" / "reference" / "qwen2.5-coder-0.5b"


def check_qwen_model():
    """As check_model, for the Qwen file."""
    if not QWEN_PATH.exists():
        sys.exit(f"model not found: {QWEN_PATH} (set LINLENS_QWEN25_CODER_05B)")
    got = sha256_of(QWEN_PATH)
    if got != QWEN_SHA256:
        sys.exit(f"model sha256 mismatch: {got} != {QWEN_SHA256}")
    return got
