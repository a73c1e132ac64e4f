"""The learning curve of a run folder: validation PSNR against CPU-hours, as a PNG.

Read from ``metrics.jsonl`` (one JSON object per record, as :mod:`vsrgan.training.loop` writes it), so
it covers every chunk of a run that was stopped and resumed. Needs matplotlib (the ``eval``
extra); :func:`write_curve` returns None without it.
"""

import json
from pathlib import Path


def read_records(path: str | Path) -> list[dict]:
    """Every record of a ``metrics.jsonl``; a line cut short by a crash is skipped."""
    records = []
    for line in Path(path).read_text().splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


def write_curve(run: str | Path, *, title: str | None = None) -> Path | None:
    """Plot ``run/metrics.jsonl`` into ``run/curve.png``: the EMA generator's validation PSNR and
    the bicubic line, against CPU-hours (bottom axis) and steps (top axis)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        return None
    from ..io.atomic import atomic_path

    run = Path(run)
    records = read_records(run / "metrics.jsonl")
    points = [(r["time/cpu_hours"], r["step"], r["val/psnr"]) for r in records if "val/psnr" in r and "time/cpu_hours" in r]
    bicubic = [r["val/bicubic_psnr"] for r in records if "val/bicubic_psnr" in r]
    if not points:
        return None
    hours, steps, psnr = zip(*points)
    fig = Figure(figsize=(8, 4.5), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    ax.plot(hours, psnr, marker="." if len(points) < 60 else None, label="network (EMA), validation")
    if bicubic:
        ax.axhline(bicubic[-1], color="grey", linestyle="--", label=f"bicubic ({bicubic[-1]:.2f} dB)")
    ax.set_xlabel("CPU-hours (all threads of the training process)")
    ax.set_ylabel("PSNR (dB), held-out images")
    ax.set_title(title or f"{run.name}: step {steps[-1]:,}, {psnr[-1]:.2f} dB (best {max(psnr):.2f})")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    if len(points) > 1 and hours[-1] > hours[0]:
        from matplotlib.ticker import MaxNLocator

        top = ax.secondary_xaxis("top", functions=(_interp(hours, steps), _interp(steps, hours)))
        # only steps the run has logged: outside them the mapping is clamped and the labels pile up
        top.set_xticks([t for t in MaxNLocator(6).tick_values(steps[0], steps[-1]) if steps[0] <= t <= steps[-1]])
        top.set_xlabel("step")
    path = run / "curve.png"
    with atomic_path(path, overwrite=True) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    return path


def _interp(xs, ys):
    import numpy as np

    return lambda x: np.interp(x, xs, ys)
