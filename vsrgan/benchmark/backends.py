"""The same network on each backend (``vsrgan bench --backends eager,onnxruntime,...``), side by side.

For every backend: model-only fps on the bench's batches, end-to-end fps on the bench's clip, and
the largest difference from eager's output, in uint8 steps, on the same frames. A backend whose
package is not installed is reported as such and skipped; the run goes on.
"""

import copy
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..errors import ConfigError
from ..inference.backends import BACKENDS, available_backends
from ..inference.upscaler import ModelOptions, Upscaler
from ..io.encoding import EncodeOptions
from ..options import JobOptions
from ..upscale import upscale_video
from .timing import clocked, time_model, timed, warm_up


@dataclass
class BackendResult:
    model_only_fps: float
    end_to_end_fps: float
    max_diff: int  # largest |this - eager| over the checked frames, in uint8 steps (1 = 1/255)
    warmup_seconds: float
    model_only_cpu: float = 0.0  # CPU seconds per frame, model only (user + system): less noisy than fps on a shared machine
    end_to_end_cpu: float = 0.0  # CPU seconds per frame, end to end


def parse_backends(text: str | None) -> list[str]:
    """``"eager,onnxruntime"`` -> ``["eager", "onnxruntime"]``; ``"all"``: every installed backend."""
    if not text:
        return []
    if text == "all":
        return available_backends()
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in BACKENDS]
    if unknown:
        raise ConfigError(f"--backends: unknown backend {', '.join(unknown)}; expected some of {', '.join(BACKENDS)} or 'all'")
    return names


def max_diff(a: Upscaler, b: Upscaler, frames: np.ndarray) -> int:
    """Largest per-pixel difference of the two upscalers' uint8 outputs on ``frames`` ``(N, H, W, 3)``."""
    diff = 0
    for frame in frames:
        ya, yb = a.upscale_frames(frame[None]), b.upscale_frames(frame[None])
        diff = max(diff, int(np.abs(ya.astype(np.int16) - yb.astype(np.int16)).max()))
    return diff


def _time_job(upscaler: Upscaler, clip: Path, out: Path, batch_size: int, encode: EncodeOptions, threads: int | None) -> float:
    """Seconds for the real job (vsrgan.upscale.upscale_video) on ``clip`` with ``upscaler``."""
    options = JobOptions(ModelOptions(batch_size=batch_size, threads=threads), encode, overwrite=True, progress=False)
    return timed(lambda: upscale_video(upscaler, clip, out, options), upscaler.device)


def compare_backends(
    net: nn.Module,
    names: list[str],
    *,
    reference: Upscaler,
    clip: Path,
    check_frames: np.ndarray,
    workdir: Path,
    sizes: list[int],
    batch_size: int,
    encode: EncodeOptions,
    threads: int | None,
    model_threads: int,
    say=lambda stage: None,
) -> tuple[dict[str, BackendResult], dict[str, str]]:
    """Measure each backend in ``names`` beside ``reference`` (the eager upscaler); (results, skipped with why)."""
    results, skipped = {}, {}
    height, width = check_frames.shape[1:3]
    for name in names:
        try:
            upscaler = Upscaler(
                copy.deepcopy(net), device=reference.device, precision="fp32", backend=name, threads=model_threads,
                channels_last=reference.memory_format == torch.channels_last,
            )
        except ConfigError as e:
            skipped[name] = str(e)
            say(f"backend {name}: skipped ({e})")
            continue
        say(f"backend {name}: warm-up, model only, end-to-end")
        warmup = warm_up(upscaler, width=width, height=height, sizes=sizes)
        model_seconds, model_cpu = clocked(lambda u=upscaler: time_model(u, width=width, height=height, sizes=sizes))
        e2e_seconds, e2e_cpu = clocked(lambda u=upscaler, out=workdir / f"e2e-{name}.mp4": _time_job(u, clip, out, batch_size, encode, threads))
        frames = sum(sizes)
        results[name] = BackendResult(
            model_only_fps=frames / model_seconds, end_to_end_fps=frames / e2e_seconds,
            max_diff=max_diff(reference, upscaler, check_frames), warmup_seconds=warmup,
            model_only_cpu=model_cpu / frames, end_to_end_cpu=e2e_cpu / frames,
        )
    return results, skipped
