"""How an evaluation is shown: the printed table, and the files ``vsrgan evaluate --out DIR`` writes,
each through a temporary file and a rename.

    DIR/metrics.json        means per method and per source, the sources, the metric conventions
    DIR/frames.csv          one row per frame (or image) and method
    DIR/psnr_per_frame.png  PSNR-Y of every method per frame, and each model's gain over bicubic
    DIR/metrics.png         one bar chart per metric
    DIR/images/*.png        each source's most detailed frame: ground truth, input, every output, crops
    DIR/report.html         all of it on one page with a bicubic | network slider; plain HTML, CSS
                            and JS, images beside it: it works offline, from any folder it is copied to
"""

import contextlib
import csv
import io
import json
from pathlib import Path

import numpy as np
from PIL import Image

from .. import frames, metrics
from ..atomic import atomic_path, check_output
from ..errors import InputError
from .results import METRICS, Evaluation, Showcase, format_value

REPORT_FILES = ("metrics.json", "frames.csv", "psnr_per_frame.png", "metrics.png", "report.html")
CROP = 128  # side of the detail crops, in HR pixels (at most half the picture's height)
CONVENTIONS = {
    "psnr_y": "PSNR on BT.601 luma Y (16-235, MATLAB rgb2ycbcr), [0, 255] data, border of `scale` pixels cropped (BasicSR)",
    "ssim_y": "SSIM on the same Y, 11x11 Gaussian window sigma 1.5, K1 0.01, K2 0.03, valid region (BasicSR, scikit-image)",
    "psnr_rgb": "PSNR over R, G and B together, border of `scale` pixels cropped",
    "perceptual": "LPIPS-style VGG16 distance (relu1_2..relu5_3, unit-normalised channels, uniform weights: not LPIPS values)",
    "tof": "TecoGAN tOF: mean distance (pixels) between Farneback flows of consecutive output and ground-truth frames",
    "flicker": "mean |residual(output) - residual(ground truth)|, residual = frame t - frame t-1 warped by the ground truth's flow (0-255)",
    "means": "averages over frames/images; PSNR of an exact copy (inf) left out",
}


def format_table(result: Evaluation) -> str:
    """The summary as a plain-text table, one line per method, the best value of each column starred."""
    titles = [METRICS[m][0] for m in result.metrics]
    best = {}
    for m in result.metrics:
        values = [result.summary[method][m] for method in result.methods]
        finite = [v for v in values if v == v]
        best[m] = (max if METRICS[m][1] else min)(finite) if finite else None
    width = max(len(x) for x in [*result.methods, "method"]) + 2
    lines = ["method".ljust(width) + "".join(t.rjust(15) for t in titles)]
    for method in result.methods:
        cells = []
        for m in result.metrics:
            value = result.summary[method][m]
            mark = "*" if len(result.methods) > 1 and value == best[m] else " "
            cells.append(format_value(m, value) + mark)
        lines.append(method.ljust(width) + "".join(c.rjust(15) for c in cells))
    counted = ", ".join(f"{s['name']} ({s['samples']} {'frames' if s['kind'] == 'video' else 'images'})" for s in result.sources)
    arrows = ", ".join(f"{METRICS[m][0]} {'higher' if METRICS[m][1] else 'lower'}" for m in result.metrics)
    lines += ["", f"x{result.scale} on {counted}; * best; better is: {arrows}"]
    return "\n".join(lines)


def check_report(out: Path, *, overwrite: bool) -> None:
    """Refuse before any work is done: ``out`` is a file, or holds a report and ``overwrite`` is off."""
    if out.exists() and not out.is_dir():
        raise InputError(f"--out '{out}' is a file; expected a folder for the report")
    for name in REPORT_FILES:
        check_output(out / name, overwrite=overwrite)


def write_bytes(path: Path, data: bytes, *, overwrite: bool) -> None:
    check_output(path, overwrite=overwrite)
    with atomic_path(path, overwrite=overwrite) as tmp:
        tmp.write_bytes(data)


def png_bytes(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG", compress_level=3)
    return buf.getvalue()


def to_json(result: Evaluation) -> str:
    """Summary, per-source means and conventions as JSON; non-finite numbers become null."""

    def clean(x):
        if isinstance(x, float):
            return x if np.isfinite(x) else None
        if isinstance(x, dict):
            return {k: clean(v) for k, v in x.items()}
        if isinstance(x, list):
            return [clean(v) for v in x]
        return x

    document = {
        "scale": result.scale,
        "methods": result.methods,
        "metrics": {m: {"title": METRICS[m][0], "higher_is_better": METRICS[m][1], "convention": CONVENTIONS[m]} for m in result.metrics},
        "sources": result.sources,
        "summary": result.summary,
        "per_source": result.per_source,
        "means": CONVENTIONS["means"],
    }
    return json.dumps(clean(document), indent=1)


def to_csv(result: Evaluation) -> str:
    """One line per frame and method: source, item, index, method, then each metric ('' where it does not apply)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["source", "item", "index", "method", *result.metrics])
    for row in result.rows:
        values = ["" if row.get(m) is None else f"{row[m]:.6f}" for m in result.metrics]
        writer.writerow([row["source"], row["item"], row["index"], row["method"], *values])
    return buf.getvalue()


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
    fig = Figure(figsize=(10, 6.5 if models else 3.8), layout="constrained")
    axes = fig.subplots(2 if models else 1, 1, sharex=True, squeeze=False)[:, 0]
    bicubic = np.array([r["psnr_y"] for r in result.rows if r["method"] == "bicubic"])
    x = np.arange(len(bicubic))
    marker = "o" if len(x) <= 40 else None
    for method in result.methods:
        values = [r["psnr_y"] for r in result.rows if r["method"] == method]
        axes[0].plot(x, values, marker=marker, label=method, linewidth=1.4)
    axes[0].set_ylabel("PSNR-Y (dB)")
    axes[0].set_title(f"PSNR-Y per frame, x{result.scale} (higher is better)")
    axes[0].legend(loc="best")
    for method in models:
        gain = np.array([r["psnr_y"] for r in result.rows if r["method"] == method]) - bicubic
        axes[1].plot(x, gain, marker=marker, label=f"{method} - bicubic", linewidth=1.4)
    if models:
        axes[1].axhline(0, color="black", linewidth=0.8)
        axes[1].set_ylabel("gain over bicubic (dB)")
        axes[1].legend(loc="best")
    names = [r["source"] for r in result.rows if r["method"] == "bicubic"]
    if len(x) <= 12:  # few frames or images: name each one
        axes[-1].set_xticks(x, [r["item"] for r in result.rows if r["method"] == "bicubic"], rotation=20, fontsize=8)
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
    """One bar chart per metric: the mean of every method."""
    from matplotlib.figure import Figure

    n = len(result.metrics)
    columns = min(n, 3)
    rows = (n + columns - 1) // columns
    fig = Figure(figsize=(3.6 * columns, 3.2 * rows), layout="constrained")
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    colours = [f"C{i}" for i in range(len(result.methods))]
    for ax, m in zip(axes, result.metrics):
        values = [result.summary[method][m] for method in result.methods]
        bars = ax.bar(result.methods, np.nan_to_num(values, nan=0.0), color=colours)
        ax.bar_label(bars, labels=[format_value(m, v) for v in values], fontsize=8)
        title, higher = METRICS[m]
        ax.set_title(f"{title}\n({'higher' if higher else 'lower'} is better)", fontsize=10)
        ax.tick_params(axis="x", labelrotation=20, labelsize=8)
        ax.margins(y=0.15)
        finite = [v for v in values if np.isfinite(v)]
        if m.startswith("psnr") and finite:  # PSNRs differ by tenths of a dB: a zero baseline hides that
            ax.set_ylim(min(finite) - 1.5, max(finite) + 1.0)
    for ax in axes[n:]:
        ax.set_visible(False)
    return figure_bytes(fig)


def best_crop(image: np.ndarray, size: int) -> tuple[int, int]:
    """Top-left (y, x) of the ``size`` x ``size`` window with the most luma gradient: where detail is."""
    y = image.astype(np.float32) @ np.float32([0.299, 0.587, 0.114])
    g = np.zeros_like(y)
    g[:-1] += np.abs(np.diff(y, axis=0))
    g[:, :-1] += np.abs(np.diff(y, axis=1))
    s = np.pad(g.cumsum(0).cumsum(1), ((1, 0), (1, 0)))  # integral image
    totals = s[size:, size:] - s[:-size, size:] - s[size:, :-size] + s[:-size, :-size]
    top, left = np.unravel_index(np.argmax(totals), totals.shape)
    return int(top), int(left)


def showcase_images(name: str, showcase: Showcase, scale: int) -> tuple[dict, dict[str, bytes]]:
    """File names (relative to the report) and PNG bytes for one source's pictures.

    Returns ``({"full": {label: file}, "crops": [{label, file, psnr}], "box": [x, y, size], "size": [w, h]}, files)``.
    """
    hr, lr = showcase.sample.hr, showcase.sample.lr
    size = min(CROP, hr.shape[0] // 2, hr.shape[1] // 2) // scale * scale  # at most half: the zoom enlarges >= 2x
    top, left = best_crop(hr, size)
    top, left = top // scale * scale, left // scale * scale  # on the LR grid, so the input crop is exact
    window = (slice(top, top + size), slice(left, left + size))
    lr_crop = lr[top // scale : (top + size) // scale, left // scale : (left + size) // scale]
    files = {f"images/{name}_ground_truth.png": png_bytes(hr), f"images/{name}_input.png": png_bytes(lr)}
    full = {"ground truth": f"images/{name}_ground_truth.png", "input": f"images/{name}_input.png"}
    crops = [
        {"label": "ground truth", "file": f"images/{name}_crop_ground_truth.png", "psnr": None},
        {"label": f"input (x{scale} nearest)", "file": f"images/{name}_crop_input.png", "psnr": None},
    ]
    files[crops[0]["file"]] = png_bytes(hr[window])
    files[crops[1]["file"]] = png_bytes(lr_crop.repeat(scale, 0).repeat(scale, 1))
    truth = frames.to_tensor(np.ascontiguousarray(hr[window]))
    for method, image in showcase.outputs.items():
        full[method] = f"images/{name}_{method}.png"
        files[full[method]] = png_bytes(image)
        crop = np.ascontiguousarray(image[window])
        value = float(metrics.psnr(frames.to_tensor(crop), truth))
        crops.append({"label": method, "file": f"images/{name}_crop_{method}.png", "psnr": value if np.isfinite(value) else None})
        files[crops[-1]["file"]] = png_bytes(crop)
    info = {"full": full, "crops": crops, "box": [left, top, size], "size": [hr.shape[1], hr.shape[0]], "item": showcase.sample.name}
    return info, files


def write_report(result: Evaluation, out: Path, *, overwrite: bool = False) -> Path:
    """Write every report file into ``out``; return the HTML page's path.

    All or nothing: if writing stops part-way (an error, a signal, a full disk), the files written
    so far are removed again, so no half report is left to mislead.
    """
    from .html import render

    check_report(out, overwrite=overwrite)
    written: list[Path] = []
    folders = [folder for folder in (out / "images", out) if not folder.exists()]  # made here: removed again on failure

    def put(name: str, data: bytes) -> None:
        write_bytes(out / name, data, overwrite=overwrite)
        written.append(out / name)

    try:
        pictures = {}
        for name, showcase in result.showcases.items():
            pictures[name], files = showcase_images(name, showcase, result.scale)
            for file, data in files.items():
                put(file, data)
        put("metrics.json", to_json(result).encode())
        put("frames.csv", to_csv(result).encode())
        put("psnr_per_frame.png", plot_psnr(result))
        put("metrics.png", plot_bars(result))
        put("report.html", render(result, pictures, conventions=CONVENTIONS).encode())
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        for folder in folders:
            with contextlib.suppress(OSError):  # not empty: something else is in it
                folder.rmdir()
        raise
    return out / "report.html"
