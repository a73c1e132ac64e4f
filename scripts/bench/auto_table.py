"""BENCHMARKS.md's `--backend auto` tables from `vsrgan bench --backends all --json` runs.

    python scripts/bench/auto_table.py benchmarks/cpu/auto/*.json

One table for model-only fps, one for end to end: a row per run, each engine's fps with its ratio to
the run's fastest in brackets, and what auto picks today (vsrgan.inference.backends.pick_backend,
with every engine of the run installed, from the package's table, not a calibration of this machine)
with its ratio; ** marks a pick more than 5% slower.
"""

import json
import os
import sys
from pathlib import Path

import torch

from vsrgan.benchmark.backends import AUTO_TOLERANCE
from vsrgan.benchmark.nets import build_model
from vsrgan.inference.backends import BACKENDS, pick_backend
from vsrgan.inference.calibration import VARIABLE

ENGINES = list(BACKENDS)  # eager, compile, onnxruntime, openvino, ncnn


def label(run: dict) -> str:
    model = Path(run["config"]["model"]).stem
    return f"{model} ({run['features']} features)"


def row(run: dict, metric: str, auto: str) -> str:
    fps = {name: b[f"{metric}_fps"] for name, b in run["backends"].items()}
    best = max(fps.values())
    cells = [f"{fps[n]:.3g} ({fps[n] / best:.2f})" if n in fps else "-" for n in ENGINES]
    ratio = fps[auto] / best if auto in fps else float("nan")
    flag = " **" if ratio < AUTO_TOLERANCE else ""
    c, env = run["config"], run["environment"]
    return (f"| {label(run)} | {c['input'][0]}x{c['input'][1]} | {run['path'].name} | {c['frames']} | {env['load_average_before']:.1f} | "
            + " | ".join(cells) + f" | {auto} | {ratio:.2f}{flag} |")


def main(paths: list[str]) -> None:
    os.environ[VARIABLE] = "off"  # AUTO_TABLE, as the package ships it
    runs = [{**json.loads(Path(p).read_text()), "path": Path(p)} for p in paths]
    for run in runs:
        net = build_model(run["config"]["model"])
        run["features"] = next(m.out_channels for m in net.modules() if isinstance(m, torch.nn.Conv2d))
        width, height = run["config"]["input"]
        run["auto"] = pick_backend("auto", torch.device("cpu"), net, torch.float32, size=(width, height), installed=list(run["backends"]))
    runs.sort(key=lambda r: (r["features"], r["config"]["input"][1], r["path"].name))
    for metric, title in (("model_only", "model only"), ("end_to_end", "end to end")):
        print(f"\n{title}, fps (ratio to the run's fastest):\n")
        print("| model | input | run | frames | load | " + " | ".join(ENGINES) + " | auto | auto / fastest |")
        print("|" + "---|" * (len(ENGINES) + 7))
        for run in runs:
            print(row(run, metric, run["auto"]))


if __name__ == "__main__":
    main(sys.argv[1:])
