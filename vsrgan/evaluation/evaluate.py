"""``vsrgan evaluate``: score models against bicubic on photos and videos, the way papers report it.

    SOURCE --samples--> (HR, LR) --bicubic, each model--> SR --metrics--> one row per frame and method
    rows --mean--> summary table;  rows, summary, showcase images --report--> JSON, CSV, plots, HTML

A source is a dataset folder written by ``vsrgan prepare`` (its stored HR/LR pairs), a folder
of high-resolution images, or a high-resolution video; images and frames are made small with
:func:`vsrgan.dataset.degrade.make_lr`, the degradation training uses. Scores compare each upscaled
image with the high-resolution one (see :mod:`vsrgan.metrics` for the conventions).

With ``degrade`` (``--degrade x264:crf=28 ...``) each codec is a condition: the LR inputs are sent
through it (:mod:`vsrgan.evaluation.degraded`) before bicubic and every model upscale them, and
each method is scored once per condition.
"""

import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from .. import metrics
from ..dataset.codecs import Codec, parse_codec
from ..dataset.degrade import make_lr
from ..dataset.manifest import read_manifest
from ..errors import ConfigError, InputError
from ..inference.upscaler import Upscaler
from ..io import events, frames
from ..io.images import image_files, read_image
from ..models import Bicubic, model_label
from .degraded import degraded_samples
from .report import check_report, write_report
from .results import METRICS, Evaluation, Sample, Showcase, label, showcase_key

MIN_VIDEO_SIDE = 48  # TecoGAN's tOF crop leaves nothing of smaller frames


def source_kind(path: Path) -> str:
    if path.is_dir():
        return "dataset" if (path / "manifest.json").is_file() else "images"
    if path.is_file():
        return "video"
    raise InputError(f"'{path}' does not exist; expected a dataset folder, an image folder or a video")


def dataset_samples(root: Path, scale: int, split: str) -> Iterator[Sample]:
    """The stored pairs of a prepared dataset, in manifest order (``split``: test, train or all)."""
    manifest = read_manifest(root)
    if manifest.scale != scale:
        raise ConfigError(f"dataset '{root}' was prepared at x{manifest.scale}; expected x{scale} (pass --scale {manifest.scale} and models of that scale)")
    items = manifest.split(split)
    if not items:
        raise InputError(f"dataset '{root}' has no {split} items; pass --split train or all")
    for index, item in enumerate(items):
        yield Sample(Path(item.hr).stem, index, read_image(root / item.hr), read_image(root / item.lr))


def image_samples(folder: Path, scale: int) -> Iterator[Sample]:
    files = image_files(folder)
    for index, path in enumerate(files):
        hr = crop(read_image(path), scale)
        if min(hr.shape[:2]) < 2 * scale + metrics.SSIM_WINDOW:
            raise InputError(f"'{path}' is {hr.shape[1]}x{hr.shape[0]}; expected at least {2 * scale + metrics.SSIM_WINDOW} pixels a side at x{scale}")
        yield Sample(path.stem, index, hr, make_lr(hr, scale))


def video_samples(path: Path, scale: int, every: int, held_out: float = 0.0) -> Iterator[Sample]:
    """Every ``every``-th frame; with ``held_out`` > 0, only those of the last ``held_out`` of the
    video: the frames ``vsrgan prepare --test-fraction`` holds out (the same cut)."""
    from ..io.video import probe, read_frames

    cut = probe(path).duration * (1 - held_out) if held_out else float("-inf")
    for index, frame in enumerate(read_frames(path)):
        if index % every == 0 and frame.time >= cut:
            hr = crop(frame.image, scale)
            if min(hr.shape[:2]) < MIN_VIDEO_SIDE:
                raise InputError(f"'{path}' is {hr.shape[1]}x{hr.shape[0]}; tOF needs frames of at least {MIN_VIDEO_SIDE}x{MIN_VIDEO_SIDE}")
            yield Sample(f"frame {index:06d}", index, hr, make_lr(hr, scale))


def source_samples(path: Path, kind: str, scale: int, *, every: int, held_out: float, split: str) -> Iterator[Sample]:
    if kind == "dataset":
        return dataset_samples(path, scale, split)
    if kind == "images":
        return image_samples(path, scale)
    return video_samples(path, scale, every, held_out)


def parse_conditions(degrade: Sequence[str | Codec]) -> list[Codec]:
    """The --degrade specs as codecs, each once (``x264:crf=28,preset=medium`` is ``x264:crf=28``)."""
    codecs = [spec if isinstance(spec, Codec) else parse_codec(spec) for spec in degrade]
    labels = [c.label for c in codecs]
    for name in labels:
        if labels.count(name) > 1:
            raise ConfigError(f"--degrade lists {name} twice; expected each condition once")
    return codecs


def crop(image: np.ndarray, scale: int) -> np.ndarray:
    h, w = image.shape[:2]
    return image[: h - h % scale, : w - w % scale].copy()  # a writable copy: decoders hand out read-only arrays


def detail(image: np.ndarray) -> float:
    """Mean absolute luma gradient: 0 for a flat frame, large for texture."""
    y = image.astype(np.float32) @ np.float32([0.299, 0.587, 0.114])
    return float(np.abs(np.diff(y, axis=0)).mean() + np.abs(np.diff(y, axis=1)).mean())


@torch.inference_mode()
def score(sample: Sample, outputs: dict[str, np.ndarray], scale: int, vgg: torch.nn.Module | None, device: torch.device) -> dict[str, dict]:
    """method -> {metric: value} for one sample: PSNR/SSIM on Y cropped by ``scale``, RGB PSNR, VGG distance.

    PSNR and SSIM run in float64 on the CPU (MPS has no float64); only VGG runs on ``device``."""
    hr = frames.to_tensor(sample.hr)  # (1, 3, H, W)
    target_features = vgg(hr.to(device)) if vgg is not None else None
    scores = {}
    for method, image in outputs.items():
        sr = frames.to_tensor(image)
        scores[method] = {
            "psnr_y": float(metrics.psnr(sr, hr, crop_border=scale)),
            "ssim_y": float(metrics.ssim(sr, hr, crop_border=scale)),
            "psnr_rgb": float(metrics.psnr(sr, hr, crop_border=scale, y_channel=False)),
            "perceptual": float(metrics.feature_distance(vgg(sr.to(device)), target_features)) if vgg is not None else None,
        }
    return scores


def score_step(prev: Sample, cur: Sample, prev_outputs: dict, outputs: dict) -> dict[str, dict]:
    """method -> {"tof", "flicker"} for the step from ``prev`` to ``cur`` (ground-truth flows computed once)."""
    forward = metrics.optical_flow(prev.hr, cur.hr)
    backward = metrics.optical_flow(cur.hr, prev.hr)
    return {
        method: {
            "tof": metrics.tof_pair(prev_outputs[method], outputs[method], forward),
            "flicker": metrics.flicker_pair(prev_outputs[method], outputs[method], prev.hr, cur.hr, backward),
        }
        for method in outputs
    }


def source_names(paths: Sequence[Path]) -> list[str]:
    """A short, file-name-safe, unique name per source."""
    names = []
    for path in paths:
        base = re.sub(r"[^A-Za-z0-9._-]+", "_", path.stem or path.name) or "source"
        name, n = base, 2
        while name in names:
            name, n = f"{base}_{n}", n + 1
        names.append(name)
    return names


def load_methods(models: Sequence[str], scale: int | None, **upscaler_args) -> tuple[int, dict[str, Upscaler]]:
    """The upscalers to compare: bicubic first, then each model, all at one scale."""
    upscalers = {}
    for model in models:
        if model == "bicubic":
            continue
        upscaler = Upscaler.from_name(model, scale=scale, **upscaler_args)
        name = model_label(model)
        if name in upscalers or name == "bicubic":
            raise ConfigError(f"two models are named '{name}'; give their weight files different names")
        scale = upscaler.scale
        upscalers[name] = upscaler
    scale = scale or 4
    bicubic = Upscaler(Bicubic(scale=scale), device=upscaler_args.get("device", "auto"), precision="fp32")
    return scale, {"bicubic": bicubic, **upscalers}


def evaluate(
    sources: Sequence[str | Path],
    out: str | Path | None = None,
    *,
    models: Sequence[str] = (),
    scale: int | None = None,
    vgg_weights: str | None = None,
    max_frames: int = 0,
    every: int = 1,
    held_out: float = 0.0,
    split: str = "test",
    degrade: Sequence[str | Codec] = (),
    tile: int = 0,
    device: str = "auto",
    precision: str = "fp32",
    overwrite: bool = False,
    progress: bool = True,
) -> Evaluation:
    """Score bicubic and each of ``models`` on ``sources``; with ``out``, write the report there.

    ``held_out`` > 0 scores only the last fraction of each video: the frames a dataset prepared
    with ``test_fraction=held_out`` did not train on. ``degrade``: codec specs (``clean``,
    ``x264:crf=28``, ``mpeg2:bpp=0.4``, ``jpeg:q=50``, ...; see :func:`vsrgan.dataset.codecs.parse_codec`),
    each a condition under which every method is scored on LR inputs sent through that codec.
    """
    paths = [Path(s) for s in sources]
    if not paths:
        raise ConfigError("evaluate needs at least one source: a dataset folder, an image folder or a video")
    if scale is not None and scale < 1:
        raise ConfigError(f"--scale must be a positive whole number, got {scale}")
    if max_frames < 0 or every < 1:
        raise ConfigError(f"--max-frames must be >= 0 and --every >= 1, got {max_frames} and {every}")
    if not 0 <= held_out < 1:
        raise ConfigError(f"--held-out must be in [0, 1), got {held_out}")
    if split not in ("test", "train", "all"):
        raise ConfigError(f"unknown split {split!r}; expected test, train or all")
    codecs = parse_conditions(degrade)
    kinds = [source_kind(p) for p in paths]
    if out is not None:
        check_report(Path(out), overwrite=overwrite)
    scale, upscalers = load_methods(models, scale, device=device, precision=precision, tile=tile)
    vgg = metrics.lpips_vgg(vgg_weights).to(upscalers["bicubic"].device) if vgg_weights else None
    has_video = "video" in kinds
    result = Evaluation(
        scale=scale, methods=list(upscalers),
        metrics=[m for m in METRICS if (m != "perceptual" or vgg) and (m not in ("tof", "flicker") or has_video)],
        conditions=[c.label for c in codecs],
    )
    for path, kind, name in zip(paths, kinds, source_names(paths)):
        for codec in codecs or [None]:  # each condition reads the source again: only one sequence is held
            sequence = codec is not None and kind == "video"  # every frame through the codec, every N-th scored
            samples = source_samples(path, kind, scale, every=1 if sequence else every, held_out=held_out, split=split)
            if codec is not None:
                samples = degraded_samples(samples, codec, sequence=sequence, every=every, limit=max_frames)
            source = evaluate_source(
                result, name, path, kind, samples, upscalers, condition=codec.label if codec else None, vgg=vgg, max_frames=max_frames, progress=progress,
            )
        result.sources.append(source)  # the same frames under every condition
    summarize(result)
    if out is not None:
        write_report(result, Path(out), overwrite=overwrite)
    return result


def evaluate_source(
    result: Evaluation, name: str, path: Path, kind: str, samples: Iterator[Sample], upscalers: dict[str, Upscaler], *,
    condition: str | None, vgg, max_frames: int, progress: bool,
) -> dict:
    """Score every sample of one source under one condition (None: no --degrade) into ``result``'s rows
    and showcases; for videos, also each step between samples. Returns the source's entry for ``result.sources``."""
    prev, prev_outputs, count, shape = None, None, 0, None
    unit = "frame" if kind == "video" else "image"
    desc = f"evaluate {path.name}" + (f" @ {condition}" if condition else "")
    for sample in tqdm(samples, desc=desc, unit=unit, disable=not progress, dynamic_ncols=True):
        if max_frames and count >= max_frames:
            break
        outputs = {method: upscaler.upscale_frames(sample.lr[None])[0] for method, upscaler in upscalers.items()}
        scores = score(sample, outputs, result.scale, vgg, upscalers["bicubic"].device)
        if kind == "video":
            steps = score_step(prev, sample, prev_outputs, outputs) if prev is not None else {}
            for method in outputs:
                scores[method].update(steps.get(method, {"tof": None, "flicker": None}))
        for method, values in scores.items():
            result.rows.append({"source": name, "item": sample.name, "index": sample.index, "condition": condition, "method": method, **values})
        key = showcase_key(name, condition)
        showcase = result.showcases.get(key)
        if showcase is None or detail(sample.hr) > showcase.detail:
            result.showcases[key] = Showcase(sample, outputs, detail(sample.hr))
        shape = sample.hr.shape if shape in (None, sample.hr.shape) else "various"
        prev, prev_outputs, count = sample, outputs, count + 1
        events.reached("frame-scored")
    if count == 0:
        raise InputError(f"'{path}' gave no frames to score")
    width, height = (shape[1], shape[0]) if shape != "various" else (None, None)
    return {"name": name, "path": str(path), "kind": kind, "samples": count, "width": width, "height": height}


def summarize(result: Evaluation) -> None:
    """Means over rows, per method (and condition) and per source and method; ``inf`` PSNRs (exact copies) left out."""

    def means(rows: list[dict]) -> dict[str, float]:
        return {m: metrics.mean_finite([r[m] for r in rows if r.get(m) is not None]) for m in result.metrics}

    pairs = [(method, condition) for condition in result.conditions or [None] for method in result.methods]
    for method, condition in pairs:
        result.summary[label(method, condition)] = means([r for r in result.rows if r["method"] == method and r["condition"] == condition])
    for source in result.sources:
        result.per_source[source["name"]] = {
            label(method, condition): means([r for r in result.rows if r["method"] == method and r["condition"] == condition and r["source"] == source["name"]])
            for method, condition in pairs
        }

