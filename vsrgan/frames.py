"""The one place that converts between frames (uint8 arrays) and tensors (float in [0, 1]).

Frames are what PyAV and Pillow speak: ``uint8`` arrays shaped ``(H, W, 3)`` or ``(N, H, W, 3)``,
RGB. Tensors are what the networks speak: ``float`` shaped ``(N, 3, H, W)`` with values in
``[0, 1]``. Conversions run on whatever device the tensor is asked to live on, so on a GPU the
uint8 -> float work happens there and only bytes cross the bus.
"""

import numpy as np
import torch


def to_tensor(
    frames: np.ndarray | torch.Tensor,
    *,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """``uint8 (H, W, 3)`` or ``(N, H, W, 3)`` -> ``float (N, 3, H, W)`` in ``[0, 1]``."""
    t = torch.as_tensor(frames)
    if t.dtype != torch.uint8:
        raise TypeError(f"expected uint8 frames, got {t.dtype}")
    if t.ndim == 3:
        t = t.unsqueeze(0)
    t = t.to(device, non_blocking=True)  # (N, H, W, 3) uint8: move bytes, not floats
    t = t.permute(0, 3, 1, 2)  # (N, 3, H, W)
    return t.to(dtype).div_(255)


def to_uint8(tensor: torch.Tensor) -> torch.Tensor:
    """``float (N, 3, H, W)`` in ``[0, 1]`` -> ``uint8 (N, H, W, 3)`` on the same device.

    Values are clamped and rounded to nearest, so a round trip through :func:`to_tensor`
    is exact.
    """
    t = tensor.detach().float().clamp(0, 1).mul(255).round_()
    return t.to(torch.uint8).permute(0, 2, 3, 1).contiguous()  # (N, H, W, 3)


def to_numpy(tensor: torch.Tensor) -> np.ndarray:
    """``float (N, 3, H, W)`` in ``[0, 1]`` -> ``uint8 (N, H, W, 3)`` NumPy array on the CPU."""
    return to_uint8(tensor).cpu().numpy()
