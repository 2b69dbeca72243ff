#!/usr/bin/env bash
# The README's time and memory of each command on the demo model and its default prompt: wall
# time and peak resident memory (GNU time) of one run each, the jar already built, the model
# cached. Run on an otherwise idle machine: bench/command_costs.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$root/bin/jdk.sh"
"$root/bin/linlens" models fetch gemma-3-270m --quiet >/dev/null
echo "| command | wall time | peak memory |"
echo "|---|---|---|"
run() {
  local log; log="$(mktemp)"
  /usr/bin/time -f '%e %M' -o "$log" "$root/bin/linlens" "$@" --quiet >/dev/null
  read -r secs kb < "$log"
  printf '| `%s` | %.0f s | %.1f GB |\n' "${*@Q}" "$secs" "$(echo "$kb / 1048576" | bc -l)"
  rm -f "$log"
}
run decompose
run layers
run attribute
run steer --target "My favourite holiday was"
run predict
run logit-lens
