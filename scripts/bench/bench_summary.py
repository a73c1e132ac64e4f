"""Summarize `vsrgan bench --json` results as Markdown tables and check issue 6's targets.

    python scripts/bench/bench_summary.py [--json ALL.json] RUN.json ...

A compiled run is measured without the reference pipelines; its ratios to them use the eager
run of the same model and size, whose references are the same programs on the same network.
"""

import argparse
import json
import math
import sys
from pathlib import Path

TARGET_BOUND = 0.90  # end-to-end >= 90% of min(model only, encode only)
TARGET_REF_PIPES = 2.0  # end-to-end >= 2x reference (b)
TARGET_COMPILED_FPS = 60.0  # compiled pixelshuffle model only at 540p -> 4K
nan = float("nan")


def num(x: float) -> str:
    """Three significant digits, without exponents for the sizes fps take: 0.0312, 4.14, 287."""
    return "n/a" if math.isnan(x) else f"{x:.3g}" if x < 1000 else f"{x:.0f}"


def key(run: dict) -> tuple:
    c = run["config"]
    return (c["input"][1], c["model"], c["compile"])


def name(run: dict) -> str:
    c = run["config"]
    return f"{c['input'][0]}x{c['input'][1]} -> {c['output'][0]}x{c['output'][1]}"


def summarize(runs: list[dict]) -> str:
    runs = sorted(runs, key=key)
    refs = {(r["config"]["input"][1], r["config"]["model"]): r["fps"] for r in runs if "ref_pipes" in r["fps"]}
    env = runs[0]["environment"]
    lines = [
        f"{env['device_name']}, {env['cpu_count']} CPUs, torch {env['torch']}, CUDA {env['cuda']}, PyAV {env['av']}",
        "",
        "| size | model | mode | batch | model only fps | TFLOP/s | decode fps | encode fps | end-to-end fps "
        "| e2e / min(model, encode) | ref (a) fps | ref (b) fps | e2e / ref (a) | e2e / ref (b) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    checks = []
    for r in runs:
        c, fps = r["config"], r["fps"]
        ref = refs.get((c["input"][1], c["model"]), {})
        mode = ("compiled" if c["compile"] else "eager") + f", {c['precision']}"
        vs_a = fps["end_to_end"] / ref["ref_seed"] if ref else nan
        vs_b = fps["end_to_end"] / ref["ref_pipes"] if ref else nan
        bound = r["ratios"]["end_to_end_vs_bound"]
        cells = [
            name(r), c["model"], mode, c["batch_size"], num(fps["model_only"]), num(r["tflops"]["model_only"]),
            num(fps["decode_only"]), num(fps["encode_only"]), num(fps["end_to_end"]), f"{bound:.2f}",
            num(ref.get("ref_seed", nan)), num(ref.get("ref_pipes", nan)), f"{vs_a:.2f}", f"{vs_b:.2f}",
        ]
        lines.append("| " + " | ".join(map(str, cells)) + " |")
        label = f"{name(r)} {c['model']} {mode}"
        checks.append(f"- {'PASS' if bound >= TARGET_BOUND else 'FAIL'} end-to-end {bound:.2f} of min(model, encode) (>= {TARGET_BOUND}): {label}")
        checks.append(f"- {'PASS' if vs_b >= TARGET_REF_PIPES else 'FAIL'} end-to-end {vs_b:.2f}x reference (b) (>= {TARGET_REF_PIPES}x): {label}")
        if c["compile"] and c["model"] == "random-pixelshuffle" and c["input"] == [960, 540]:
            ok = fps["model_only"] >= TARGET_COMPILED_FPS
            checks.append(
                f"- {'PASS' if ok else 'FAIL'} compiled pixelshuffle model only {fps['model_only']:.1f} fps, "
                f"{r['tflops']['model_only']:.0f} TFLOP/s (>= {TARGET_COMPILED_FPS:.0f} fps): {label}"
            )
    return "\n".join([*lines, "", "Targets:", *checks])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path, help="JSON files written by vsrgan bench --json")
    parser.add_argument("--json", type=Path, default=None, help="also write every run into one JSON list")
    args = parser.parse_args()
    runs = [json.loads(p.read_text()) for p in args.runs]
    print(summarize(runs))
    if args.json:
        args.json.write_text(json.dumps(runs, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
