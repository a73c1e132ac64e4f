"""The one place that converts between frames (uint8 arrays) and tensors (float in [0, 1]).

Frames are what PyAV and Pillow speak: ``uint8`` arrays shaped ``(H, W, 3)`` or ``(N, H, W, 3)``,
RGB. Tensors are what the networks speak: ``float`` shaped ``(N, 3, H, W)`` with values in
``[0, 1]``. Conversions run on whatever device the tensor is asked to live on, so on a GPU the
uint8 -> float work happens there and only bytes cross the bus.
"""

import numpy as np
import torch

from .colour import output_matrix


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
    return to_uint8_(tensor.detach().float().clamp(0, 1))  # a float32 copy of our own: scaled in place


def to_uint8_(tensor: torch.Tensor) -> torch.Tensor:
    """:func:`to_uint8` for a float tensor of the caller's own, already in ``[0, 1]``: scaled and
    rounded in place, so a frame costs one float pass and the uint8 copy. A channels_last
    tensor (the Upscaler's output on a CPU) becomes ``(N, H, W, 3)`` without a reorder."""
    if tensor.dtype != torch.float32:  # fp16 and bf16 cannot hold x255 exactly enough: the careful way
        return to_uint8(tensor)
    t = tensor.detach().mul_(255).round_()
    return t.to(torch.uint8).permute(0, 2, 3, 1).contiguous()  # (N, H, W, 3)


def to_numpy(tensor: torch.Tensor) -> np.ndarray:
    """``float (N, 3, H, W)`` in ``[0, 1]`` -> ``uint8 (N, H, W, 3)`` NumPy array on the CPU."""
    return to_uint8(tensor).cpu().numpy()


# Limited range, as VideoWriter.write converts and tags it.
_YUV_SCALE = torch.tensor([219.0, 224.0, 224.0])
_YUV_OFFSET = torch.tensor([16.0, 128.0, 128.0])


def to_i420(tensor: torch.Tensor) -> torch.Tensor:
    """``float (N, 3, H, W)`` RGB in ``[0, 1]`` -> ``uint8 (N, 3H/2, W)`` I420 (yuv420p) frames.

    The layout PyAV's ``VideoFrame.from_ndarray(..., format="yuv420p")`` takes: the Y plane,
    then U and V at half size each, packed row after row. :func:`vsrgan.io.colour.output_matrix`'s matrix
    for the padded size in limited range, as :class:`vsrgan.io.writer.VideoWriter` tags it, and 2x2 chroma averaging. Odd sizes are padded by repeating the last row or
    column. Run on a GPU this takes the colour conversion off the encoder's CPU and halves the
    bytes copied back to the host.
    """
    x = tensor.detach().float().clamp(0, 1)
    n, _, h, w = x.shape
    x = torch.nn.functional.pad(x, (0, w % 2, 0, h % 2), mode="replicate")
    h, w = h + h % 2, w + w % 2
    m = torch.tensor(output_matrix(w, h).rgb_to_ycbcr(), device=x.device)
    yuv = torch.einsum("ij,njhw->nihw", m, x)  # (N, 3, H, W): Y, Cb, Cr in [0, 1] / [-0.5, 0.5]
    yuv = yuv * _YUV_SCALE.to(x.device).view(1, 3, 1, 1) + _YUV_OFFSET.to(x.device).view(1, 3, 1, 1)
    y = yuv[:, 0]  # (N, H, W)
    uv = torch.nn.functional.avg_pool2d(yuv[:, 1:], 2)  # (N, 2, H/2, W/2)
    planes = torch.cat([y.reshape(n, -1), uv.reshape(n, -1)], dim=1)  # (N, H*W*3/2)
    return planes.round_().clamp_(0, 255).to(torch.uint8).view(n, h * 3 // 2, w)


def from_i420(planes: np.ndarray) -> np.ndarray:
    """``uint8 (3H/2, W)`` I420 planes, as :func:`to_i420` packs them -> ``uint8 (H, W, 3)`` RGB:
    its inverse, with chroma upsampled bilinearly from the centres of its 2x2 blocks."""
    h, w = planes.shape[0] * 2 // 3, planes.shape[1]
    flat = torch.from_numpy(np.ascontiguousarray(planes)).float().reshape(-1)
    y = flat[: h * w].view(1, 1, h, w)
    uv = flat[h * w :].view(1, 2, h // 2, w // 2)
    uv = torch.nn.functional.interpolate(uv, size=(h, w), mode="bilinear", align_corners=False)
    ycc = (torch.cat([y, uv], dim=1) - _YUV_OFFSET.view(1, 3, 1, 1)) / _YUV_SCALE.view(1, 3, 1, 1)  # Y in [0, 1], Cb, Cr in [-0.5, 0.5]
    inverse = torch.linalg.inv(torch.tensor(output_matrix(w, h).rgb_to_ycbcr(), dtype=torch.float64)).float()
    return to_numpy(torch.einsum("ij,njhw->nihw", inverse, ycc).clamp(0, 1))[0]

