"""Renders the results of bench/run_all.sh into BENCHMARKS.md, between the results markers.

Inputs (JSON, in the results folder): linlens.json (linlens bench, 8 and 32 tokens, all stages; or several
linlens-*.json, merged), torch.json and torch-transformers.json (reference/pipeline_torch.py on the same
prompts, --impl lean and --impl transformers; either may be missing), long.json (linlens bench, 400 tokens, matrix-free top-k),
big.json (linlens bench on the synthetic 4B model: forward and matrix-free top-k). Standard library only.

Usage: python3 bench/render.py RESULTS_DIR BENCHMARKS.md
"""
import json
import os
import sys
from pathlib import Path

BEGIN, END = "<!-- results:begin (bench/render.py writes this part) -->", "<!-- results:end -->"


def load(folder, name):
    p = Path(folder) / name
    return json.loads(p.read_text(encoding="utf-8")) if p.exists() else None


def load_ours(folder):
    """linlens.json and any linlens-*.json (separate invocations, e.g. the layer sweeps) merged, linlens.json first."""
    files = sorted(Path(folder).glob("linlens*.json"), key=lambda p: (p.name != "linlens.json", p.name))  # the main run first
    parts = [json.loads(p.read_text(encoding="utf-8")) for p in files]
    if not parts:
        return None
    merged = dict(parts[0])
    merged["prompts"] = [p for part in parts for p in part["prompts"]]
    merged["sgemm_peaks"] = [part["sgemm_peak"]["gflops"] for part in parts]
    return merged


def mb(b):
    return f"{b / 1e6:,.0f} MB"


def gemm_share(s):
    """Time inside BLAS GEMM calls in the fastest repeat, its share of the wall time, and the GEMMs' own rate."""
    g = s.get("gemm_s")
    if not g:
        return "-"
    rate = f", {s['gemm_flops'] / g / 1e9:.0f} GFLOP/s" if "gemm_flops" in s else ""  # GEMM operations only
    return f"{g:.3f} s ({100 * g / s['wall_s_min']:.0f}%{rate})"


def stage_table(report):
    rows = ["| tokens | stage | wall time (best / median) | GFLOP | GFLOP/s | of sgemm peak | in GEMMs (share of wall; their GFLOP/s) "
            "| peak RSS | peak heap |",
            "|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    for p in report["prompts"]:
        for s in p["stages"]:
            rows.append(f"| {p['tokens']} | {s['stage']} | {s['wall_s_min']:.3f} s / {s['wall_s_median']:.3f} s | "
                        f"{s['flops'] / 1e9:,.1f} | {s['gflop_per_s']:.1f} | {100 * s['fraction_of_sgemm_peak']:.0f}% | "
                        f"{gemm_share(s)} | {mb(s['peak_rss_bytes'])} | {mb(s['peak_heap_bytes'])} |")
    notes = [f"- {p['tokens']} tokens, {s['stage']}: {s['note']}" for p in report["prompts"] for s in p["stages"] if s.get("note")]
    return rows + ([""] + notes if notes else [])


def machine(report):
    pk = report["sgemm_peak"]
    peaks = report.get("sgemm_peaks", [pk["gflops"]])
    return (f"{report['cpu_cores']} cores, OpenBLAS {report['blas_threads']} threads, Java {report['java']}; "
            f"sgemm peak measured in the run: **{' / '.join(f'{g:.1f}' for g in peaks)} GFLOP/s** "
            f"(best of {', '.join(pk['shapes'])}{', one per invocation' if len(peaks) > 1 else ''})")


def stage(report, tokens, name):
    for p in report["prompts"]:
        if p["tokens"] == tokens:
            for s in p["stages"]:
                if s["stage"] == name:
                    return p, s
    return None, None


IMPL_LABEL = {"lean": "compact PyTorch Gemma 3 (gemma3_torch.py)",
              "transformers": "transformers' Gemma 3 modules, as the paper's code (gemma3_hf_detached.py)"}


def comparison(ours, refs):
    """One row per prompt length and reference implementation; the speed-ups and the targets' verdicts."""
    peak = ours["sgemm_peak"]["gflops"]
    rows = ["| tokens | reference forward pass | linlens J | linlens forward + J | PyTorch autograd J (its forward included) | "
            "speed-up: J / forward + J | J's GFLOP at the sgemm peak: time / speed-up bound | linlens peak RSS | "
            "PyTorch peak RSS | linlens J of sgemm peak | memory target (weights + 2·J + 1 GB) | "
            "randomized SVD: torch.svd_lowrank on J / linlens matrix-free top-k |",
            "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    verdicts = []
    for ref in refs:
        impl = ref.get("impl", "lean")
        for r in ref["prompts"]:
            n = r["tokens"]
            p, j = stage(ours, n, "jacobian")
            _, fj = stage(ours, n, "forward_jacobian")
            _, tk = stage(ours, n, "topk_tokens_combined")
            if j is None:
                continue
            theirs = r["jacobian"]["wall_s_min"]
            speed = theirs / j["wall_s_min"]
            speed_fj = theirs / fj["wall_s_min"] if fj else None
            at_peak = j["flops"] / (peak * 1e9)  # the J's GEMMs alone, at the run's sgemm peak
            peak_rss = max(s["peak_rss_bytes"] for s in (j, fj) if s)
            target_ok = peak_rss <= p["memory_target_bytes"]
            svd = f"{r['svd_lowrank']['wall_s_min']:.2f} s / " + (f"{tk['wall_s_min']:.2f} s" if tk else "-")
            fj_time = f"{fj['wall_s_min']:.2f} s" if fj else "-"
            fj_speed = f"{speed_fj:.2f}×" if fj else "-"
            rows.append(f"| {n} | {impl} | {j['wall_s_min']:.2f} s | {fj_time} | {theirs:.2f} s | **{speed:.2f}×** / **{fj_speed}** | "
                        f"{at_peak:.2f} s / {theirs / at_peak:.2f}× | {mb(peak_rss)} | {mb(r['jacobian']['peak_rss_bytes'])} | "
                        f"{100 * j['fraction_of_sgemm_peak']:.0f}% | {mb(p['memory_target_bytes'])}: "
                        f"{'met' if target_ok else 'NOT met'} | {svd} |")
            verdicts.append((n, impl, speed, speed_fj, theirs / at_peak, j["fraction_of_sgemm_peak"], target_ok))
    return rows, verdicts


def main():
    folder, target = sys.argv[1], Path(sys.argv[2])
    ours = load_ours(folder)
    long, big = (load(folder, n) for n in ("long.json", "big.json"))
    refs = [r for r in (load(folder, n) for n in ("torch.json", "torch-transformers.json")) if r]
    out = []
    if ours:
        out += [f"Machine: {machine(ours)}.", "", f"Model: {ours['model']['source']} "
                f"({ours['stored_weights_bytes'] / 1e6:,.0f} MB stored).", "", "### linlens bench", ""]
        out += stage_table(ours)
    if ours and refs:
        rows, verdicts = comparison(ours, refs)
        out += ["", "### Side by side with the paper's pipeline (reference/pipeline_torch.py, float32, "
                f"torch {refs[0]['versions'].get('torch')}, {refs[0]['torch_threads']} threads)", ""]
        out += ["Reference forward passes: " + "; ".join(f"**{r.get('impl', 'lean')}**: {IMPL_LABEL[r.get('impl', 'lean')]}"
                                                          for r in refs) + ".", ""] + rows
        out += ["", "Targets (issue 5): Jacobian ≥ 2× faster than the reference, ≥ 50% of the sgemm peak, peak memory "
                "within weights + 2·J + 1 GB:"]
        for n, impl, speed, speed_fj, bound, frac, ok in verdicts:
            both = f"; with our forward pass counted too: {speed_fj:.2f}× ({'met' if speed_fj >= 2 else 'NOT met'})" if speed_fj else ""
            out.append(f"- {n} tokens, {impl} reference: J {speed:.2f}× faster ({'met' if speed >= 2 else 'NOT met'}){both}; "
                       f"at 100% of the sgemm peak with nothing but its GEMMs, J could be at most {bound:.2f}× faster; "
                       f"{100 * frac:.0f}% of the sgemm peak ({'met' if frac >= 0.5 else 'NOT met'}); "
                       f"memory {'met' if ok else 'NOT met'}.")
    if long:
        out += ["", "### Long prompt, matrix-free (no J formed)", "", machine(long) + ".", ""] + stage_table(long)
    if big:
        out += ["", f"### Bigger than floats allow: {big['model']['source']}", "",
                f"{big['model']['hidden_size']} wide, {big['model']['layers']} layers, "
                f"{big['matrix_parameters'] / 1e9:.2f}B matrix parameters, {big['stored_weights_bytes'] / 1e9:.2f} GB stored "
                f"(as float32 they would take {big['matrix_parameters'] * 4 / 1e9:.1f} GB). {machine(big)}.", ""] + stage_table(big)
    text = target.read_text(encoding="utf-8")
    if BEGIN not in text or END not in text:
        sys.exit(f"{target} has no results markers")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(head + BEGIN + "\n" + "\n".join(out) + "\n" + END + tail, encoding="utf-8")
    os.replace(tmp, target)


if __name__ == "__main__":
    main()
