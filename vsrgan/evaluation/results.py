"""What an evaluation produces: per-frame rows, means, and showcase pictures (plain data).

:mod:`vsrgan.evaluation.evaluate` fills an :class:`Evaluation`; :mod:`vsrgan.evaluation.report` renders one.
"""

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
    sources: list[dict] = field(default_factory=list)  # name, path, kind, samples, width, height
    rows: list[dict] = field(default_factory=list)  # source, item, index, method, one value per metric (None: n/a)
    summary: dict[str, dict[str, float]] = field(default_factory=dict)  # method -> metric -> mean
    per_source: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)  # source -> method -> metric -> mean
    showcases: dict[str, Showcase] = field(default_factory=dict)  # source name -> showcase


def format_value(metric: str, value: float) -> str:
    """4 decimals for SSIM and the VGG distance, 3 otherwise; "-" for a metric with no value."""
    if value != value:
        return "-"
    return f"{value:.4f}" if metric in ("ssim_y", "perceptual") else f"{value:.3f}"
