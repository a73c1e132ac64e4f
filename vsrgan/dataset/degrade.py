"""How a low-resolution input is made from a high-resolution frame.

:func:`downscale` is the one degradation that training, validation and evaluation share: every
LR image in a prepared dataset, and every LR input an evaluation feeds a model, comes from it.

Optional real-world degradations (after Real-ESRGAN, Wang et al. 2021, first-order model), off
unless asked for: Gaussian blur on the HR frame, then :func:`downscale`, then Gaussian noise,
then rounding to uint8, then JPEG (Pillow) and/or H.264 (PyAV) compression. Their random
parameters are drawn once per image by :func:`sample_degradation` and stored in the dataset
manifest, so every LR image can be remade exactly.
"""

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import ConfigError
from ..io import frames
from .codecs import Codec, round_trip

DEGRADATIONS = ("blur", "noise", "jpeg", "h264")
BLUR_SIGMA = (0.2, 3.0)  # HR pixels; Real-ESRGAN's first-order range
NOISE_SIGMA = (1.0, 30.0)  # in 0-255 units; Real-ESRGAN's range
JPEG_QUALITY = (30, 95)  # Real-ESRGAN's range
H264_CRF = (18, 35)  # libx264: 18 is visually lossless, 35 visibly blocky


def crop_to_multiple(x: torch.Tensor, scale: int) -> torch.Tensor:
    """Crop the bottom and right edges of ``(..., H, W)`` so both are multiples of ``scale``."""
    h, w = x.shape[-2:]
    return x[..., : h - h % scale, : w - w % scale]


def downscale(x: torch.Tensor, scale: int) -> torch.Tensor:
    """``(N, 3, H, W)`` float in ``[0, 1]`` -> ``(N, 3, H // scale, W // scale)``, clamped to ``[0, 1]``.

    The HR image is first cropped (bottom/right) to a multiple of ``scale``, so that HR is exactly
    ``scale`` times LR. The kernel is PyTorch's antialiased bicubic
    (``F.interpolate(mode="bicubic", antialias=True, align_corners=False)``): Keys' cubic
    convolution with ``a = -0.5``, stretched by ``scale`` so that each LR pixel averages the
    ``4 * scale`` HR pixels under it on each axis, centred on the LR pixel's centre; at the image
    edges the weights of the pixels that exist are renormalised to sum to 1. That is Pillow's
    ``Image.resize(..., BICUBIC)`` (checked equal to 1e-7) and MATLAB's ``imresize`` bicubic
    except at the edges (MATLAB mirrors the image). Note PyTorch's *non*-antialiased bicubic,
    used for upscaling, has ``a = -0.75``.

    Stored LR images are rounded to uint8 afterwards (:func:`vsrgan.io.frames.to_uint8`).
    """
    if scale < 1:
        raise ConfigError(f"downscale factor must be >= 1, got {scale}")
    x = crop_to_multiple(x, scale)
    h, w = x.shape[-2:]
    y = F.interpolate(x, size=(h // scale, w // scale), mode="bicubic", antialias=True, align_corners=False)
    return y.clamp(0, 1)


def shrink(image: np.ndarray, max_short_side: int) -> np.ndarray:
    """``uint8 (H, W, 3)`` made smaller (antialiased bicubic, aspect kept) so that its short side is
    at most ``max_short_side``; returned as is if it already is (0: never shrink).

    Wallpaper-sized photos are soft at full size (a x4 bicubic round trip often scores 35-55 dB):
    shrunk, the same photo holds the detail a x4 model has to learn.
    """
    h, w = image.shape[:2]
    if max_short_side <= 0 or min(h, w) <= max_short_side:
        return image
    ratio = max_short_side / min(h, w)
    size = (max(1, round(h * ratio)), max(1, round(w * ratio)))
    x = F.interpolate(frames.to_tensor(image), size=size, mode="bicubic", antialias=True, align_corners=False)
    return frames.to_numpy(x.clamp(0, 1))[0]


@dataclass(frozen=True)
class Degradation:
    """One image's degradation parameters; zeros mean "off". Stored in the manifest."""

    blur_sigma: float = 0.0  # Gaussian blur on the HR image, in HR pixels
    noise_sigma: float = 0.0  # Gaussian noise on the LR image, in 0-255 units
    noise_seed: int = 0  # seeds the noise, so the LR image can be remade exactly
    jpeg_quality: int = 0  # Pillow JPEG quality 1-95
    h264_crf: int = 0  # libx264 constant rate factor 1-51, one intra frame

    def __post_init__(self):
        if self.blur_sigma < 0 or self.noise_sigma < 0:
            raise ConfigError("blur_sigma and noise_sigma must be >= 0")
        if not 0 <= self.jpeg_quality <= 95 or not 0 <= self.h264_crf <= 51:
            raise ConfigError("jpeg_quality must be 0 (off) to 95 and h264_crf 0 (off) to 51")


def check_degradations(kinds: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    unknown = [k for k in kinds if k not in DEGRADATIONS]
    if unknown:
        raise ConfigError(f"unknown degradation {unknown[0]!r}; expected some of {', '.join(DEGRADATIONS)}")
    return tuple(kinds)


def sample_degradation(kinds: tuple[str, ...], rng: np.random.Generator) -> Degradation:
    """Draw one image's parameters for the degradations named in ``kinds`` (uniform in each range)."""
    check_degradations(kinds)
    return Degradation(
        blur_sigma=round(float(rng.uniform(*BLUR_SIGMA)), 4) if "blur" in kinds else 0.0,
        noise_sigma=round(float(rng.uniform(*NOISE_SIGMA)), 4) if "noise" in kinds else 0.0,
        noise_seed=int(rng.integers(2**31)) if "noise" in kinds else 0,
        jpeg_quality=int(rng.integers(JPEG_QUALITY[0], JPEG_QUALITY[1] + 1)) if "jpeg" in kinds else 0,
        h264_crf=int(rng.integers(H264_CRF[0], H264_CRF[1] + 1)) if "h264" in kinds else 0,
    )


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """``(N, 3, H, W)`` blurred by an isotropic Gaussian of ``sigma`` pixels (kernel radius 3 sigma,
    reflected edges)."""
    radius = max(1, math.ceil(3 * sigma))
    t = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    k1 = torch.exp(-(t**2) / (2 * sigma**2))
    k1 = k1 / k1.sum()
    kernel = (k1[:, None] * k1[None, :]).expand(x.shape[1], 1, -1, -1)  # (3, 1, k, k): one per channel
    x = F.pad(x, (radius, radius, radius, radius), mode="reflect")
    return F.conv2d(x, kernel, groups=x.shape[1])


def make_lr(hr: np.ndarray, scale: int, degradation: Degradation | None = None) -> np.ndarray:
    """``uint8 (H, W, 3)`` HR -> ``uint8 (H // scale, W // scale, 3)`` LR: blur, downscale, noise,
    round, JPEG, H.264 (each only if its parameter is on)."""
    d = degradation or Degradation()
    x = frames.to_tensor(hr)  # (1, 3, H, W)
    if d.blur_sigma > 0:
        x = gaussian_blur(x, d.blur_sigma)
    x = downscale(x, scale)
    if d.noise_sigma > 0:
        g = torch.Generator().manual_seed(d.noise_seed)
        x = x + torch.randn(x.shape, generator=g) * (d.noise_sigma / 255)
    lr = frames.to_numpy(x)[0]  # (h, w, 3) uint8, clamped and rounded
    if d.jpeg_quality > 0:
        lr = round_trip([lr], Codec("jpeg", q=d.jpeg_quality))[0]
    if d.h264_crf > 0:
        lr = round_trip([lr], Codec("x264", crf=d.h264_crf, preset="veryfast"))[0]  # one intra frame
    return lr
