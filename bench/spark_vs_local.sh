#!/usr/bin/env bash
# Local engine vs Spark local[2] on the same prompts, one run each, in one go (BENCHMARKS.md,
# "Scans on Spark"): the first N rows of a built-in dataset on the demo model, default analyses.
# Usage: bench/spark_vs_local.sh [N=16] [DATASET=crows-pairs]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
n="${1:-16}"; data="${2:-crows-pairs}"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
# builds the core and the Spark module first, so that no build is timed
"$root/bin/linlens" scan --engine spark --master 'local[1]' --dataset "$data" --limit 1 --out "$work/warm" --quiet >/dev/null
"$root/bin/linlens" scan --dataset "$data" --limit 1 --out "$work/warm-local" --quiet >/dev/null
run() {  # name, then linlens arguments
  local name="$1"; shift
  local t0 t1; t0=$(date +%s.%N)
  "$root/bin/linlens" scan --dataset "$data" --limit "$n" --out "$work/$name" --quiet "$@" >/dev/null
  t1=$(date +%s.%N)
  awk -v n="$n" -v name="$name" -v a="$t0" -v b="$t1" -v load="$(cut -d' ' -f1 /proc/loadavg)" \
    'BEGIN { printf "%-28s %3d prompts  %7.1f s  %6.2f prompts/min  (load average after: %s)\n", name, n, b-a, n*60/(b-a), load }'
  "$root/bin/linlens" query "$work/$name" "SELECT round(sum(time_total_ms)/1000, 1) AS rows_s, count(error) AS errors FROM results" | tail -n +3 | head -1 \
    | awk '{ printf "%-28s rows own time %s s, errors %s\n", "", $1, $2 }'
}
echo "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load average before: $(cut -d' ' -f1 /proc/loadavg)"
run local-threads1 --threads 1
run spark-local2-threads1 --engine spark --master 'local[2]' --threads 1
run local-threads2 --threads 2
