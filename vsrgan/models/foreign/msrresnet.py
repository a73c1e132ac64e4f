"""MSRResNet, BasicSR's modified SRResNet (residual blocks without batch norm), and how to read
its weights.

The network (Ledig et al. 2017, modified as in BasicSR; written here from the published definition)::

    x (N, 3, H, W) -> conv_first, LeakyReLU(0.1) -> [x + conv2(ReLU(conv1(x)))] x num_block
      -> [conv F->4F (x2, x4) or F->9F (x3), PixelShuffle, LeakyReLU] x (2 at x4, else 1)
      -> conv_hr, LeakyReLU -> conv_last -> + bilinear(x, s) -> (N, 3, sH, sW)

Its weights name the layers ``conv_first``, ``body.N.conv1``, ``body.N.conv2``, ``upconv1``
(``upconv2`` at x4), ``conv_hr``, ``conv_last``; the upsampling stages are renamed to
``upsample.K.0`` here. Receptive radius: one input pixel per conv (fewer after upsampling,
counted as one) and one for the bilinear base.
"""

import re

import torch
import torch.nn.functional as F
from torch import nn

from ...errors import CheckpointError

SLOPE = 0.1  # BasicSR's LeakyReLU in MSRResNet


class ResidualBlock(nn.Module):
    """``x + conv2(ReLU(conv1(x)))``: a residual block without batch norm."""

    def __init__(self, *, num_feat: int):
        super().__init__()
        self.conv1 = nn.Conv2d(num_feat, num_feat, 3, padding=1)
        self.act = nn.ReLU()
        self.conv2 = nn.Conv2d(num_feat, num_feat, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(self.act(self.conv1(x)))


class MSRResNet(nn.Module):
    """``(N, 3, H, W)`` in ``[0, 1]`` -> ``(N, 3, sH, sW)``; see the module's docstring."""

    arch = "MSRResNet"

    def __init__(self, *, num_feat: int = 64, num_block: int = 16, scale: int = 4):
        super().__init__()
        if scale not in (2, 3, 4):
            raise CheckpointError(f"MSRResNet upscales x2, x3 or x4, not x{scale}")
        self.hparams = dict(num_feat=num_feat, num_block=num_block, scale=scale)
        self.scale = scale
        f = num_feat
        self.conv_first = nn.Conv2d(3, f, 3, padding=1)
        self.act = nn.LeakyReLU(SLOPE)
        self.body = nn.Sequential(*[ResidualBlock(num_feat=f) for _ in range(num_block)])
        steps = [2, 2] if scale == 4 else [scale]
        self.upsample = nn.Sequential(*[
            nn.Sequential(nn.Conv2d(f, f * step**2, 3, padding=1), nn.PixelShuffle(step), nn.LeakyReLU(SLOPE))
            for step in steps
        ])
        self.conv_hr = nn.Conv2d(f, f, 3, padding=1)
        self.conv_last = nn.Conv2d(f, 3, 3, padding=1)

    @property
    def receptive_radius(self) -> int:
        """Input pixels beyond a tile's edge that can change its output (see the module's docstring)."""
        return 1 + 2 * self.hparams["num_block"] + len(self.upsample) + 2 + 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = self.act(self.conv_first(x))  # (N, F, H, W)
        feat = self.body(feat)
        feat = self.upsample(feat)  # (N, F, sH, sW)
        out = self.conv_last(self.act(self.conv_hr(feat)))  # (N, 3, sH, sW)
        return out + F.interpolate(x, scale_factor=self.scale, mode="bilinear", align_corners=False)


def read_state(state: dict[str, torch.Tensor]) -> tuple[dict, dict[str, torch.Tensor]] | None:
    """``(hyper-parameters, state in this module's names)`` if ``state`` is an MSRResNet; None if it is not one."""
    if not {"conv_first.weight", "body.0.conv1.weight", "upconv1.weight", "conv_last.weight"} <= state.keys():
        return None
    num_feat, in_channels = state["conv_first.weight"].shape[:2]
    ratio = state["upconv1.weight"].shape[0] // num_feat
    scale = 4 if "upconv2.weight" in state else {4: 2, 9: 3}.get(ratio)
    if in_channels != 3 or scale is None or state["conv_last.weight"].shape[0] != 3:
        raise CheckpointError(f"an MSRResNet with {in_channels} input channels and upconv1 of {ratio} x {num_feat} "
                              "channels; expected RGB at x2, x3 or x4")
    hparams = dict(num_feat=num_feat, num_block=len({k.split(".")[1] for k in state if k.startswith("body.")}), scale=scale)
    return hparams, {re.sub(r"^upconv(\d)\.", lambda m: f"upsample.{int(m[1]) - 1}.0.", k): v for k, v in state.items()}
