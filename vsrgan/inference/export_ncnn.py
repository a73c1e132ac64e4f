"""A compact generator as an ncnn model (``.param`` + ``.bin``) for realesrgan-ncnn-vulkan and video2x.

The files follow the conventions of Real-ESRGAN's shipped ncnn models (realesr-animevideov3-x4):
input blob ``data``, output blob ``output``, RGB float CHW in ``[0, 1]``, the skip an ``Interp``
of the input added after the ``PixelShuffle``; named ``NAME-xS.param`` / ``NAME-xS.bin``. Written
here layer by layer from the PyTorch module (no converter), only for what is plain enough to
write exactly::

    CompactGenerator (ours, reparam folded):  data -> Split -> conv3x3, PReLU ... conv3x3 -> PixelShuffle(s)
                                                 \\-> Interp bicubic (s) -> Clip 0..1 -> + -> Clip 0..1 -> output
    SRVGGNetCompact (Real-ESRGAN's):          the same, with a nearest Interp and no Clip on the skip
    Bicubic:                                  data -> Interp bicubic (s) -> Clip 0..1 -> output

ncnn's bicubic (``Interp`` resize_type 3: a = -0.75, half-pixel centres, edges clamped) is
PyTorch's ``align_corners=False`` bicubic to float rounding (measured: 2.4e-7 on random input),
so the skip is one layer, as in Real-ESRGAN's files. The output is clamped like the Upscaler's.

The ``.param`` format: a magic number, ``layers blobs``, then a line per layer: type, name, bottom
and top counts, bottom and top blob names, ``key=value`` parameters (a float has a dot or an e).
The ``.bin``: each layer's weights in layer order; a convolution's kernel behind a 4-byte tag
(0: raw float32), ``(out, in, kh, kw)`` as PyTorch stores it, then its bias; PReLU's slopes untagged.
"""

import re
import struct
from pathlib import Path

import numpy as np
from torch import nn

from ..errors import ConfigError, InputError
from ..io.atomic import atomic_path
from ..models.bicubic import Bicubic
from ..models.compact import CompactGenerator
from ..models.foreign.srvgg import SRVGGNetCompact

MAGIC = 7767517  # the .param format's version stamp
RAW_FLOAT32 = 0  # the .bin tag before a kernel stored as plain float32
NEAREST, BICUBIC = 1, 3  # Interp's resize_type
ADD = 0  # BinaryOp's op_type


class NcnnGraph:
    """Layers appended in the order they run; ``param()`` and ``weights()`` are the two files' contents."""

    def __init__(self):
        self.lines: list[str] = []
        self.blobs: set[str] = set()
        self.data: list[bytes] = []

    def layer(self, kind: str, bottoms: list[str], *, tops: int | list[str] = 1, params: dict | None = None) -> list[str]:
        """Append one layer reading ``bottoms``; return its top blobs' names (numbered unless given)."""
        index = len(self.lines)
        names = tops if isinstance(tops, list) else [f"{index}_{t}" if tops > 1 else str(index) for t in range(tops)]
        fields = [kind, f"{kind.lower()}_{index}", str(len(bottoms)), str(len(names)), *bottoms, *names]
        fields += [f"{key}={value:e}" if isinstance(value, float) else f"{key}={value}" for key, value in (params or {}).items()]
        self.lines.append(" ".join(fields))
        self.blobs.update(names)
        return names

    def input(self) -> str:
        return self.layer("Input", [], tops=["data"])[0]

    def split(self, x: str) -> list[str]:
        return self.layer("Split", [x], tops=2)

    def conv(self, x: str, conv: nn.Module) -> str:
        if not (isinstance(conv, nn.Conv2d) and conv.kernel_size == (3, 3) and conv.stride == (1, 1) and conv.padding == (1, 1)
                and conv.dilation == (1, 1) and conv.groups == 1 and conv.padding_mode == "zeros" and conv.bias is not None):
            raise ConfigError(f"ncnn export writes 3x3 convolutions with stride 1, padding 1 and a bias; found {conv}")
        weight = conv.weight.detach().float().cpu().numpy()  # (out, in, 3, 3): ncnn's order too
        self.data += [struct.pack("<I", RAW_FLOAT32), weight.astype("<f4").tobytes(),
                      conv.bias.detach().float().cpu().numpy().astype("<f4").tobytes()]
        params = {0: conv.out_channels, 1: 3, 4: 1, 5: 1, 6: weight.size}  # outputs, kernel, pad, bias, weight count
        return self.layer("Convolution", [x], params=params)[0]

    def prelu(self, x: str, act: nn.Module) -> str:
        if not isinstance(act, nn.PReLU):
            raise ConfigError(f"ncnn export writes PReLU activations; found {act}")
        self.data.append(act.weight.detach().float().cpu().numpy().astype("<f4").tobytes())
        return self.layer("PReLU", [x], params={0: act.num_parameters})[0]

    def interp(self, x: str, mode: int, scale: int) -> str:
        return self.layer("Interp", [x], params={0: mode, 1: float(scale), 2: float(scale)})[0]

    def clip(self, x: str, *, top: str | None = None) -> str:
        return self.layer("Clip", [x], tops=[top] if top else 1, params={0: 0.0, 1: 1.0})[0]

    def param(self) -> str:
        return "\n".join([str(MAGIC), f"{len(self.lines)} {len(self.blobs)}", *self.lines]) + "\n"

    def weights(self) -> bytes:
        return b"".join(self.data)


def _stack(graph: NcnnGraph, x: str, layers: list[nn.Module]) -> str:
    """conv3x3 / PReLU layers in order, as ncnn layers."""
    for module in layers:
        x = graph.prelu(x, module) if isinstance(module, nn.PReLU) else graph.conv(x, module)
    return x


def _residual(graph: NcnnGraph, layers: list[nn.Module], *, scale: int, skip: int) -> None:
    """``layers`` (conv/PReLU, the last conv giving 3 s^2 channels) -> PixelShuffle, plus the input's ``skip`` Interp."""
    a, b = graph.split(graph.input())
    y = graph.layer("PixelShuffle", [_stack(graph, a, layers)], params={0: scale})[0]  # (3, sH, sW)
    base = graph.interp(b, skip, scale)
    if skip == BICUBIC:
        base = graph.clip(base)  # Bicubic.phases clamps the base before the residual is added
    graph.clip(graph.layer("BinaryOp", [y, base], params={0: ADD})[0], top="output")


def ncnn_graph(model: nn.Module) -> NcnnGraph:
    """``model`` as ncnn layers; a :class:`ConfigError` naming the architecture if it cannot be written."""
    graph = NcnnGraph()
    if type(model) is Bicubic:
        graph.clip(graph.interp(graph.input(), BICUBIC, model.scale), top="output")
    elif type(model) is CompactGenerator:
        c = model.config
        if (c.in_channels, c.out_channels) != (3, 3):
            raise ConfigError(f"ncnn export writes RGB networks (3 channels in and out); this one has {c.in_channels} in, {c.out_channels} out")
        model = model.fused()  # reparam branches folded into plain 3x3 convolutions
        layers = [model.head, model.head_act, *model.body, model.tail]
        _residual(graph, layers, scale=model.scale, skip=BICUBIC)
    elif type(model) is SRVGGNetCompact:
        _residual(graph, list(model.body), scale=model.scale, skip=NEAREST)
    else:
        arch = getattr(getattr(model, "config", None), "arch", None) or getattr(model, "arch", type(model).__name__)
        raise ConfigError(f"ncnn export writes compact networks (vsrgan's compact, Real-ESRGAN's SRVGGNetCompact) "
                          f"and bicubic; this model is {arch}")
    return graph


def default_name(label: str, scale: int) -> str:
    """The NAME of ``NAME-xS.param`` for a ``--model`` label: ``x4`` -> ``vsrgan``, ``x4-real`` -> ``vsrgan-real``."""
    rest = re.sub(rf"(^|-)x{scale}(?=-|$)", "", label).strip("-")
    return f"vsrgan-{rest}" if rest else "vsrgan"


def export_ncnn(model: nn.Module, folder: str | Path, *, name: str, overwrite: bool = False) -> tuple[Path, Path]:
    """Write ``model`` as ``folder/NAME-xS.param`` and ``.bin`` (S: its scale); return the two paths."""
    if not name or not re.fullmatch(r"[A-Za-z0-9._+-]+", name):
        raise ConfigError(f"--name '{name}' should be a file name stem: letters, digits, '.', '_', '+' or '-'")
    folder = Path(folder)
    if folder.suffix in (".param", ".bin", ".onnx") or folder.is_file():
        raise ConfigError(f"'{folder}' should be a folder for the .param and .bin files")
    model = model.float().cpu().eval()
    try:
        graph = ncnn_graph(model)
    except ConfigError as e:
        raise ConfigError(f"{e}: export it as ONNX (--format onnx)") from None
    stem = f"{name}-x{model.scale}"
    paths = (folder / f"{stem}.param", folder / f"{stem}.bin")
    for path in paths:
        if path.exists() and not overwrite:
            raise InputError(f"'{path}' already exists; pass --overwrite to replace it")
    folder.mkdir(parents=True, exist_ok=True)
    for path, content in zip(paths, (graph.param().encode(), graph.weights())):
        with atomic_path(path, overwrite=overwrite) as tmp:
            Path(tmp).write_bytes(content)
    return paths


def load_ncnn(param: Path, weights: Path, *, threads: int):
    """An ``ncnn.Net`` of the two files on the CPU (the weights are read into memory: the files may go)."""
    import ncnn

    net = ncnn.Net()
    net.opt.use_vulkan_compute = False
    net.opt.num_threads = threads
    if net.load_param(str(param)) != 0 or net.load_model(str(weights)) != 0:
        raise ConfigError(f"ncnn could not load {param} and {weights}")
    return net


def run_net(net, x: np.ndarray) -> np.ndarray:
    """float32 ``(3, H, W)`` RGB in [0, 1] through ``net`` -> ``(3, sH, sW)``."""
    import ncnn

    x = np.ascontiguousarray(x, dtype=np.float32)  # ncnn.Mat wraps it without a copy: alive until extract()
    with net.create_extractor() as ex:
        ex.input("data", ncnn.Mat(x))
        status, out = ex.extract("output")
        if status != 0:
            raise RuntimeError(f"ncnn extract failed ({status})")
        return np.array(out)  # copied out of ncnn's memory


def run_ncnn(param: Path, weights: Path, x: np.ndarray, *, threads: int = 1) -> np.ndarray:
    """float32 ``(3, H, W)`` RGB in [0, 1] through the ncnn files on the CPU -> ``(3, sH, sW)``."""
    return run_net(load_ncnn(param, weights, threads=threads), x)
