#!/usr/bin/env bash
# Regenerates every number in BENCHMARKS.md on this machine, then rewrites its results section:
#   1. linlens bench, 8 and 32 tokens: forward, full detached Jacobian, forward + Jacobian, SVD + decoding,
#      matrix-free top-k; then the layer sweep (every layer and site, materialized and matrix-free) on 8 tokens
#   2. reference/pipeline_torch.py (the paper's PyTorch autograd pipeline) on the same prompts, twice: on a compact
#      PyTorch Gemma 3 (--impl lean) and on transformers' own Gemma 3 modules as the paper's code runs them
#      (--impl transformers; its HF folder is made from the GGUF once, ~1.1 GB in ~/.cache/linlens/hf)
#   3. linlens bench, 400 tokens: matrix-free tokens-combined top-16
#   4. linlens bench on a synthetic Gemma 3 4B Q4_K_M model (bench/make_synthetic_model.py, ~2.5 GB, made once)
# Run it on a quiet machine: the benchmark measures the sgemm peak in the same run, and other load skews both.
# Environment: BENCH_OUT (results folder, default target/bench), LINLENS_REF_VENV (default /opt/linlens-ref),
# LINLENS_SYNTHETIC (the synthetic model's path). The JVM heap is capped per step (a larger cap only lets the
# collector run later, which shows up as resident memory): 2 GB for the 8/32-token runs, 6 GB for the long ones.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
out="${BENCH_OUT:-$root/target/bench}"
py="${LINLENS_REF_VENV:-/opt/linlens-ref}/bin/python"
big="${LINLENS_SYNTHETIC:-$HOME/.cache/linlens/synthetic/gemma3-4b-synthetic-q4_k_m.gguf}"
mkdir -p "$out"
rm -f "$out"/linlens*.json "$out"/torch*.json "$out"/long.json "$out"/big.json  # nothing stale gets rendered
prompt=(--prompt-file bench/passage.txt)

LINLENS_JAVA_OPTS=-Xmx2g bin/linlens bench "${prompt[@]}" --tokens 8,32 --warmup 1 --repeats 5 --json "$out/linlens.json"
# the layer sweeps take minutes each: one timed run, no warm-up (JIT warm-up is a negligible part of it)
LINLENS_JAVA_OPTS=-Xmx6g bin/linlens bench "${prompt[@]}" --tokens 8 --stages layers,layers_topk --warmup 0 --repeats 1 \
  --json "$out/linlens-layers.json"
for impl in lean transformers; do
  "$py" reference/pipeline_torch.py "${prompt[@]}" --tokens 8,32 --impl "$impl" --warmup 1 --repeats 5 --threads "$(nproc)" \
    --json "$out/torch$([ "$impl" = lean ] || echo "-$impl").json"
done
LINLENS_JAVA_OPTS=-Xmx6g bin/linlens bench "${prompt[@]}" --tokens 400 --stages topk --warmup 0 --repeats 1 --json "$out/long.json"
[ -f "$big" ] || "$py" bench/make_synthetic_model.py "$big"
LINLENS_JAVA_OPTS=-Xmx6g bin/linlens bench --model "$big" "${prompt[@]}" --tokens 8 --stages forward,topk --warmup 1 --repeats 1 --json "$out/big.json"
python3 bench/render.py "$out" BENCHMARKS.md
echo "BENCHMARKS.md updated from $out"
