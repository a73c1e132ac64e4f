"""What ``vsrgan bench`` measured, as typed records, and the text table people read.

:class:`BenchResult` is what :func:`vsrgan.benchmark.bench.bench` returns; ``to_dict()`` is the
JSON it writes (``--json``), which ``scripts/bench/bench_summary.py`` and BENCHMARKS.md read.
"""

import os
import platform
from dataclasses import asdict, dataclass, field
from pathlib import Path

import av
import torch

from ..inference.backends import cpu_has_bf16
from ..inference.pipeline import StageTimes
from ..inference.threads import ThreadBudget
from ..inference.upscaler import Upscaler
from .backends import AUTO_TOLERANCE, AutoPick, BackendResult
from .ncnn_ref import NcnnResult

STAGES = ("model_only", "decode_only", "encode_only", "end_to_end", "ref_seed", "ref_pipes")
LABELS = {
    "model_only": "model only",
    "decode_only": "decode only",
    "encode_only": "encode only",
    "end_to_end": "end-to-end (vsrgan)",
    "ref_seed": "ref (a) seed: JPEG files, fp32, 1 frame",
    "ref_pipes": "ref (b) tools: pipes, batch 1, eager",
}


@dataclass
class BenchConfig:
    """What was measured: the model, the sizes, and how it ran and encoded."""

    model: str
    input: list[int]  # [width, height]
    output: list[int]  # [width, height], input times scale
    scale: int
    frames: int
    batch_size: int
    precision: str  # fp32, fp16 or bf16
    channels_last: bool
    compile: bool
    codec: str
    preset: str | None
    crf: int | None
    backend: str = "eager"  # eager, compile, onnxruntime, openvino or ncnn (vsrgan.inference.backends)


@dataclass
class Environment:
    """Where it was measured."""

    device: str
    device_name: str
    torch: str
    cuda: str | None
    av: str
    python: str
    cpu_count: int | None
    torch_threads: int
    load_average_before: float  # other work on a shared machine slows every stage
    threads: dict[str, int] = field(default_factory=dict)  # the thread budget: model, encoder, decoder
    cpu_bf16: bool = False  # native bf16 (AVX-512 BF16 or AMX); without it bf16 is emulated, slower than fp32


@dataclass
class BenchResult:
    config: BenchConfig
    environment: Environment
    flops_per_frame: int
    warmup_seconds: float
    seconds: dict[str, float]  # stage (see STAGES) -> seconds for all frames
    fps: dict[str, float]  # stage -> frames per second
    tflops: dict[str, float]  # model_only, end_to_end -> TFLOP/s of counted convolution FLOPs
    bound_fps: float  # min(model only, encode only): what end-to-end can reach at best
    ratios: dict[str, float]  # end_to_end_vs_bound, end_to_end_vs_ref_seed, end_to_end_vs_ref_pipes
    notes: dict[str, str] = field(default_factory=dict)
    end_to_end_busy: dict[str, float] = field(default_factory=dict)  # decode, model, encode: wall seconds working
    end_to_end_cpu: dict[str, float] = field(default_factory=dict)  # the same stages' own threads' CPU seconds
    backends: dict[str, BackendResult] = field(default_factory=dict)  # each compared backend, beside eager
    skipped_backends: dict[str, str] = field(default_factory=dict)  # backend -> why (its package is missing)
    auto: AutoPick | None = None  # what --backend auto runs here, beside the fastest of the compared backends
    ncnn: NcnnResult | str | None = None  # reference (c), or why it did not run; None without references
    cpu_seconds: dict[str, float] = field(default_factory=dict)  # stage -> CPU seconds (user + system, children too)

    def to_dict(self) -> dict:
        return asdict(self)


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


def report(
    seconds: dict[str, float], *, frames: int, flops: int, upscaler: Upscaler, warmup_seconds: float, load_before: float, config: BenchConfig,
    budget: ThreadBudget, times: StageTimes, backends: dict[str, BackendResult], skipped: dict[str, str], auto: AutoPick | None = None, ncnn: NcnnResult | str | None = None,
    cpu: dict[str, float] | None = None,
) -> BenchResult:
    """Frames per second, TFLOP/s and the ratios, with what they were measured on."""
    fps = {k: frames / v for k, v in seconds.items()}
    bound = min(fps["model_only"], fps["encode_only"])
    ratios = {"end_to_end_vs_bound": fps["end_to_end"] / bound}
    for ref in ("ref_seed", "ref_pipes"):
        if ref in fps:
            ratios[f"end_to_end_vs_{ref}"] = fps["end_to_end"] / fps[ref]
    dev = upscaler.device
    environment = Environment(
        device=str(dev), device_name=device_name(dev), torch=torch.__version__, cuda=torch.version.cuda, av=av.__version__,
        python=platform.python_version(), cpu_count=os.cpu_count(), torch_threads=torch.get_num_threads(), load_average_before=load_before,
        threads=asdict(budget), cpu_bf16=cpu_has_bf16(),
    )
    return BenchResult(
        config=config, environment=environment, flops_per_frame=flops, warmup_seconds=warmup_seconds, seconds=seconds, fps=fps,
        tflops={k: flops * fps[k] / 1e12 for k in ("model_only", "end_to_end")}, bound_fps=bound, ratios=ratios,
        notes={
            "ref_seed": "decode to JPEG files, upscale one frame at a time in fp32, JPEG files, then encode",
            "ref_pipes": f"decoder and encoder processes over raw rgb24 pipes; batch 1, {'fp16' if dev.type == 'cuda' else 'fp32'}, eager",
            "bound": "min(model only, encode only)",
        },
        end_to_end_busy=times.busy, end_to_end_cpu=times.cpu, backends=backends, skipped_backends=skipped, auto=auto, ncnn=ncnn, cpu_seconds=cpu or {},
    )


def format_table(result: BenchResult) -> str:
    """The result as a small text table, for people."""
    c, env, fps = result.config, result.environment, result.fps
    lines = [
        f"{c.model}  {c.input[0]}x{c.input[1]} -> {c.output[0]}x{c.output[1]}  "
        f"{c.frames} frames, batch {c.batch_size}, {c.precision}, {c.backend}  "
        f"{c.codec} {c.preset} crf {c.crf}",
        f"{env.device_name} ({env.device}), {env.cpu_count} CPUs, torch {env.torch}, PyAV {env.av}",
        "",
        f"{'stage':42s} {'fps':>9s} {'TFLOP/s':>8s} {'CPU s/frame':>12s}",
    ]
    for stage in STAGES:
        if stage in fps:
            tflops = result.tflops.get(stage)
            shown = f"{tflops:8.2f}" if tflops and result.flops_per_frame else ""
            per_frame = f"{result.cpu_seconds[stage] / c.frames:12.3f}" if stage in result.cpu_seconds else ""
            lines.append(f"{LABELS[stage]:42s} {fps[stage]:9.2f} {shown:>8s} {per_frame}")
    lines.append("")
    r = result.ratios
    lines.append(f"end-to-end / min(model only, encode only) = {r['end_to_end_vs_bound']:.2f}  (bound {result.bound_fps:.2f} fps)")
    for ref, name in (("ref_seed", "ref (a)"), ("ref_pipes", "ref (b)")):
        if f"end_to_end_vs_{ref}" in r:
            lines.append(f"end-to-end / {name} = {r[f'end_to_end_vs_{ref}']:.2f}x")
    busy = ", ".join(f"{k} {v:.2f} s busy ({result.end_to_end_cpu[k]:.2f} s CPU)" for k, v in result.end_to_end_busy.items())
    lines.append(f"end-to-end stages: {busy}; threads {env.threads}; native bf16: {'yes' if env.cpu_bf16 else 'no'}")
    if isinstance(result.ncnn, NcnnResult):
        n = result.ncnn
        lines += ["", f"ref (c) ncnn Real-ESRGAN AnimeVideo-v3 (64 features; frames in memory, {n.threads} threads): {n.fps:.3f} fps "
                  f"(our model only: {fps['model_only']:.3f})"]
        lines += [f"  PSNR-Y on scikit-image's photos, {name}: {value:.2f} dB" for name, value in n.psnr_y.items()]
    elif result.ncnn:
        lines += ["", f"ref (c) ncnn: {result.ncnn}"]
    if result.backends or result.skipped_backends:
        lines += ["", f"{'backend':14s} {'model only':>10s} {'end-to-end':>10s} {'CPU s/frame':>12s} {'e2e CPU s':>10s} {'max diff':>9s}"
                  "  (fps; CPU seconds per frame; diff from eager in 1/255)"]
        for name, b in result.backends.items():
            lines.append(f"{name:14s} {b.model_only_fps:10.3f} {b.end_to_end_fps:10.3f} {b.model_only_cpu:12.3f} {b.end_to_end_cpu:10.3f} {b.max_diff:9d}")
        for name, why in result.skipped_backends.items():
            lines.append(f"{name:14s} skipped: {why}")
    if result.auto:
        lines.append(format_auto(result.auto))
    return "\n".join(lines)


def format_auto(a: AutoPick) -> str:
    """One line: auto's backend and its speed beside the fastest measured, flagged when more than 5% slower, and where it came from."""
    origin = f"; from {a.origin}" if a.origin else ""
    if a.model_only_ratio is None:
        return (f"auto picks {a.backend}: not among the measured backends (fastest: {a.fastest_model_only} model only, "
                f"{a.fastest_end_to_end} end to end){origin}")
    flag = f"  ** more than {1 - AUTO_TOLERANCE:.0%} slower than the fastest **" if a.slower else ""
    return (f"auto picks {a.backend}: {a.model_only_ratio:.2f} of the fastest model only ({a.fastest_model_only}), "
            f"{a.end_to_end_ratio:.2f} end to end ({a.fastest_end_to_end}){origin}{flag}")
