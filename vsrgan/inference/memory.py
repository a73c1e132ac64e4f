"""How many frames fit in memory at once, and when to tile: sized from the model and the device.

An SRResNet's largest activations are in its upsampling steps: 256 channels at twice the input
size (the paper's) or at four times (the seed's). A 4K output frame then needs gigabytes, so a
fixed batch that suits 540p would exhaust memory at 1080p. :func:`plan` measures the model's
peak on the frame size (a forward pass on PyTorch's ``meta`` device: shapes only, no work),
compares it with the memory free on the device, and picks the batch, and tiles only if even
one whole frame does not fit.
"""

import copy
import logging
import os

import torch
from torch import nn

log = logging.getLogger(__name__)

HEADROOM = 1.5  # peak activations x this = what a call needs (convolution workspaces, temporaries)
USABLE = 0.6  # of the memory free now: leave room for the decoder, the encoder and the OS


def default_batch_size(device: torch.device) -> int:
    """Frames per model call when none is asked for: 4 on a GPU (fuller kernels), 1 on the CPU,
    where a 270p frame's activations (16 MB a layer for the compact x4 net) already fill the
    cores, and batch 4 cost 23% more CPU seconds per frame (BENCHMARKS.md)."""
    return 1 if device.type == "cpu" else 4


def peak_bytes(model: nn.Module, *, width: int, height: int, dtype: torch.dtype = torch.float32) -> int:
    """Bytes a forward pass on one ``height x width`` frame needs at its peak.

    Measured as the largest input + output of any single layer (inference frees the rest as it
    goes), times :data:`HEADROOM`.
    """
    meta = copy.deepcopy(model).to("meta")
    weights = next(meta.parameters(), None)  # the input must be in the model's dtype (fp16 on a GPU)
    peak = 0

    def hook(module: nn.Module, inputs, output) -> None:
        nonlocal peak
        size = sum(t.numel() for t in (*inputs, output) if isinstance(t, torch.Tensor))
        peak = max(peak, size)

    leaves = [m for m in meta.modules() if not list(m.children())]
    handles = [m.register_forward_hook(hook) for m in leaves]
    try:
        with torch.no_grad():
            meta(torch.empty(1, 3, height, width, device="meta", dtype=weights.dtype if weights is not None else dtype))
    finally:
        for h in handles:
            h.remove()
    element = torch.empty(0, dtype=dtype).element_size()
    return int(peak * element * HEADROOM)


def free_bytes(device: torch.device) -> int:
    """Memory free for tensors on ``device`` now (CPU and MPS: the system's available RAM)."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return free
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def plan(
    model: nn.Module,
    *,
    width: int,
    height: int,
    dtype: torch.dtype,
    device: torch.device,
    batch_size: int,
    tile: int,
    pad: int,
    budget: int | None = None,
) -> tuple[int, int]:
    """``(batch, tile)`` for frames of ``width x height``: at most ``batch_size`` frames a call,
    fewer if they do not fit; ``tile`` as asked, or, when asked for 0 and one whole frame does
    not fit, the largest power-of-two tile that does."""
    budget = budget if budget is not None else int(free_bytes(device) * USABLE)

    def need(w: int, h: int) -> int:
        return peak_bytes(model, width=w, height=h, dtype=dtype)

    def need_tiled(t: int) -> int:  # one tile with its margins, clipped to the frame
        return need(min(t + 2 * pad, width), min(t + 2 * pad, height))

    per_frame = need_tiled(tile) if tile else need(width, height)
    if tile == 0 and per_frame > budget:
        tile = 1 << (max(width, height) - 1).bit_length()
        while tile > 16 and need_tiled(tile) > budget:
            tile //= 2
        per_frame = need_tiled(tile)
        log.warning("a %dx%d frame does not fit in %.1f GB; upscaling it in tiles of %d pixels", width, height, budget / 1e9, tile)
    fits = max(1, budget // max(per_frame, 1))
    if fits < batch_size:
        log.warning("%d frames of %dx%d do not fit in %.1f GB; running %d at a time", batch_size, width, height, budget / 1e9, fits)
    return min(batch_size, fits), tile
