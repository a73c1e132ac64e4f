"""The same network on each backend (``vsrgan bench --backends eager,onnxruntime,...``), side by side.

For every backend: model-only fps on the bench's batches, end-to-end fps on the bench's clip, and
the largest difference from eager's output, in uint8 steps, on the same frames. A backend whose
package is not installed is reported as such and skipped; the run goes on.

The backends take turns: each round times every backend once (model only, then end to end), the
order reversed every other round, and each figure is the median round. On a shared machine the
speeds drift with the other work; taking turns spreads that drift over every backend alike, so the
ratios between them hold where the absolute speeds do not. :func:`auto_pick` then sets what
``--backend auto`` would run beside the fastest measured.
"""

import copy
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
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

AUTO_TOLERANCE = 0.95  # issue 25 part 5: auto's engine at most 5% slower than the fastest installed one


@dataclass
class BackendResult:
    model_only_fps: float  # the median round
    end_to_end_fps: float  # the median round
    max_diff: int  # largest |this - eager| over the checked frames, in uint8 steps (1 = 1/255)
    warmup_seconds: float
    model_only_cpu: float = 0.0  # CPU seconds per frame, model only (user + system), median round: less noisy than fps on a shared machine
    end_to_end_cpu: float = 0.0  # CPU seconds per frame, end to end, median round
    model_only_rounds: list[float] = field(default_factory=list)  # fps of each round, in round order
    end_to_end_rounds: list[float] = field(default_factory=list)


@dataclass
class AutoPick:
    """What ``--backend auto`` runs for this model and frame size, beside the fastest backend measured."""

    backend: str  # auto's choice (vsrgan.inference.backends.pick_backend)
    fastest_model_only: str  # the measured backend with the highest model-only fps
    fastest_end_to_end: str
    model_only_ratio: float | None  # auto's fps / the fastest's (1.0: auto is the fastest); None: auto's backend was not measured
    end_to_end_ratio: float | None
    slower: bool  # more than 5% slower than the fastest, model only or end to end (AUTO_TOLERANCE)
    origin: str = ""  # where auto's choice came from: the package table, or this machine's calibration (its path)


def auto_pick(auto: str, results: dict[str, BackendResult], origin: str = "") -> AutoPick:
    """``auto`` (the backend pick_backend chose, from ``origin``: vsrgan.inference.backends.auto_origin) set beside the fastest of ``results``."""
    fastest_model = max(results, key=lambda n: results[n].model_only_fps)
    fastest_e2e = max(results, key=lambda n: results[n].end_to_end_fps)
    mine = results.get(auto)
    model_ratio = mine.model_only_fps / results[fastest_model].model_only_fps if mine else None
    e2e_ratio = mine.end_to_end_fps / results[fastest_e2e].end_to_end_fps if mine else None
    slower = mine is not None and min(model_ratio, e2e_ratio) < AUTO_TOLERANCE
    return AutoPick(auto, fastest_model, fastest_e2e, model_ratio, e2e_ratio, slower, origin)


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


def max_diff(expected: list[np.ndarray], upscaler: Upscaler, frames: np.ndarray) -> int:
    """Largest per-pixel difference of ``upscaler``'s uint8 output on ``frames`` ``(N, H, W, 3)`` from ``expected`` (one per frame)."""
    diff = 0
    for frame, want in zip(frames, expected):
        got = upscaler.upscale_frames(frame[None])
        diff = max(diff, int(np.abs(got.astype(np.int16) - want.astype(np.int16)).max()))
    return diff


def _time_job(upscaler: Upscaler, clip: Path, out: Path, batch_size: int, encode: EncodeOptions, threads: int | None) -> float:
    """Seconds for the real job (vsrgan.upscale.upscale_video) on ``clip`` with ``upscaler``."""
    options = JobOptions(ModelOptions(batch_size=batch_size, threads=threads), encode, overwrite=True, progress=False)
    return timed(lambda: upscale_video(upscaler, clip, out, options), upscaler.device)


def build_upscalers(
    net: nn.Module, names: list[str], *, device: torch.device, model_threads: int, channels_last: bool = True, say=lambda stage: None,
) -> tuple[dict[str, Upscaler], dict[str, str]]:
    """An fp32 Upscaler of a copy of ``net`` for each backend in ``names``; (upscalers, skipped with why: a package missing)."""
    upscalers, skipped = {}, {}
    for name in names:
        try:
            upscalers[name] = Upscaler(
                copy.deepcopy(net), device=device, precision="fp32", backend=name, threads=model_threads, channels_last=channels_last,
            )
        except ConfigError as e:
            skipped[name] = str(e)
            say(f"backend {name}: skipped ({e})")
    return upscalers, skipped


def take_turns(
    upscalers: dict[str, Upscaler], stages: dict[str, Callable[[Upscaler, str], float]], *, rounds: int, say=lambda stage: None,
) -> dict[str, dict[str, list[tuple[float, float]]]]:
    """Time each of ``stages`` (its name -> a function of an upscaler and its backend's name that returns
    wall seconds) for every upscaler, ``rounds`` times: in each round every stage for every backend, the
    backends' order reversed every other round (see the module docstring). Stage -> backend -> (wall
    seconds, CPU seconds) per round."""
    if rounds < 1:
        raise ConfigError(f"--rounds must be at least 1, got {rounds}")
    times = {stage: {name: [] for name in upscalers} for stage in stages}
    for r in range(rounds):
        order = list(upscalers) if r % 2 == 0 else list(reversed(upscalers))
        say(f"backends, round {r + 1} of {rounds}: {', then '.join(stages)} ({', '.join(order)})")
        for stage, run in stages.items():
            for name in order:
                times[stage][name].append(clocked(lambda run=run, u=upscalers[name], name=name: run(u, name)))
    return times


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
    rounds: int = 3,
    say=lambda stage: None,
) -> tuple[dict[str, BackendResult], dict[str, str]]:
    """Measure each backend in ``names`` beside ``reference`` (the eager upscaler), taking turns for
    ``rounds`` rounds (see the module docstring); (results, skipped with why)."""
    if rounds < 1:
        raise ConfigError(f"--rounds must be at least 1, got {rounds}")
    upscalers, skipped = build_upscalers(
        net, names, device=reference.device, model_threads=model_threads, channels_last=reference.memory_format == torch.channels_last, say=say,
    )
    height, width = check_frames.shape[1:3]
    warmup = {}
    for name, upscaler in upscalers.items():
        say(f"backend {name}: warm-up")
        warmup[name] = warm_up(upscaler, width=width, height=height, sizes=sizes)
    times = take_turns(upscalers, {
        "model only": lambda u, name: time_model(u, width=width, height=height, sizes=sizes),
        "end to end": lambda u, name: _time_job(u, clip, workdir / f"e2e-{name}.mp4", batch_size, encode, threads),
    }, rounds=rounds, say=say)
    model_only, end_to_end = times["model only"], times["end to end"]
    say("max diff from eager")
    expected = [reference.upscale_frames(frame[None]) for frame in check_frames]
    frames = sum(sizes)
    results = {}
    for name, upscaler in upscalers.items():
        results[name] = BackendResult(
            model_only_fps=frames / statistics.median(w for w, _ in model_only[name]),
            end_to_end_fps=frames / statistics.median(w for w, _ in end_to_end[name]),
            max_diff=max_diff(expected, upscaler, check_frames), warmup_seconds=warmup[name],
            model_only_cpu=statistics.median(c for _, c in model_only[name]) / frames,
            end_to_end_cpu=statistics.median(c for _, c in end_to_end[name]) / frames,
            model_only_rounds=[frames / w for w, _ in model_only[name]], end_to_end_rounds=[frames / w for w, _ in end_to_end[name]],
        )
    return results, skipped
