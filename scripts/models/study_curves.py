"""Issue #26's curves on one CPU-hours axis: the study's candidates, the wider x4-w48, the bundled
x4's whole 50,000-step run and the fine-tunes that continued it.

    python scripts/models/study_curves.py            # writes training/study/curves.png

Every run here validates on the same 16 held-out photos and clip frames of data/train-x4 (bicubic
30.59 dB), so the curves compare directly. The polish fine-tunes start where x4 ended, so they are
drawn from x4's last CPU-hour on. Left: the whole of x4's run; right: the study's first hour and a half.
"""

import argparse
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from vsrgan.training.curve import read_records

RUNS = {  # label -> run folder; the bundled x4 first
    "x4 (bundled, 50,000 steps)": "training/x4",
    "x4, study run (control)": "training/study/x4",
    "span": "training/study/span",
    "rlfn": "training/study/rlfn",
    "halfres": "training/study/halfres",
    "x4 on train-x4-extra": "training/study/x4-extra",
    "x4, 48 features": "training/x4-w48",
}
POLISH = {"polish/base": "training/study/polish/base", "polish/extra": "training/study/polish/extra", "polish/extra-c256": "training/study/polish/extra-c256"}


def curve(run: Path, offset: float = 0.0) -> tuple[list[float], list[float]]:
    """(CPU-hours, validation PSNR) of a run folder's metrics.jsonl, its CPU-hours shifted by ``offset``."""
    points = [(r["time/cpu_hours"] + offset, r["val/psnr"]) for r in read_records(run / "metrics.jsonl") if "val/psnr" in r and "time/cpu_hours" in r]
    return [h for h, _ in points], [p for _, p in points]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("training/study/curves.png"))
    args = parser.parse_args()
    fig = Figure(figsize=(13, 5), layout="constrained")
    FigureCanvasAgg(fig)
    whole, early = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    x4_end = curve(Path(RUNS["x4 (bundled, 50,000 steps)"]))[0][-1]
    lines = [(label, *curve(Path(folder))) for label, folder in RUNS.items() if (Path(folder) / "metrics.jsonl").exists()]
    lines += [(label, *curve(Path(folder), x4_end)) for label, folder in POLISH.items() if (Path(folder) / "metrics.jsonl").exists()]
    for ax, right in ((whole, None), (early, 1.5)):
        for label, hours, psnr in lines:
            if right is not None and hours and hours[0] > right:
                continue
            ax.plot(hours, psnr, marker=".", markersize=4, linewidth=1.2, label=label)
        ax.set_xlabel("CPU-hours (all threads of the training process)")
        ax.set_ylabel("validation PSNR (dB), the 16 held-out images of data/train-x4")
        ax.grid(alpha=0.3)
        if right is not None:
            ax.set_xlim(0, right)
            ax.set_ylim(31.7, 32.6)
    whole.set_ylim(31.7, 32.65)
    whole.set_title("x4's whole run and what continued it (bicubic: 30.59 dB)")
    early.set_title("the study at equal CPU time")
    whole.legend(loc="lower right", fontsize=8)
    fig.savefig(args.out, dpi=90)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
