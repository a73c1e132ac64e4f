"""Which engine runs the network: ``--backend eager|compile|onnxruntime|openvino|ncnn``.

Every backend is a function with the Upscaler's contract, ``(N, 3, H, W)`` float in ``[0, 1]``
-> ``(N, 3, sH, sW)`` float (clamped afterwards by the Upscaler), so tiling, batching and the
pipeline do not know which one runs::

    eager        the PyTorch module as it is (channels_last on the CPU and CUDA)
    compile      torch.compile of it (compiled, with static shapes, on the first call of each shape)
    onnxruntime  the model exported to ONNX (vsrgan.inference.export), run by ONNX Runtime on the CPU
    openvino     the same ONNX graph compiled by OpenVINO for the CPU, fp32
    ncnn         the model written as ncnn files (vsrgan.inference.export_ncnn), run by ncnn on the CPU,
                 fp32, frame by frame; the compact networks and bicubic only
    auto         the measured fastest installed engine for the network and frame size (what ``vsrgan
                 upscale`` runs), for the compact networks in fp32 on the CPU (eager for everything else):
                 this machine's calibration where there is one (``vsrgan bench --calibrate``,
                 :mod:`vsrgan.inference.calibration`), else a small table in the package, :data:`AUTO_TABLE`

ONNX Runtime, OpenVINO and ncnn are optional extras (``pip install vsrgan[onnxruntime]`` /
``vsrgan[openvino]`` / ``vsrgan[ncnn]``), imported only when chosen; a missing one is one error line. Each runs with
the thread budget's model threads (:mod:`vsrgan.inference.threads`). bf16 is a precision, not a backend
(``--precision bf16``); :func:`cpu_has_bf16` says whether this CPU computes it natively.

Why a table (BENCHMARKS.md, "--backend auto"): on this machine, now a Zen 4 EPYC with AVX-512, the
fastest engine depends on the network and the frame size. For the 32-feature x4, OpenVINO is 1.5x eager
at 270p, OpenVINO and ncnn tie at 540p (1.07-1.36x across runs), and ncnn leads at 1080p (1.14-1.26x,
OpenVINO 1.01-1.08x); ncnn runs a 64-feature compact net (Real-ESRGAN's realesr-animevideov3) 1.2-2.6x as
fast as eager at every size. On the earlier AVX2 machine eager was as fast as any engine for the x4
(OpenVINO 1.02-1.05x): the table holds for the CPU it was measured on. Hence the calibration: ``vsrgan
bench --calibrate`` measures the same rows on this CPU, and auto follows them wherever the calibration's
machine key (CPU, vector flags, model threads, engine versions) is this machine's; a row it lacks, a
calibration of another machine or a damaged file (one warning line) leaves auto on the package table.
"""

import copy
import importlib.util
import math
import tempfile
from collections.abc import Callable, Collection
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..errors import ConfigError
from ..models.compact import CompactGenerator
from ..models.foreign.srvgg import SRVGGNetCompact
from .calibration import cpu_flags, read_calibration
from .export import export_onnx
from .export_ncnn import export_ncnn, load_ncnn, ncnn_graph, run_net

Forward = Callable[[torch.Tensor], torch.Tensor]
EXTRAS = {"onnxruntime": "onnxruntime", "openvino": "openvino", "ncnn": "ncnn"}  # backend -> the package (and vsrgan extra) it needs


def _import(backend: str):
    try:
        return __import__(EXTRAS[backend])
    except ImportError:
        raise ConfigError(f"--backend {backend} needs the '{EXTRAS[backend]}' package: pip install 'vsrgan[{backend}]'") from None


def _onnx_bytes(model: nn.Module) -> bytes:
    with tempfile.TemporaryDirectory(prefix="vsrgan-onnx-") as tmp:
        path = export_onnx(_float_copy(model), Path(tmp) / "model.onnx")
        return path.read_bytes()


def _float_copy(model: nn.Module) -> nn.Module:
    """An fp32, contiguous-format CPU copy for the ONNX exporter (the Upscaler's own is left as it is)."""
    return copy.deepcopy(model).to("cpu", torch.float32, memory_format=torch.contiguous_format).eval()


def _numpy_forward(run: Callable[[np.ndarray], np.ndarray]) -> Forward:
    def forward(x: torch.Tensor) -> torch.Tensor:
        x = x.to("cpu", torch.float32).contiguous()  # (N, 3, H, W) NCHW, as the ONNX graph takes it
        return torch.from_numpy(run(x.numpy()))
    return forward


def eager(model: nn.Module, *, threads: int) -> Forward:
    return model


def compiled(model: nn.Module, *, threads: int) -> Forward:
    # Static shapes: a video has one frame size and at most two batch shapes (the full batch and
    # the last, partial one). By default the second shape seen recompiles the graph with a dynamic
    # batch dimension, and that graph then serves every later call, full batches too.
    return torch.compile(model, dynamic=False)


def onnxruntime(model: nn.Module, *, threads: int) -> Forward:
    ort = _import("onnxruntime")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(_onnx_bytes(model), options, providers=["CPUExecutionProvider"])
    return _numpy_forward(lambda x: session.run(["output"], {"input": x})[0])


def openvino(model: nn.Module, *, threads: int) -> Forward:
    ov = _import("openvino")
    core = ov.Core()
    graph = core.read_model(_onnx_bytes(model), b"")
    config = {"INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "f32"}
    compiled_model = core.compile_model(graph, "CPU", config)
    request = compiled_model.create_infer_request()
    return _numpy_forward(lambda x: request.infer({"input": x})["output"].copy())


def ncnn(model: nn.Module, *, threads: int) -> Forward:
    _import("ncnn")
    model = _float_copy(model)
    try:
        ncnn_graph(model)
    except ConfigError as e:
        raise ConfigError(f"--backend ncnn: {e}; use --backend eager") from None
    with tempfile.TemporaryDirectory(prefix="vsrgan-ncnn-") as tmp:
        param, weights = export_ncnn(model, tmp, name="model")
        net = load_ncnn(param, weights, threads=threads)
    return _numpy_forward(lambda x: np.stack([run_net(net, frame) for frame in x]))  # ncnn runs one frame at a time


BACKENDS: dict[str, Callable[..., Forward]] = {
    "eager": eager, "compile": compiled, "onnxruntime": onnxruntime, "openvino": openvino, "ncnn": ncnn,
}
CPU_ONLY = ("onnxruntime", "openvino", "ncnn")


# --backend auto, on the CPU in fp32, for the compact networks (ours and Real-ESRGAN's SRVGGNetCompact), where
# this machine has no calibration of its own (vsrgan bench --calibrate; vsrgan.inference.calibration): by
# the network's width and the frame size it sees, the engines that ran it faster than eager PyTorch, fastest
# first. Measured with `vsrgan bench --backends all --batch-size 1` (BENCHMARKS.md, "--backend auto"): the x4
# (32 features) and realesr-animevideov3-x4 (64), 2 threads, AMD EPYC (Zen 4, AVX-512), a training run beside,
# every engine taking turns in one process. The comments give model-only fps over eager's (the median round
# of each run; two or three runs). torch.compile (0.86-1.08x, and it first compiles each shape) and ONNX
# Runtime (0.62-0.99x) made no list; nor did an engine within a few percent of eager.
AUTO_TABLE: dict[tuple[int, str], tuple[str, ...]] = {
    (32, "270p"): ("openvino",),  # openvino 1.49-1.58, ncnn 0.87-0.99
    (32, "540p"): ("ncnn", "openvino"),  # a tie: ncnn 1.07-1.32, openvino 1.07-1.36; ncnn the steadier end to end
    (32, "1080p"): ("ncnn", "openvino"),  # ncnn 1.14-1.26, openvino 1.01-1.08
    (64, "270p"): ("ncnn", "openvino"),  # ncnn 1.22-1.25, openvino 1.10-1.20
    (64, "540p"): ("ncnn",),  # ncnn 1.50-1.55, openvino 0.99-1.01
    (64, "1080p"): ("ncnn", "openvino"),  # ncnn 2.59, openvino 1.52
}
AUTO_WIDTHS = (32, 64)  # features: a network's row is the nearest measured width
AUTO_SIZES = {"270p": 480 * 270, "540p": 960 * 540, "1080p": 1920 * 1080}  # input pixels: a frame's row is the nearest
AUTO_SIZE_UNKNOWN = "540p"  # the row for an Upscaler not yet told its frame size (Upscaler.fit tells it)


def pick_backend(
    name: str, device: torch.device, model: nn.Module | None = None, dtype: torch.dtype = torch.float32, *,
    size: tuple[int, int] | None = None, installed: Collection[str] | None = None, threads: int | None = None,
) -> str:
    """``auto`` -> the measured fastest engine for ``model`` on ``device`` at ``dtype`` and frames of
    ``size`` ``(width, height)`` (what the network sees: a tile, when tiled; None: not known yet), run
    with ``threads`` model threads (None: PyTorch's count): the first of its row (:func:`auto_row`) that
    is eager, or ``installed`` (default: the packages present here) and can run it (ncnn: a network its
    writer knows); eager PyTorch if none is, and for everything the rows do not cover (other networks,
    other precisions, GPUs). Any other name as given."""
    if name != "auto":
        return name
    if installed is None:
        installed = [n for n, package in EXTRAS.items() if importlib.util.find_spec(package) is not None]
    for engine in auto_row(device, model, dtype, size, threads=threads):
        if engine == "eager" or (engine in installed and (engine != "ncnn" or _ncnn_writes(model))):
            return engine
    return "eager"


def auto_row(
    device: torch.device, model: nn.Module | None, dtype: torch.dtype, size: tuple[int, int] | None, *, threads: int | None = None,
) -> tuple[str, ...]:
    """The engines auto tries for this network and frame size, fastest first; () where auto is eager."""
    return _auto(device, model, dtype, size, threads)[0]


def auto_origin(
    device: torch.device, model: nn.Module | None, dtype: torch.dtype, size: tuple[int, int] | None, *, threads: int | None = None,
) -> str:
    """Where :func:`auto_row`'s row comes from, in words: this machine's calibration (its path) or the package table."""
    return _auto(device, model, dtype, size, threads)[1]


def _auto(device, model, dtype, size, threads) -> tuple[tuple[str, ...], str]:
    if device.type != "cpu" or dtype != torch.float32 or not isinstance(model, (CompactGenerator, SRVGGNetCompact)):
        return (), "no table (eager: not a compact network in fp32 on the CPU)"
    row = (_nearest(_features(model), {w: w for w in AUTO_WIDTHS}), AUTO_SIZE_UNKNOWN if size is None else _nearest(size[0] * size[1], AUTO_SIZES))
    calibration = read_calibration(threads or torch.get_num_threads())
    if calibration is not None and row in calibration.rows:
        return calibration.rows[row], f"the calibration at {calibration.path}"
    return AUTO_TABLE[row], "the package table"


def _nearest(value: int, points: dict) -> object:
    """The key of ``points`` whose value is nearest ``value`` in ratio (log scale)."""
    return min(points, key=lambda key: abs(math.log(max(value, 1) / points[key])))


def _ncnn_writes(model: nn.Module) -> bool:
    try:
        ncnn_graph(model)
        return True
    except ConfigError:
        return False


def _features(model: nn.Module) -> int:
    """The width of a network's first convolution (0: none)."""
    return next((m.out_channels for m in model.modules() if isinstance(m, nn.Conv2d)), 0)


def build_backend(name: str, model: nn.Module, *, device: torch.device, threads: int) -> Forward:
    """The forward function of ``model`` (already on ``device``) run by backend ``name`` (not ``auto``: see :func:`pick_backend`)."""
    if name not in BACKENDS:
        raise ConfigError(f"unknown backend '{name}'; expected one of {', '.join(BACKENDS)}")
    if name in CPU_ONLY and device.type != "cpu":
        raise ConfigError(f"--backend {name} runs on the CPU; got --device {device}; use --device cpu or --backend eager")
    return BACKENDS[name](model, threads=threads)


def available_backends() -> list[str]:
    """The backends whose packages are installed here."""
    names = []
    for name in BACKENDS:
        try:
            if name in EXTRAS:
                _import(name)
            names.append(name)
        except ConfigError:
            pass
    return names


def cpu_has_bf16(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Whether this CPU computes bf16 natively (AVX-512 BF16 or AMX); otherwise bf16 is emulated and slower than fp32."""
    return bool(cpu_flags(cpuinfo) & {"avx512_bf16", "amx_bf16"})  # torch.backends.cpu.get_cpu_capability() stops at "AVX512"
