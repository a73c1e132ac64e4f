"""The report's two charts as PNG bytes: ``psnr_per_frame.png`` and ``metrics.png`` (matplotlib, Agg).

With ``--degrade`` conditions, a condition has one colour and a method one line style in the
per-frame chart; each model's gain is over bicubic under the same condition.
"""

import io

import numpy as np

from .results import METRICS, Evaluation, format_value, label

LINE_STYLES = ("-", "--", ":", "-.")


def figure_bytes(fig) -> bytes:
    from matplotlib.backends.backend_agg import (
        FigureCanvasAgg,  # Agg: no display needed
    )

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return buf.getvalue()


def plot_psnr(result: Evaluation) -> bytes:
    """PSNR-Y per frame for every method; below it, each model's gain over bicubic (dB)."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    models = [m for m in result.methods if m != "bicubic"]
    conditions = result.conditions or [None]
    fig = Figure(figsize=(10, 6.5 if models else 3.8), layout="constrained")
    axes = fig.subplots(2 if models else 1, 1, sharex=True, squeeze=False)[:, 0]

    def psnr(method: str, condition: str | None) -> np.ndarray:
        return np.array([r["psnr_y"] for r in result.rows if r["method"] == method and r["condition"] == condition])

    def style(ci: int, mi: int) -> dict:  # default colours without conditions
        return {"color": f"C{ci}", "linestyle": LINE_STYLES[mi % len(LINE_STYLES)]} if result.conditions else {}

    first = [r for r in result.rows if r["method"] == "bicubic" and r["condition"] == conditions[0]]  # the frames, once
    x = np.arange(len(first))
    marker = "o" if len(x) <= 40 else None
    for ci, condition in enumerate(conditions):
        for mi, method in enumerate(result.methods):
            axes[0].plot(x, psnr(method, condition), marker=marker, label=label(method, condition), linewidth=1.4, **style(ci, mi))
        for mi, method in enumerate(models):
            gain = psnr(method, condition) - psnr("bicubic", condition)
            axes[1].plot(x, gain, marker=marker, label=f"{label(method, condition)} - bicubic", linewidth=1.4, **style(ci, mi + 1))
    small = {"fontsize": 8} if result.conditions else {}
    axes[0].set_ylabel("PSNR-Y (dB)")
    axes[0].set_title(f"PSNR-Y per frame, x{result.scale} (higher is better)")
    axes[0].legend(loc="best", **small)
    if models:
        axes[1].axhline(0, color="black", linewidth=0.8)
        axes[1].set_ylabel("gain over bicubic (dB)")
        axes[1].legend(loc="best", **small)
    names = [r["source"] for r in first]
    if len(x) <= 12:  # few frames or images: name each one
        axes[-1].set_xticks(x, [r["item"] for r in first], rotation=20, fontsize=8)
    else:
        axes[-1].xaxis.set_major_locator(MaxNLocator(integer=True))
    for ax in axes:
        ax.grid(alpha=0.3)
        for i in range(1, len(names)):
            if names[i] != names[i - 1]:
                ax.axvline(i - 0.5, color="grey", linestyle="--", linewidth=0.8)
    axes[-1].set_xlabel("frame / image, in order (dashed lines separate sources: " + ", ".join(dict.fromkeys(names)) + ")")
    return figure_bytes(fig)


def plot_bars(result: Evaluation) -> bytes:
    """One bar chart per metric: the mean of every method (under each condition, a method keeping its colour)."""
    from matplotlib.figure import Figure

    labels = [label(method, c) for c in result.conditions or [None] for method in result.methods]
    colours = [f"C{i % len(result.methods)}" for i in range(len(labels))]
    n = len(result.metrics)
    columns = min(n, 3)
    rows = (n + columns - 1) // columns
    side = max(3.6, 0.45 * len(labels)) if result.conditions else 3.6  # wide enough for a bar per label
    fig = Figure(figsize=(side * columns, 3.2 * rows + (1.2 if result.conditions else 0)), layout="constrained")
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    for ax, m in zip(axes, result.metrics):
        values = [result.summary[key][m] for key in labels]
        bars = ax.bar(labels, np.nan_to_num(values, nan=0.0), color=colours)
        ax.bar_label(bars, labels=[format_value(m, v) for v in values], fontsize=8)
        title, higher = METRICS[m]
        ax.set_title(f"{title}\n({'higher' if higher else 'lower'} is better)", fontsize=10)
        ax.tick_params(axis="x", labelrotation=60 if result.conditions else 20, labelsize=8)
        ax.margins(y=0.15)
        finite = [v for v in values if np.isfinite(v)]
        if m.startswith("psnr") and finite:  # PSNRs differ by tenths of a dB: a zero baseline hides that
            ax.set_ylim(min(finite) - 1.5, max(finite) + 1.0)
    for ax in axes[n:]:
        ax.set_visible(False)
    return figure_bytes(fig)
