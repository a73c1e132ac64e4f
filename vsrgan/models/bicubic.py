"""Bicubic interpolation as a model, so every pipeline runs without trained weights."""

import torch
import torch.nn.functional as F
from torch import nn


class Bicubic(nn.Module):
    """``(N, 3, H, W)`` in ``[0, 1]`` -> ``(N, 3, sH, sW)``: PyTorch's bicubic (a = -0.75), clamped."""

    receptive_radius = 2

    def __init__(self, *, scale: int = 4):
        super().__init__()
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, scale_factor=self.scale, mode="bicubic", align_corners=False)
        return x.clamp(0, 1)
