#!/usr/bin/env bash
# Creates or updates the reference venv (idempotent). Usage: bash reference/setup_env.sh
# Env: LINLENS_REF_VENV (default /opt/linlens-ref), PYTHON (default python3).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${LINLENS_REF_VENV:-/opt/linlens-ref}"
PY="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
  "$VENV/bin/pip" install --upgrade pip setuptools wheel
fi

have() {  # have PKG VERSION -> 0 when installed at exactly that version
  [ "$("$VENV/bin/python" -c "import importlib.metadata as m; print(m.version('$1'))" 2>/dev/null || true)" = "$2" ]
}
want() { grep -E "^$1==" "$HERE/requirements.txt" | head -1 | cut -d= -f3; }

# llama-cpp-python first: it compiles llama.cpp (several minutes on 2 cores), CPU only, portable.
LCP="$(want llama-cpp-python)"
if ! have llama-cpp-python "$LCP"; then
  CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF -DGGML_CUDA=OFF -DGGML_METAL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF}" \
  CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}" \
    "$VENV/bin/pip" install --no-binary llama-cpp-python "llama-cpp-python==$LCP"
fi

"$VENV/bin/pip" install -r "$HERE/requirements.txt"
"$VENV/bin/python" - <<'PY'
import importlib.metadata as m
for p in ("numpy", "gguf", "llama-cpp-python", "torch", "transformers", "safetensors", "tokenizers", "sentencepiece", "protobuf"):
    print(f"{p}=={m.version(p)}")
import llama_cpp, gguf.quants, torch, transformers, safetensors, tokenizers  # noqa: F401  (import check)
PY
echo "reference venv ready: $VENV"
