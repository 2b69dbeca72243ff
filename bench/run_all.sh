#!/usr/bin/env bash
# Regenerates every number in BENCHMARKS.md on this machine, then rewrites its results section:
#   1. linlens bench, 8 and 32 tokens: forward, full detached Jacobian, forward + Jacobian, SVD + decoding,
#      matrix-free top-k; then the layer sweep (every layer and site, materialized and matrix-free) on 8 tokens
#   2. reference/pipeline_torch.py (the paper's PyTorch autograd pipeline) on the same prompts, twice: on a compact
#      PyTorch Gemma 3 (--impl lean) and on transformers' own Gemma 3 modules as the paper's code runs them
#      (--impl transformers; its HF folder is made from the GGUF once, ~1.1 GB in ~/.cache/linlens/hf)
#   3. linlens bench, 400 tokens: matrix-free tokens-combined top-16
#   4. a synthetic Llama 3.1 8B Q4_K_M (bench/make_synthetic_model.py, 4.9 GB, made once): the full J of 8 tokens
#      and its SVDs, the matrix-free top-16 (tokens combined, checked against that J's SVD, and last position) of
#      8 and 128 tokens (~45 min)
#   5. with --70b: a synthetic Llama 3.3 70B Q4_K_M (42.5 GB, made once; more than this machine's memory, so its
#      weights stream from disk): forward pass and matrix-free top-16 of 16 tokens (~30 min)
# Run it on a quiet machine: the benchmark measures the sgemm peak in the same run, and other load skews both.
# Environment: BENCH_OUT (results folder, default target/bench), LINLENS_REF_VENV (default /opt/linlens-ref),
# LINLENS_SYNTHETIC (folder of the synthetic models, default ~/.cache/linlens/synthetic). The JVM heap is capped
# per step (a larger cap only lets the collector run later, which shows up as resident memory).
# The matrix-free top-16 of the synthetic models uses 1 power iteration (4 sweeps of 32 vectors): what fits the 70B
# in 30 minutes here; the 8B's 8-token run shows how close that setting comes to the full SVD.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
out="${BENCH_OUT:-$root/target/bench}"
py="${LINLENS_REF_VENV:-/opt/linlens-ref}/bin/python"
synth="${LINLENS_SYNTHETIC:-$HOME/.cache/linlens/synthetic}"
huge=false
[ "${1:-}" = --70b ] && huge=true
mkdir -p "$out"
rm -f "$out"/linlens*.json "$out"/torch*.json "$out"/long.json "$out"/big.json "$out"/llama8b*.json  # nothing stale gets rendered
$huge && rm -f "$out"/llama70b.json
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
topk=(--power-iterations 1 --oversampling 16 --warmup 0 --repeats 1)
m8="$synth/llama3.1-8b-synthetic-q4_k_m.gguf"
[ -f "$m8" ] || "$py" bench/make_synthetic_model.py --config llama3.1-8b "$m8"
# --sweep-memory 5120: all 4096 cotangents of the full J in one sweep (its per-position MLP maps are the cheaper schedule)
LINLENS_JAVA_OPTS=-Xmx12g bin/linlens bench --model "$m8" "${prompt[@]}" --tokens 8 --sweep-memory 5120 \
  --stages forward,jacobian,svd_decode,topk,topk_last "${topk[@]}" --json "$out/llama8b.json"
LINLENS_JAVA_OPTS=-Xmx8g bin/linlens bench --model "$m8" "${prompt[@]}" --tokens 128 --stages topk,topk_last "${topk[@]}" \
  --json "$out/llama8b-long.json"
if $huge; then
  m70="$synth/llama3.3-70b-synthetic-q4_k_m.gguf"
  [ -f "$m70" ] || "$py" bench/make_synthetic_model.py --config llama3.3-70b "$m70"
  LINLENS_JAVA_OPTS=-Xmx4g bin/linlens bench --model "$m70" "${prompt[@]}" --tokens 16 --stages forward,topk,topk_last \
    "${topk[@]}" --json "$out/llama70b.json"
fi
python3 bench/render.py "$out" BENCHMARKS.md
echo "BENCHMARKS.md updated from $out"
