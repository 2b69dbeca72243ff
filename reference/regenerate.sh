#!/usr/bin/env bash
# Regenerates every fixture under src/test/resources/reference/gemma-3-270m/ and checks them, then
# those of src/test/resources/reference/qwen2.5-coder-0.5b/ (the Qwen model: LINLENS_QWEN25_CODER_05B
# or ~/.cache/linlens/models/qwen2.5-coder-0.5b.gguf; about 25 minutes on 2 busy cores).
# Needs the venv (setup_env.sh) and the model (LINLENS_GEMMA3_270M or
# ~/.cache/linlens/models/gemma-3-270m.gguf, sha256 checked). About 5 minutes on 2 cores.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PYBIN="${LINLENS_REF_VENV:-/opt/linlens-ref}/bin/python"
cd "$HERE"
"$PYBIN" make_tokens.py
"$PYBIN" make_logits.py
"$PYBIN" make_jacobians.py
"$PYBIN" verify_fixtures.py
"$PYBIN" make_qwen_fixtures.py
