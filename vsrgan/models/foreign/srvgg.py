"""SRVGGNetCompact, Real-ESRGAN's small video network (realesr-animevideov3: 16 convs,
realesr-general-x4v3: 32 convs, both 64 features), and how to read its weights.

The network (Wang et al. 2021, Real-ESRGAN; written here from the published definition)::

    x (N, 3, H, W) -> conv3x3 3->F, PReLU -> [conv3x3 F->F, PReLU] x num_conv -> conv3x3 F->3 s^2
      -> PixelShuffle(s) -> + nearest(x, s) -> (N, 3, sH, sW)

Every conv runs at the input's resolution, so it tiles exactly with a receptive radius of
``num_conv + 2``. With ``out_scale`` the x``scale`` result is resized bicubically to x``out_scale``
(one more input pixel of radius): how realesr-animevideov3-x2 and -x3 ship for ncnn (the x4
network's weights, then a bicubic downscale in the graph; :mod:`.ncnn`). Its weights name the layers ``body.0`` (the first conv), ``body.1`` (its PReLU),
... ``body.<2 num_conv + 2>`` (the last conv): this module's own names.
"""

import re

import torch
import torch.nn.functional as F
from torch import nn

from ...errors import CheckpointError


class Resize(nn.Module):
    """Bicubic resize by ``num / den`` (half-pixel centres, edges repeated, as ncnn's Interp and PyTorch's)."""

    def __init__(self, *, num: int, den: int):
        super().__init__()
        self.num, self.den = num, den

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        return F.interpolate(x, size=(h * self.num // self.den, w * self.num // self.den), mode="bicubic", align_corners=False)


class SRVGGNetCompact(nn.Module):
    """``(N, 3, H, W)`` in ``[0, 1]`` -> ``(N, 3, sH, sW)``; see the module's docstring."""

    arch = "SRVGGNetCompact"

    def __init__(self, *, num_feat: int = 64, num_conv: int = 16, scale: int = 4, out_scale: int | None = None):
        super().__init__()
        self.hparams = dict(num_feat=num_feat, num_conv=num_conv, scale=scale) | ({"out_scale": out_scale} if out_scale else {})
        self.scale = out_scale or scale
        f = num_feat
        layers: list[nn.Module] = [nn.Conv2d(3, f, 3, padding=1), nn.PReLU(f)]
        for _ in range(num_conv):
            layers += [nn.Conv2d(f, f, 3, padding=1), nn.PReLU(f)]
        layers.append(nn.Conv2d(f, 3 * scale**2, 3, padding=1))
        self.body = nn.Sequential(*layers)
        self.shuffle = nn.PixelShuffle(scale)
        self.base = nn.Upsample(scale_factor=scale, mode="nearest")
        self.resize = Resize(num=out_scale, den=scale) if out_scale and out_scale != scale else nn.Identity()

    @property
    def receptive_radius(self) -> int:
        """Input pixels beyond a tile's edge that can change its output: one per 3x3 conv."""
        resized = not isinstance(self.resize, nn.Identity)  # bicubic taps reach half an input pixel: one more
        return self.hparams["num_conv"] + 2 + int(resized)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)  # (N, 3 s^2, H, W)
        y = self.shuffle(y) + self.base(x)  # (N, 3, sH, sW): the residual over the nearest upscale
        return self.resize(y)  # (N, 3, out_scale H, out_scale W) where out_scale is set


def read_state(state: dict[str, torch.Tensor]) -> tuple[dict, dict[str, torch.Tensor]] | None:
    """``(hyper-parameters, state)`` if ``state`` is an SRVGGNetCompact; None if it is not one."""
    convs = sorted(int(m[1]) for k, v in state.items() if (m := re.match(r"body\.(\d+)\.weight$", k)) and v.ndim == 4)
    if not convs or convs[0] != 0 or "conv_first.weight" in state:
        return None
    num_conv = (convs[-1] - 2) // 2
    if convs != list(range(0, 2 * num_conv + 3, 2)):
        return None  # not a plain stack of convs at even indices
    num_feat, in_channels = state["body.0.weight"].shape[:2]
    if "body.1.weight" not in state:
        raise CheckpointError("an SRVGGNetCompact without PReLU weights (act_type relu or leakyrelu, which its weights "
                              "cannot tell apart); only the PReLU models (realesr-animevideov3, realesr-general-x4v3) load")
    out = state[f"body.{convs[-1]}.weight"].shape[0]
    scale = round((out / 3) ** 0.5)
    if in_channels != 3 or 3 * scale**2 != out:
        raise CheckpointError(f"an SRVGGNetCompact with {in_channels} input and {out} output channels; "
                              "expected 3 in and 3 x scale^2 out (RGB)")
    return dict(num_feat=num_feat, num_conv=num_conv, scale=scale), state
