"""Any generator (bundled or trained) as an ONNX file, for ONNX Runtime, OpenVINO, TensorRT or ncnn.

The graph's contract is :class:`vsrgan.inference.upscaler.Upscaler`'s: input ``input``, float32 ``(N, 3, H, W)``
RGB in ``[0, 1]`` (planar, NCHW); output ``output``, float32 ``(N, 3, sH, sW)`` RGB in ``[0, 1]``
(clamped inside the graph). Batch, height and width are dynamic. The scale and the model's
receptive radius (how far to overlap tiles for an exact result) are stored as metadata
(``vsrgan.scale``, ``vsrgan.receptive_radius``), beside the generator's config.
"""

import json
import warnings
from pathlib import Path

import torch
from torch import nn

from ..errors import ConfigError, InputError
from ..io.atomic import atomic_path

OPSET = 17


class Clamped(nn.Module):
    """The model with its output clamped to ``[0, 1]``, as the Upscaler returns it."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x).clamp(0, 1)


def export_onnx(model: nn.Module, path: str | Path, *, opset: int = OPSET, overwrite: bool = False) -> Path:
    """Write ``model`` (a generator or :class:`~vsrgan.models.Bicubic`) to ``path`` as ONNX; return the path."""
    path = Path(path)
    if path.suffix != ".onnx":
        raise ConfigError(f"'{path}' should end in .onnx")
    if path.exists() and not overwrite:
        raise InputError(f"'{path}' already exists; pass --overwrite to replace it")
    model = model.float().eval()
    example = torch.rand(1, 3, 32, 32)
    axes = {"input": {0: "batch", 2: "height", 3: "width"}, "output": {0: "batch", 2: "out_height", 3: "out_width"}}
    with atomic_path(path, overwrite=overwrite) as tmp, torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice; it needs no onnxscript
        torch.onnx.export(
            Clamped(model), (example,), str(tmp), dynamo=False, input_names=["input"], output_names=["output"],
            dynamic_axes=axes, opset_version=opset,
        )
        _add_metadata(tmp, model)
    return path


def _add_metadata(path: Path, model: nn.Module) -> None:
    try:
        import onnx
    except ImportError:
        return  # the graph is complete without it; only the metadata needs the onnx package
    proto = onnx.load(str(path))
    config = getattr(model, "config", None)
    entries = {
        "vsrgan.scale": str(model.scale),
        "vsrgan.receptive_radius": str(int(model.receptive_radius)),
        "vsrgan.contract": "input: float32 (N,3,H,W) RGB in [0,1]; output: float32 (N,3,sH,sW) RGB in [0,1]",
    }
    if config is not None:
        entries["vsrgan.generator"] = json.dumps(config.to_dict())
    for key, value in entries.items():
        proto.metadata_props.add(key=key, value=value)
    onnx.save(proto, str(path))
