"""What an evaluation produces: per-frame rows, means, and showcase pictures (plain data).

:mod:`vsrgan.evaluation.evaluate` fills an :class:`Evaluation`; :mod:`vsrgan.evaluation.report` renders one.

With ``--degrade``, each codec is a *condition*: every method is scored once per condition, on the
LR inputs that codec made, and its means are kept under :func:`label` ``"x4 @ x264:crf=28"``.
Without it there is no condition and a method's means are kept under its own name.
"""

import re
from dataclasses import dataclass, field

import numpy as np

# metric key -> (title, higher is better). Video-only metrics last.
METRICS = {
    "psnr_y": ("PSNR-Y (dB)", True),
    "ssim_y": ("SSIM-Y", True),
    "psnr_rgb": ("PSNR-RGB (dB)", True),
    "perceptual": ("VGG distance", False),
    "tof": ("tOF", False),
    "flicker": ("flicker", False),
}


@dataclass(frozen=True)
class Sample:
    """One high-resolution image (or video frame) and its low-resolution version."""

    name: str  # file stem, or "frame 000123"
    index: int  # frame number in a video; position otherwise
    hr: np.ndarray  # (H, W, 3) uint8, cropped to a multiple of the scale
    lr: np.ndarray  # (H / scale, W / scale, 3) uint8


@dataclass
class Showcase:
    """The most detailed sample of a source with every method's output, for the report's pictures."""

    sample: Sample
    outputs: dict[str, np.ndarray]  # method -> (H, W, 3) uint8
    detail: float  # mean gradient magnitude of the HR luma: how much there is to see


@dataclass
class Evaluation:
    scale: int
    methods: list[str]  # "bicubic" first, then each model
    metrics: list[str]  # keys of METRICS that were computed
    conditions: list[str] = field(default_factory=list)  # --degrade codec labels, in order; empty: no --degrade
    sources: list[dict] = field(default_factory=list)  # name, path, kind, samples, width, height
    rows: list[dict] = field(default_factory=list)  # source, item, index, condition (None), method, one value per metric (None: n/a)
    summary: dict[str, dict[str, float]] = field(default_factory=dict)  # label(method, condition) -> metric -> mean
    per_source: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)  # source -> label -> metric -> mean
    showcases: dict[str, Showcase] = field(default_factory=dict)  # showcase_key(source, condition) -> showcase


def label(method: str, condition: str | None) -> str:
    """Where a method's means are kept: ``"x4"``, or ``"x4 @ x264:crf=28"`` under a --degrade condition."""
    return f"{method} @ {condition}" if condition else method


def showcase_key(source: str, condition: str | None) -> str:
    """A file-name-safe key for one source's pictures under one condition: ``clip``, ``clip@x264_crf_28``
    (source names never hold an ``@``: two sources cannot collide)."""
    return f"{source}@{re.sub(r'[^A-Za-z0-9.-]+', '_', condition)}" if condition else source


def gains(means: dict[str, dict[str, float]], methods: list[str], metrics: list[str], condition: str | None) -> dict[str, dict[str, float]]:
    """model -> metric -> the model's mean minus bicubic's, both under ``condition`` (bicubic itself left out)."""
    base = means[label("bicubic", condition)]
    return {method: {m: means[label(method, condition)][m] - base[m] for m in metrics} for method in methods if method != "bicubic"}


def format_value(metric: str, value: float) -> str:
    """4 decimals for SSIM and the VGG distance, 3 otherwise; "-" for a metric with no value."""
    if value != value:
        return "-"
    return f"{value:.4f}" if metric in ("ssim_y", "perceptual") else f"{value:.3f}"
