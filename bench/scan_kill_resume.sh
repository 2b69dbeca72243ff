#!/usr/bin/env bash
# The dataset scan's "nothing lost, nothing twice" on a real run: fetch a built-in dataset, scan
# N of its prompts on the demo model, kill -9 the scan in the middle of a batch, resume it, and
# check with `linlens query` and with plain DuckDB (Python's duckdb package, in a throwaway
# virtual environment) that every row is there exactly once. Then the rows around the kill are
# scanned again from scratch in a separate folder, and compared value for value with the resumed
# scan's (the same prompt, model and options give the same numbers, bit for bit).
#
#   bench/scan_kill_resume.sh [DATASET [N [WORK_DIR]]]     # defaults: crows-pairs 1000 /tmp/linlens-kill-resume
#
# Prints counts and timings; writes WORK_DIR/summary.txt. Takes about N / (prompts per minute).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dataset="${1:-crows-pairs}"; n="${2:-1000}"; work="${3:-/tmp/linlens-kill-resume}"
linlens="$root/bin/linlens"
out="$work/scan"; ref="$work/reference"
# CHECK_ONLY=1: only the checks (steps 3 to 5) on a finished run's folder
if [ "${CHECK_ONLY:-0}" != 1 ]; then rm -rf "$work"; mkdir -p "$work"; fi
say() { echo "$*" | tee -a "$work/summary.txt"; }

"$linlens" models fetch gemma-3-270m --quiet >/dev/null
data="$("$linlens" datasets fetch "$dataset" --quiet)"
say "dataset $dataset: $data ($(wc -l < "$data") rows); scanning the first $n"

if [ "${CHECK_ONLY:-0}" != 1 ]; then
# 1. Start the scan; kill -9 it when at least a third of the rows are committed and a batch is
#    under way (bin/linlens execs java, so $! is the JVM itself).
start=$(date +%s)
"$linlens" scan --dataset "$data" --limit "$n" --out "$out" --batch 32 2> "$work/first.log" &
pid=$!
committed() { ls "$out/parts" 2>/dev/null | grep -c '^part-.*\.parquet$' || true; }
target=$(( (n / 32) / 3 + 1 ))
while kill -0 "$pid" 2>/dev/null && [ "$(committed)" -lt "$target" ]; do sleep 2; done
sleep 7   # into the next batch
if ! kill -0 "$pid" 2>/dev/null; then echo "the scan ended before it could be killed" >&2; exit 1; fi
kill -9 "$pid"; wait "$pid" 2>/dev/null || true
killed=$(date +%s)
parts_at_kill=$(committed)
leftovers=$(ls -A "$out/parts" | grep -vc '^part-.*\.parquet$' || true)
rows_at_kill=$("$linlens" query "$out" "SELECT count(*) AS n FROM results" 2>/dev/null | awk 'NR==3 {print $1}')
say "killed (SIGKILL) after $((killed - start)) s: $parts_at_kill parts, $rows_at_kill rows committed, $leftovers other files in parts/"

# 2. Resume.
"$linlens" scan --dataset "$data" --limit "$n" --out "$out" --batch 32 --resume 2> "$work/resume.log"
done_at=$(date +%s)
say "resumed and finished after another $((done_at - killed)) s"
tail -n 3 "$work/resume.log" | tee -a "$work/summary.txt"

else
  rows_at_kill=$(grep -o '[0-9]* rows committed, ' "$work/summary.txt" | head -1 | cut -d' ' -f1)
  rm -rf "$ref"
fi

# 3. linlens query: every row index 0..n-1 exactly once.
"$linlens" query "$out" "SELECT count(*) AS rows, count(DISTINCT row_index) AS distinct_rows, min(row_index) AS first, max(row_index) AS last, count(error) AS errors, round(60000 * count(*) / sum(time_total_ms), 1) AS prompts_per_min_of_work FROM results" | tee -a "$work/summary.txt"
"$linlens" query "$out" "SELECT predicted_token, count(*) AS n FROM results GROUP BY 1 ORDER BY n DESC, 1 LIMIT 5" | tee -a "$work/summary.txt"

# 4. Plain DuckDB (no Linear Lens): the same counts from the Parquet files and the results view.
[ -x "$work/venv/bin/python" ] || python3 -m venv "$work/venv" >/dev/null
"$work/venv/bin/pip" install -q duckdb
"$work/venv/bin/python" - "$out" "$n" <<'PY' | tee -a "$work/summary.txt"
import sys, duckdb
out, n = sys.argv[1], int(sys.argv[2])
con = duckdb.connect()
rows, distinct, lo, hi = con.execute(f"SELECT count(*), count(DISTINCT row_index), min(row_index), max(row_index) FROM read_parquet('{out}/parts/*.parquet')").fetchone()
print(f"plain DuckDB {duckdb.__version__}: {rows} rows, {distinct} distinct row indexes, {lo}..{hi}")
view = duckdb.connect(f"{out}/results.duckdb", read_only=True).execute("SELECT count(*) FROM results").fetchone()[0]
print(f"plain DuckDB, results view in results.duckdb: {view} rows")
assert rows == distinct == n and lo == 0 and hi == n - 1 and view == n, "rows lost or doubled"
PY

# 5. The rows around the kill, scanned again from scratch: bit-equal to the resumed scan's.
lo=$(( rows_at_kill > 8 ? rows_at_kill - 8 : 0 )); hi=$(( rows_at_kill + 40 < n ? rows_at_kill + 40 : n ))
sed -n "$((lo + 1)),${hi}p" "$data" > "$work/around-kill.jsonl"
"$linlens" scan --dataset "$work/around-kill.jsonl" --out "$ref" --quiet 2> "$work/reference.log"
"$work/venv/bin/python" - "$out" "$ref" "$lo" <<'PY' | tee -a "$work/summary.txt"
import sys, duckdb
out, ref, lo = sys.argv[1], sys.argv[2], int(sys.argv[3])
con = duckdb.connect()
con.sql(f"CREATE VIEW a AS SELECT * FROM read_parquet('{out}/parts/*.parquet')")
con.sql(f"CREATE VIEW b AS SELECT * EXCLUDE (row_index), row_index + {lo} AS row_index FROM read_parquet('{ref}/parts/*.parquet')")
timing = {"time_total_ms", "time_forward_ms", "time_decompose_ms", "time_attribute_ms", "time_layers_ms"}
cols = [d[0] for d in con.execute("SELECT * FROM b LIMIT 0").description if d[0] not in timing and d[0] != "row_index"]
same = " AND ".join(f"a.{c} IS NOT DISTINCT FROM b.{c}" for c in cols)
total, equal = con.execute(f"SELECT count(*), count(*) FILTER (WHERE {same}) FROM a JOIN b USING (row_index)").fetchone()
print(f"rows {lo}..{lo + total - 1} (around the kill) scanned again from scratch: {equal} of {total} equal in all {len(cols)} non-timing columns")
assert total > 0 and equal == total, "the resumed scan differs from a fresh one"
PY
[ "${CHECK_ONLY:-0}" = 1 ] || say "total wall time $(( $(date +%s) - start )) s"
