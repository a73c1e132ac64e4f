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
    auto         the measured fastest (what ``vsrgan upscale`` runs): ncnn for compact networks of 64
                 features or more in fp32 on the CPU where ncnn is installed, eager otherwise

ONNX Runtime, OpenVINO and ncnn are optional extras (``pip install vsrgan[onnxruntime]`` /
``vsrgan[openvino]`` / ``vsrgan[ncnn]``), imported only when chosen; a missing one is one error line. Each runs with
the thread budget's model threads (:mod:`vsrgan.inference.threads`). bf16 is a precision, not a backend
(``--precision bf16``); :func:`cpu_has_bf16` says whether this CPU computes it natively.

Why ``auto`` is eager for our networks: on the idle 2-core development machine (AMD EPYC, AVX2) no
other backend ran the bundled x4 network 1.2x as fast as eager PyTorch with channels_last, the
rule for a default. Model only, fps: 270p eager 2.84, OpenVINO 2.89, torch.compile 2.79, ONNX Runtime 2.07;
540p eager 0.79, OpenVINO 0.83, compile 0.73, ONNX Runtime 0.51 (BENCHMARKS.md, all within 1/255
of eager). OpenVINO's earlier 2x at 540p was eager's page faults, since fixed (:mod:`vsrgan.inference.heap`).
ncnn (BENCHMARKS.md, measured under load, side by side) is a wash for the bundled x4 at 270p
(0.9-1.5x of eager's speed across runs) but 1.3-2x faster on a compact net of 64 features, such as
Real-ESRGAN's realesr-animevideov3 (1.37x model only, 1.31x end to end at 270p): ``auto`` picks it there.
"""

import copy
import importlib.util
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..errors import ConfigError
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


# From this many features on, ncnn runs a compact network faster than eager PyTorch on the CPU (measured
# 1.3-2x at 64, BENCHMARKS.md); at our x4's 32 it is a wash, so auto keeps eager there.
NCNN_MIN_FEATURES = 64


def pick_backend(name: str, device: torch.device, model: nn.Module | None = None, dtype: torch.dtype = torch.float32) -> str:
    """``auto`` -> the measured fastest engine for ``model`` on ``device`` at ``dtype``: ncnn for a
    compact network of at least :data:`NCNN_MIN_FEATURES` features in fp32 on the CPU, where the
    ``ncnn`` package is installed (Real-ESRGAN's SRVGGNetCompact models, a wide CompactGenerator);
    eager PyTorch for everything else (see above). Any other name as given."""
    if name != "auto":
        return name
    if device.type == "cpu" and dtype == torch.float32 and model is not None and _features(model) >= NCNN_MIN_FEATURES \
            and importlib.util.find_spec("ncnn") is not None:
        try:
            ncnn_graph(model)  # a network the ncnn writer knows
            return "ncnn"
        except ConfigError:
            pass
    return "eager"


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
    try:  # torch.backends.cpu.get_cpu_capability() stops at "AVX512": the kernel's flags say more
        lines = cpuinfo.read_text().splitlines()
    except OSError:
        return False
    flags = {word for line in lines if line.startswith("flags") for word in line.partition(":")[2].split()}
    return bool(flags & {"avx512_bf16", "amx_bf16"})
