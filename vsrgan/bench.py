"""How fast each stage of upscaling runs alone, how fast they run together, and how that compares.

For one model and one input size, on one machine, in one run::

    model-only   the network on frames already on the device          (fps, TFLOP/s)
    decode-only  read_frames on a generated H.264 clip of the input size
    encode-only  VideoWriter on frames of the output size
    end-to-end   vsrgan.upscale.upscale_video on that clip: the real job
    ref (a)      the seed's way        (vsrgan.bench_refs.seed_pipeline)
    ref (b)      the common tools' way (vsrgan.bench_refs.pipes_pipeline)

End-to-end can be no faster than its slowest stage; its ratio to min(model-only, encode-only)
says how well the pipeline hides the other stages behind that one. Warm-up (first calls,
cuDNN's algorithm choice, torch.compile) is done before every clock starts; GPU work is
synchronized before every clock stops.
"""

import copy
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import torch
from torch import nn

from . import bench_refs
from .atomic import atomic_path, check_output
from .errors import ConfigError
from .flops import count_flops
from .frames import to_i420, to_tensor
from .infer import PRECISIONS, Upscaler, pick_device, pick_precision
from .models import Generator, GeneratorConfig, load_model
from .upscale import upscale_video
from .video import VideoWriter, read_frames

SIZES = {"270p": (480, 270), "540p": (960, 540), "1080p": (1920, 1080)}
RANDOM_MODELS = {"random-pixelshuffle": "pixelshuffle", "random-nearest": "nearest"}  # 16 blocks, x4
PRECISION_NAMES = {dtype: name for name, dtype in PRECISIONS.items()}  # torch.float16 -> "fp16"
RATE = Fraction(25)
POOL = 16  # distinct output frames the encode-only stage cycles through
STAGES = ("model_only", "decode_only", "encode_only", "end_to_end", "ref_seed", "ref_pipes")
LABELS = {
    "model_only": "model only",
    "decode_only": "decode only",
    "encode_only": "encode only",
    "end_to_end": "end-to-end (vsrgan)",
    "ref_seed": "ref (a) seed: JPEG files, fp32, 1 frame",
    "ref_pipes": "ref (b) tools: pipes, batch 1, eager",
}


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


def build_model(name: str) -> nn.Module:
    """A ``--model`` value, or ``random-pixelshuffle`` / ``random-nearest`` (fixed seed: speed only)."""
    if name in RANDOM_MODELS:
        torch.manual_seed(0)
        return Generator(GeneratorConfig(upsample=RANDOM_MODELS[name], num_blocks=16, scale=4)).eval()
    return load_model(name)


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
    with VideoWriter(path, width=width, height=height, time_base=1 / RATE, frame_rate=RATE, crf=18, preset="veryfast") as w:
        for i in range(frames):
            w.write(textured(width, height, shift=2 * i * width // 480), i)
    return path


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn: Callable[[], object], device: torch.device) -> float:
    """Seconds ``fn()`` takes, work queued on the GPU included."""
    sync(device)
    start = time.perf_counter()
    fn()
    sync(device)
    return time.perf_counter() - start


def batch_sizes(frames: int, batch_size: int) -> list[int]:
    """The batch sizes a ``frames``-long video is cut into: full ones, then the remainder."""
    return [batch_size] * (frames // batch_size) + ([frames % batch_size] if frames % batch_size else [])


def warm_up(upscaler: Upscaler, *, width: int, height: int, sizes: list[int]) -> float:
    """One call per distinct batch shape (torch.compile compiles each); seconds taken."""
    def run():
        for n in sorted(set(sizes)):
            upscaler(torch.rand(n, 3, height, width, device=upscaler.device))
    return timed(run, upscaler.device)


def time_model(upscaler: Upscaler, *, width: int, height: int, sizes: list[int]) -> float:
    """Seconds for the network alone on device-resident batches of the given sizes."""
    inputs = {n: torch.rand(n, 3, height, width, device=upscaler.device, dtype=upscaler.dtype) for n in set(sizes)}

    def run():
        for n in sizes:
            upscaler(inputs[n])
    return timed(run, upscaler.device)


def time_decode(clip: Path) -> float:
    def run():
        for _ in read_frames(clip):
            pass
    return timed(run, torch.device("cpu"))


def time_encode(path: Path, *, width: int, height: int, frames: int, codec: str, preset: str, crf: int, i420: bool = False) -> float:
    """Seconds to encode ``frames`` output-size frames (a pool, played back and forth) with VideoWriter.

    ``i420``: hand the encoder yuv420p planes converted beforehand, as the end-to-end job does on
    a GPU (the conversion is then the GPU's work, not the encoder's); else RGB frames.
    """
    pool = [textured(width, height, shift=2 * i * width // 480) for i in range(min(frames, POOL))]
    if i420:
        pool = list(to_i420(to_tensor(np.stack(pool))).numpy())
    order = list(range(len(pool))) + list(range(len(pool) - 2, 0, -1))  # 0..15..1: motion without jumps

    def run():
        with VideoWriter(path, width=width, height=height, time_base=1 / RATE, frame_rate=RATE, codec=codec, crf=crf, preset=preset) as w:
            write = w.write_i420 if i420 else w.write
            for i in range(frames):
                write(pool[order[i % len(order)]], i)
    return timed(run, torch.device("cpu"))


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def bench(
    *,
    model: str = "random-pixelshuffle",
    size: str = "270p",
    frames: int = 120,
    batch_size: int = 4,
    device: str = "auto",
    precision: str = "auto",
    compile: bool = False,
    codec: str = "libx264",
    preset: str = "veryfast",
    crf: int = 18,
    references: bool = True,
    json_path: str | Path | None = None,
    progress: bool = True,
) -> dict:
    """Measure every stage (see the module docstring); return the results, and write them to ``json_path``."""
    width, height = parse_size(size)
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
    upscaler = Upscaler(copy.deepcopy(net), device=pick_device(device), precision=precision)
    dev, s = upscaler.device, upscaler.scale
    if compile:
        upscaler.model = torch.compile(upscaler.model, dynamic=False)
    sizes = batch_sizes(frames, batch_size)
    seconds = {}
    with tempfile.TemporaryDirectory(prefix="vsrgan-bench-") as tmp:
        tmp = Path(tmp)
        say(f"making a {width}x{height} clip of {frames} frames")
        clip = make_source_clip(tmp / "source.mp4", width=width, height=height, frames=frames)
        say("warm-up" + (" and torch.compile" if compile else ""))
        warmup_seconds = warm_up(upscaler, width=width, height=height, sizes=sizes)
        say("model only")
        seconds["model_only"] = time_model(upscaler, width=width, height=height, sizes=sizes)
        say("decode only")
        seconds["decode_only"] = time_decode(clip)
        say("encode only")
        seconds["encode_only"] = time_encode(
            tmp / "encoded.mp4", width=width * s, height=height * s, frames=frames, codec=codec, preset=preset, crf=crf,
            i420=upscaler.device.type != "cpu",  # as upscale_video feeds the encoder on that device
        )
        say("end-to-end")
        seconds["end_to_end"] = timed(
            lambda: upscale_video(upscaler, clip, tmp / "e2e.mp4", batch_size=batch_size, codec=codec, crf=crf, preset=preset, progress=False),
            dev,
        )
        if references:
            refs = {"device": str(dev), "codec": codec, "preset": preset, "crf": crf}
            for dtype in {torch.float32, pick_precision("auto", dev)}:  # the references' settings, warmed like ours
                Upscaler(copy.deepcopy(net), device=dev, precision=PRECISION_NAMES[dtype], channels_last=False)(torch.rand(1, 3, height, width))
            say("reference (a): the seed's way")
            seconds["ref_seed"] = timed(lambda: bench_refs.seed_pipeline(net, clip, tmp / "seed.mp4", tmp / "seed", **refs), dev)
            say("reference (b): decoder and encoder processes over pipes")
            seconds["ref_pipes"] = timed(lambda: bench_refs.pipes_pipeline(net, clip, tmp / "pipes.mp4", **refs), dev)
    result = report(
        seconds, frames=frames, flops=flops, upscaler=upscaler, warmup_seconds=warmup_seconds, load_before=load_before,
        config={
            "model": model, "input": [width, height], "output": [width * s, height * s], "scale": s,
            "frames": frames, "batch_size": batch_size, "precision": PRECISION_NAMES[upscaler.dtype],
            "channels_last": upscaler.memory_format == torch.channels_last, "compile": compile,
            "codec": codec, "preset": preset, "crf": crf,
        },
    )
    if json_path is not None:
        with atomic_path(Path(json_path), overwrite=True) as tmp:
            tmp.write_text(json.dumps(result, indent=2) + "\n")
    return result


def report(seconds: dict, *, frames: int, flops: int, upscaler: Upscaler, warmup_seconds: float, load_before: float, config: dict) -> dict:
    """Frames per second, TFLOP/s and the ratios, with what they were measured on."""
    fps = {k: frames / v for k, v in seconds.items()}
    bound = min(fps["model_only"], fps["encode_only"])
    ratios = {"end_to_end_vs_bound": fps["end_to_end"] / bound}
    for ref in ("ref_seed", "ref_pipes"):
        if ref in fps:
            ratios[f"end_to_end_vs_{ref}"] = fps["end_to_end"] / fps[ref]
    dev = upscaler.device
    return {
        "config": config,
        "environment": {
            "device": str(dev),
            "device_name": device_name(dev),
            "torch": torch.__version__,
            "cuda": torch.version.cuda,
            "av": av.__version__,
            "python": platform.python_version(),
            "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "load_average_before": load_before,
        },
        "flops_per_frame": flops,
        "warmup_seconds": warmup_seconds,
        "seconds": seconds,
        "fps": fps,
        "tflops": {k: flops * fps[k] / 1e12 for k in ("model_only", "end_to_end")},
        "bound_fps": bound,
        "ratios": ratios,
        "notes": {
            "ref_seed": "decode to JPEG files, upscale one frame at a time in fp32, JPEG files, then encode",
            "ref_pipes": f"decoder and encoder processes over raw rgb24 pipes; batch 1, {'fp16' if dev.type == 'cuda' else 'fp32'}, eager",
            "bound": "min(model only, encode only)",
        },
    }


def format_table(result: dict) -> str:
    """The result as a small text table, for people."""
    c, env, fps = result["config"], result["environment"], result["fps"]
    lines = [
        f"{c['model']}  {c['input'][0]}x{c['input'][1]} -> {c['output'][0]}x{c['output'][1]}  "
        f"{c['frames']} frames, batch {c['batch_size']}, {c['precision']}{', compiled' if c['compile'] else ''}  "
        f"{c['codec']} {c['preset']} crf {c['crf']}",
        f"{env['device_name']} ({env['device']}), {env['cpu_count']} CPUs, torch {env['torch']}, PyAV {env['av']}",
        "",
        f"{'stage':42s} {'fps':>9s} {'TFLOP/s':>8s}",
    ]
    for stage in STAGES:
        if stage in fps:
            tflops = result["tflops"].get(stage)
            shown = f"{tflops:8.2f}" if tflops and result["flops_per_frame"] else ""
            lines.append(f"{LABELS[stage]:42s} {fps[stage]:9.2f} {shown:>8s}")
    lines.append("")
    r = result["ratios"]
    lines.append(f"end-to-end / min(model only, encode only) = {r['end_to_end_vs_bound']:.2f}  (bound {result['bound_fps']:.2f} fps)")
    for ref, name in (("ref_seed", "ref (a)"), ("ref_pipes", "ref (b)")):
        if f"end_to_end_vs_{ref}" in r:
            lines.append(f"end-to-end / {name} = {r[f'end_to_end_vs_{ref}']:.2f}x")
    return "\n".join(lines)
