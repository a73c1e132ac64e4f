"""How an evaluation is shown: the printed table, and the files ``vsrgan evaluate --out DIR`` writes,
each through a temporary file and a rename.

    DIR/metrics.json        means per method and per source, the sources, the metric conventions
    DIR/frames.csv          one row per frame (or image) and method
    DIR/psnr_per_frame.png  PSNR-Y of every method per frame, and each model's gain over bicubic
    DIR/metrics.png         one bar chart per metric
    DIR/images/*.png        each source's most detailed frame: ground truth, input, every output, crops
    DIR/report.html         all of it on one page with a bicubic | network slider; plain HTML, CSS
                            and JS, images beside it: it works offline, from any folder it is copied to

With ``--degrade`` conditions the table has a condition column and each model's PSNR-Y gain over
bicubic under the same condition; metrics.json nests the means by condition (and adds ``gain``);
frames.csv has a condition column; the pictures are per source and condition.
"""

import contextlib
import csv
import io
import json
from pathlib import Path

import numpy as np
from PIL import Image

from .. import metrics
from ..errors import InputError
from ..io import frames
from ..io.atomic import atomic_path, check_output
from .plots import plot_bars, plot_psnr
from .results import METRICS, Evaluation, Showcase, format_value, gains, label

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
DEGRADE = (
    "each condition is a codec (--degrade): every LR input was encoded and decoded by it (yuv420p) before bicubic and "
    "every model upscaled that same input; a video's scored frames as one sequence, in order; each image alone (an intra frame). "
    "Scores are against the original HR. gain: a model's mean minus bicubic's under the same condition (higher is better "
    "where the metric's is; lower where it is not)"
)
GAIN = "gain (dB)"  # the table's column: a model's PSNR-Y minus bicubic's under the same condition


def format_table(result: Evaluation) -> str:
    """The summary as a plain-text table, one line per method, the best value of each column starred.

    With --degrade conditions: one line per condition and method, a condition column, the best
    starred within each condition, and each model's PSNR-Y gain over bicubic after the PSNR-Y column."""
    titles = [METRICS[m][0] for m in result.metrics]
    if result.conditions:
        titles.insert(1, GAIN)
    margin = max(len(x) for x in [*result.conditions, "condition"]) + 2 if result.conditions else 0
    width = max(len(x) for x in [*result.methods, "method"]) + 2
    lines = [("condition".ljust(margin) if margin else "") + "method".ljust(width) + "".join(t.rjust(15) for t in titles)]
    for condition in result.conditions or [None]:
        means = {method: result.summary[label(method, condition)] for method in result.methods}
        best = {}
        for m in result.metrics:
            finite = [v for method in result.methods if (v := means[method][m]) == v]
            best[m] = (max if METRICS[m][1] else min)(finite) if finite else None
        gain = gains(result.summary, result.methods, ["psnr_y"], condition)
        for method in result.methods:
            cells = []
            for m in result.metrics:
                value = means[method][m]
                mark = "*" if len(result.methods) > 1 and value == best[m] else " "
                cells.append(format_value(m, value) + mark)
            if condition:
                cells.insert(1, f"{gain[method]['psnr_y']:+.3f} " if method in gain else "")
            lines.append((condition.ljust(margin) if condition else "") + method.ljust(width) + "".join(c.rjust(15) for c in cells))
    counted = ", ".join(f"{s['name']} ({s['samples']} {'frames' if s['kind'] == 'video' else 'images'})" for s in result.sources)
    arrows = ", ".join(f"{METRICS[m][0]} {'higher' if METRICS[m][1] else 'lower'}" for m in result.metrics)
    best = "* best within a condition; gain: PSNR-Y over bicubic on the same degraded input" if result.conditions else "* best"
    lines += ["", f"upscaled x{result.scale}, scored on {counted}; {best}; better is: {arrows}"]
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
    """Summary, per-source means and conventions as JSON; non-finite numbers become null.

    With --degrade conditions, ``summary`` is condition -> method -> metric -> mean, ``per_source``
    source -> condition -> method -> ..., and ``gain`` / ``per_source_gain`` hold each model's
    mean minus bicubic's under the same condition, nested the same way."""

    def clean(x):
        if isinstance(x, float):
            return x if np.isfinite(x) else None
        if isinstance(x, dict):
            return {k: clean(v) for k, v in x.items()}
        if isinstance(x, list):
            return [clean(v) for v in x]
        return x

    document = {"scale": result.scale, "methods": result.methods} | ({"conditions": result.conditions} if result.conditions else {})
    document |= {
        "metrics": {m: {"title": METRICS[m][0], "higher_is_better": METRICS[m][1], "convention": CONVENTIONS[m]} for m in result.metrics},
        "sources": result.sources,
        "summary": result.summary,
        "per_source": result.per_source,
        "means": CONVENTIONS["means"],
    }
    if result.conditions:
        document |= by_condition(result)
    return json.dumps(clean(document), indent=1)


def by_condition(result: Evaluation) -> dict:
    """The means and gains of metrics.json nested condition -> method, for a run with --degrade."""

    def nest(means: dict) -> tuple[dict, dict]:
        scores = {c: {method: means[label(method, c)] for method in result.methods} for c in result.conditions}
        return scores, {c: gains(means, result.methods, result.metrics, c) for c in result.conditions}

    summary, gain = nest(result.summary)
    per_source = {name: nest(means) for name, means in result.per_source.items()}
    return {
        "summary": summary,
        "gain": gain,
        "per_source": {name: scores for name, (scores, _) in per_source.items()},
        "per_source_gain": {name: gain for name, (_, gain) in per_source.items()},
        "degrade": DEGRADE,
    }


def to_csv(result: Evaluation) -> str:
    """One line per frame and method: source, item, index, (with --degrade: condition,) method, then
    each metric ('' where it does not apply)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    condition = ["condition"] if result.conditions else []
    writer.writerow(["source", "item", "index", *condition, "method", *result.metrics])
    for row in result.rows:
        values = ["" if row.get(m) is None else f"{row[m]:.6f}" for m in result.metrics]
        writer.writerow([row["source"], row["item"], row["index"], *[row[c] for c in condition], row["method"], *values])
    return buf.getvalue()


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
        conventions = CONVENTIONS | ({"degrade": DEGRADE} if result.conditions else {})
        put("report.html", render(result, pictures, conventions=conventions).encode())
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        for folder in folders:
            with contextlib.suppress(OSError):  # not empty: something else is in it
                folder.rmdir()
        raise
    return out / "report.html"
