"""Validation during training: PSNR/SSIM on held-out pairs, and a picture to look at.

Outputs are rounded to uint8 before they are scored, as a real upscaled video would be, and
scored by :mod:`vsrgan.metrics` with the literature's conventions: luma (BT.601) only, ``scale``
pixels cropped from every edge.
"""

import torch
import torch.nn.functional as F
from torch import nn

from ..dataset.crops import Split
from ..metrics import psnr, ssim
from ..models import Bicubic


def _float(t: torch.Tensor, device: torch.device) -> torch.Tensor:
    return t[None].to(device).float().div_(255)  # uint8 (3, H, W) -> float (1, 3, H, W) in [0, 1]


@torch.no_grad()
def validate(model: nn.Module, data: Split, *, scale: int, device: torch.device) -> dict[str, float]:
    """Mean PSNR (dB) and SSIM of ``model``'s outputs over ``data``, one image at a time (sizes may differ)."""
    was_training = model.training
    model.eval()
    psnrs, ssims = [], []
    for lr, hr in zip(data.lr, data.hr):
        sr = model(_float(lr, device)).float().clamp(0, 1)
        sr = sr.mul(255).round().div(255)  # what a uint8 frame would hold
        target = _float(hr, device)
        psnrs.append(psnr(sr, target, crop_border=scale).item())
        ssims.append(ssim(sr, target, crop_border=scale).item())
    model.train(was_training)
    return {"psnr": sum(psnrs) / len(psnrs), "ssim": sum(ssims) / len(ssims)}


def bicubic_baseline(data: Split, *, scale: int, device: torch.device) -> dict[str, float]:
    """The same scores for plain bicubic upscaling (of the middle frame): the line a trained model must clear."""
    return validate(Bicubic(scale=scale).to(device), data.centre(), scale=scale, device=device)


@torch.no_grad()
def comparison(model: nn.Module, data: Split, *, scale: int, device: torch.device, size: int = 192) -> torch.Tensor:
    """``(3, h, 4w)`` float: LR (nearest) | bicubic | model | HR, for a centred ``size`` crop of the
    first pair (its middle frame, where the model takes several)."""
    lr, hr, centre = data.lr[0], data.hr[0], data.centre().lr[0]
    p = min(size // scale, *lr.shape[1:])
    y, x = (lr.shape[1] - p) // 2, (lr.shape[2] - p) // 2
    lr, centre = (_float(t[:, y : y + p, x : x + p], device) for t in (lr, centre))
    hr = _float(hr[:, y * scale : (y + p) * scale, x * scale : (x + p) * scale], device)
    was_training = model.training
    model.eval()
    panels = [
        F.interpolate(centre, scale_factor=scale, mode="nearest"),
        Bicubic(scale=scale).to(device)(centre),
        model(lr).float().clamp(0, 1),
        hr,
    ]
    model.train(was_training)
    return torch.cat(panels, dim=3)[0].cpu()
