"""Issue #26's architecture study, scored: every run of scripts/models/arch_study.sh side by side.

    python scripts/models/study_table.py                   # training/study/*, photos in data/eval-photos
    python scripts/models/study_table.py --json training/study/study.json

For each run (training/study/NAME): the steps and CPU-hours it reached, its validation PSNR (the
held-out photos and clip frames of data/train-x4) at the last step every run reached, where the
candidates are compared at equal work (each costs 0.96-1.01x the control's time per frame, so equal
steps is equal compute, whatever else shared the machine), and at its own last step; then its final
EMA generator (RUN/generator.safetensors) scored against bicubic on scikit-image's photos
(scripts/data/fetch_eval_photos.py) with ``vsrgan evaluate``. Prints a Markdown table.
"""

import argparse
import json
import shutil
import tempfile
from pathlib import Path

from vsrgan.evaluation.evaluate import evaluate
from vsrgan.models import load_generator
from vsrgan.training.curve import read_records


def run_summary(run: Path) -> dict:
    """Steps, CPU-hours and validation PSNR by step of one training run folder."""
    records = list(read_records(run / "metrics.jsonl"))
    timed = [r for r in records if "time/cpu_hours" in r]
    val = {r["step"]: r["val/psnr"] for r in records if "val/psnr" in r}
    return {
        "steps": max((r["step"] for r in records), default=0),
        "cpu_hours": timed[-1]["time/cpu_hours"] if timed else 0.0,
        "wall_hours": timed[-1]["time/wall_hours"] if timed else 0.0,
        "val": val,
        "params": sum(p.numel() for p in load_generator(run / "generator.safetensors").parameters()),
    }


def photo_scores(runs: dict[str, Path], photos: Path) -> dict[str, float]:
    """PSNR-Y gain over bicubic of each run's generator on ``photos``, scored in one evaluation."""
    with tempfile.TemporaryDirectory() as tmp:
        models = []
        for name, run in runs.items():  # evaluate names a method by its file's stem
            models.append(str(shutil.copy(run / "generator.safetensors", Path(tmp) / f"{name}.safetensors")))
        result = evaluate([photos], models=models, device="cpu", progress=False)
    bicubic = result.summary["bicubic"]["psnr_y"]
    return {name: result.summary[name]["psnr_y"] - bicubic for name in runs} | {"bicubic": bicubic}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, default=Path("training/study"), help="the study's run folders (default: %(default)s)")
    parser.add_argument("--photos", type=Path, default=Path("data/eval-photos"), help="evaluation photos (default: %(default)s)")
    parser.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    args = parser.parse_args()

    runs = {p.name: p for p in sorted(args.runs.iterdir()) if (p / "generator.safetensors").is_file()}
    if not runs:
        raise SystemExit(f"study_table.py: no finished runs in '{args.runs}'; run scripts/models/arch_study.sh first")
    summaries = {name: run_summary(run) for name, run in runs.items()}
    common = max(set.intersection(*(set(s["val"]) for s in summaries.values())), default=None)
    gains = photo_scores(runs, args.photos)
    print(f"| network | parameters | steps | CPU-h | val PSNR @ {common} | val PSNR, last | photos PSNR-Y gain |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, s in summaries.items():
        last = s["val"][max(s["val"])] if s["val"] else float("nan")
        at_common = s["val"].get(common, float("nan"))
        print(f"| {name} | {s['params'] / 1e3:.0f}k | {s['steps']} | {s['cpu_hours']:.2f} | {at_common:.2f} | "
              f"{last:.2f} | {gains[name]:+.2f} |")
    print(f"\nbicubic on the photos: {gains['bicubic']:.2f} dB PSNR-Y")
    if args.json:
        args.json.write_text(json.dumps({"common_step": common, "runs": summaries, "photo_gains": gains}, indent=1, default=str) + "\n")


if __name__ == "__main__":
    main()
