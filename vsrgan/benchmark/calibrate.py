"""``vsrgan bench --calibrate``: ``--backend auto``'s rows measured on this machine, and written to its cache.

For each row of the package's table (a compact network of 32 or 64 features, a 270p, 540p or 1080p
frame), each installed engine auto may pick (eager, ONNX Runtime, OpenVINO, ncnn) runs the network,
model only, batch 1 (the CPU's default), fp32, with the thread budget's model threads. The engines
take turns as in ``vsrgan bench --backends`` (:func:`vsrgan.benchmark.backends.take_turns`: rounds in
alternating order, the median round counts). The networks: the bundled x4 (32 features) and a
64-feature SRVGGNetCompact shaped as Real-ESRGAN's realesr-animevideov3 (random weights, seeded: speed
only). :func:`vsrgan.inference.calibration.write_calibration` then ranks each row's engines and writes
the file that ``--backend auto`` reads.
"""

import statistics
import sys
from pathlib import Path

import torch
from torch import nn

from ..errors import ConfigError
from ..inference.backends import AUTO_SIZES, available_backends
from ..inference.calibration import ENGINES, Calibration, write_calibration
from ..inference.threads import use_threads
from ..inference.upscaler import Upscaler
from ..models import load_model
from ..models.foreign.srvgg import SRVGGNetCompact
from .backends import build_upscalers, parse_backends, take_turns
from .bench import SIZES
from .timing import time_model, warm_up


def calibration_nets() -> dict[int, nn.Module]:
    """The network measured for each width of auto's rows (features -> network)."""
    torch.manual_seed(0)
    return {32: load_model("x4"), 64: SRVGGNetCompact(num_feat=64, num_conv=16, scale=4).eval()}


def frames_at(size: str, frames: int) -> int:
    """``frames`` at 270p; at a larger size as many pixels' worth, at least one frame."""
    return max(1, round(frames * AUTO_SIZES["270p"] / AUTO_SIZES[size]))


def engines_to_rank(backends: str | None) -> list[str]:
    """``--backends`` for a calibration: None or ``all``, every installed engine auto may pick; eager always, first."""
    if backends in (None, "all"):
        names = [n for n in available_backends() if n in ENGINES]
    else:
        names = parse_backends(backends)
        other = [n for n in names if n not in ENGINES]
        if other:
            raise ConfigError(f"--calibrate ranks the engines auto may pick ({', '.join(ENGINES)}); got {', '.join(other)}")
    return ["eager", *(n for n in names if n != "eager")]


def parse_sizes(text: str) -> list[str]:
    """``"270p,540p"`` -> ``["270p", "540p"]``: the sizes of auto's rows."""
    sizes = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [s for s in sizes if s not in AUTO_SIZES]
    if unknown or not sizes:
        raise ConfigError(f"--sizes: got '{text}'; expected some of {', '.join(AUTO_SIZES)}, comma-separated")
    return sizes


def calibrate(
    *,
    sizes: str = "270p,540p,1080p",
    backends: str | None = None,
    frames: int = 8,
    rounds: int = 3,
    threads: int | None = None,
    path: str | Path | None = None,
    nets: dict[int, nn.Module] | None = None,
    progress: bool = True,
) -> Calibration:
    """Measure auto's rows at ``sizes`` (see the module docstring): ``frames`` frames per turn at 270p
    (fewer at larger sizes: :func:`frames_at`), ``rounds`` turns; write them to ``path`` (default:
    the cache folder's, :func:`vsrgan.inference.calibration.calibration_path`) and return them.
    ``nets``: features -> the network measured for that width (default: :func:`calibration_nets`)."""
    names, rows = engines_to_rank(backends), parse_sizes(sizes)
    if frames < 1 or rounds < 1:
        raise ConfigError(f"--frames and --rounds must be at least 1, got {frames} and {rounds}")

    def say(stage: str) -> None:
        if progress:
            print(f"calibrate: {stage}", file=sys.stderr, flush=True)

    cpu = torch.device("cpu")
    budget = use_threads(threads, device=cpu)
    fps, counts = {}, {}
    for features, net in (nets or calibration_nets()).items():
        upscalers, _ = build_upscalers(net, names, device=cpu, model_threads=budget.model, say=say)
        for size in rows:
            (width, height), n = SIZES[size], frames_at(size, frames)
            say(f"{features} features at {size}: warm-up, then {rounds} rounds of {n} frames")
            fps[features, size] = measure_row(upscalers, width=width, height=height, frames=n, rounds=rounds, say=say)
            counts[features, size] = n
    return write_calibration(fps, threads=budget.model, frames=counts, rounds=rounds, path=Path(path) if path else None)


def measure_row(upscalers: dict[str, Upscaler], *, width: int, height: int, frames: int, rounds: int, say) -> dict[str, float]:
    """Model-only fps of each upscaler on ``frames`` frames of ``width x height``, batch 1, after a warm-up: the median of ``rounds`` turns."""
    for upscaler in upscalers.values():
        warm_up(upscaler, width=width, height=height, sizes=[1])

    def model_only(upscaler: Upscaler, name: str) -> float:
        return time_model(upscaler, width=width, height=height, sizes=[1] * frames)

    times = take_turns(upscalers, {"model only": model_only}, rounds=rounds, say=say)["model only"]
    return {name: frames / statistics.median(wall for wall, _ in turns) for name, turns in times.items()}


def format_calibration(c: Calibration) -> str:
    """The calibration as a small text table, for people."""
    m = c.machine
    versions = ", ".join(f"{p} {v}" for p, v in m["versions"].items() if v)
    lines = [f"{m['cpu']} ({' '.join(m['flags']) or 'no vector flags listed'}), {m['threads']} model threads; {versions}", "",
             f"{'features':>8s}  {'size':6s}  model-only fps, fastest first"]
    for (features, size), engines in c.rows.items():
        lines.append(f"{features:8d}  {size:6s}  " + ", ".join(f"{e} {c.fps[features, size][e]:.3g}" for e in engines))
    lines += ["", f"--backend auto follows these rows on this machine (with {m['threads']} model threads): {c.path}"]
    return "\n".join(lines)
