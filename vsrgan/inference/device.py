"""Choosing the device and the precision, in one place: inference, training and the benchmark ask here.

``auto`` devices: CUDA, then Apple MPS, then the CPU. Inference precision ``auto`` is fp16 on a
GPU and fp32 on the CPU; training's mixed precision (autocast) is for CUDA only.
"""

import torch

from ..errors import ConfigError

PRECISIONS = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


def pick_device(device: str = "auto") -> torch.device:
    """``auto``: CUDA, then Apple MPS, then CPU. Anything else is taken as asked."""
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise ConfigError(f"unknown device '{device}'; expected auto, cpu, cuda, cuda:N or mps") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device '{device}' asked for, but this PyTorch sees no CUDA GPU")
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(f"device '{device}' asked for, but MPS is not available here")
    return dev


def pick_precision(precision: str, device: torch.device) -> torch.dtype:
    """``auto``: fp16 on CUDA and MPS (tensor cores; SRResNet activations stay far from fp16's
    range limit), fp32 on the CPU (where half precision is emulated and slow)."""
    if precision == "auto":
        return torch.float16 if device.type in ("cuda", "mps") else torch.float32
    if precision not in PRECISIONS:
        raise ConfigError(f"unknown precision '{precision}'; expected auto, fp32, fp16 or bf16")
    return PRECISIONS[precision]


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """None: full fp32. Mixed precision is for CUDA only."""
    if device.type != "cuda":
        if precision in ("bf16", "fp16"):
            raise ConfigError(f"train.precision {precision} needs a CUDA device; got {device}; use fp32 or auto")
        return None
    if precision == "auto":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]
