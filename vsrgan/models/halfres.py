"""A compact generator whose body runs at half the input's resolution, twice as wide.

The compact net's body, after a 2x2 pixel unshuffle of the input (space to depth, as ESPCN's
shuffle run backwards; FSRCNN and mobile SR nets shrink the grid the same way)::

    x (N, 3, H, W) -> pad to even H, W -> PixelUnshuffle(2) -> (N, 12, H/2, W/2)
      -> conv3x3 12->F, PReLU -> [conv3x3 F->F, PReLU] x num_blocks -> conv3x3 F->4*3*s*s
      -> PixelShuffle(2) -> (N, 3*s*s, H, W) -> + bicubic(x) in phase layout -> PixelShuffle(s)

(the two shuffles at the end are one PixelShuffle(2s) up to the order of the tail's channels).

Why: a 3x3 convolution of width 2F on a quarter of the pixels costs what one of width F costs
on all of them, and sees twice as far: at the compact net's cost the body has 4x the weights and
2x the receptive field, and works on wider, fewer tensors, which CPUs run more efficiently.
The price: every output pixel of a 2x2 cell comes from the same features.

Tiling: the network sees the input in 2x2 cells, so a tile is computed as in the whole frame
when it starts on an even pixel (:func:`vsrgan.inference.tiling.tiled_forward` aligns its windows so).
An odd side is padded by one replicated pixel, cut off again before the bicubic residual.

``reparam=True`` trains each body convolution as :class:`~.compact.RepConv`;
:meth:`HalfResGenerator.fused` folds them for export, as the compact net's.
Cost per input pixel: ``(108 + 9 F num_blocks + 108 s^2) F / 4`` multiply-adds.
"""


import torch
import torch.nn.functional as F
from torch import nn

from .bicubic import Bicubic
from .compact import PRELU_SLOPE, RepConv, folded, plain_conv

CELL = 2  # the body's grid: CELL x CELL input pixels per position


class HalfResGenerator(nn.Module):
    """``(N, 3, H, W)`` in ``[0, 1]`` -> ``(N, 3, sH, sW)``; see the module's docstring."""

    def __init__(self, config, *, act_layer: type[nn.Module] = nn.PReLU):
        super().__init__()
        self.config = config
        c = config
        self.scale = c.scale
        self.act_layer = act_layer
        f = c.num_features
        self.unshuffle = nn.PixelUnshuffle(CELL)
        self.head = plain_conv(c.in_channels * CELL**2, f)
        self.head_act = _act(act_layer, f)
        layers: list[nn.Module] = []
        for _ in range(c.num_blocks):
            layers += [RepConv(f) if c.reparam else plain_conv(f, f), _act(act_layer, f)]
        self.body = nn.Sequential(*layers)
        self.tail = nn.Conv2d(f, c.out_channels * c.scale**2 * CELL**2, 3, padding=1)
        nn.init.normal_(self.tail.weight, std=1e-3)  # near bicubic, not on it: gradients reach the head
        nn.init.zeros_(self.tail.bias)
        self.to_input_grid = nn.PixelShuffle(CELL)
        self.shuffle = nn.PixelShuffle(c.scale)
        self.base = Bicubic(scale=c.scale)

    @property
    def receptive_radius(self) -> int:
        """Input pixels beyond a tile's edge that can change its output: each 3x3 conv reaches one
        cell (2 pixels) further, and a pixel's own cell reaches 1 more; bicubic's 2 is less."""
        return CELL * (self.config.num_blocks + 2) + CELL - 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        y = F.pad(x, (0, w % CELL, 0, h % CELL), mode="replicate")  # (N, 3, H', W'): even sides
        y = self.unshuffle(y)  # (N, 12, H'/2, W'/2)
        y = self.head_act(self.head(y))  # (N, F, H'/2, W'/2)
        y = self.body(y)
        y = self.tail(y)  # (N, 4 * 3 s^2, H'/2, W'/2)
        y = self.to_input_grid(y)[..., :h, :w]  # (N, 3 s^2, H, W)
        y = y + self.base.phases(x)  # the residual over bicubic, phase by phase
        return self.shuffle(y)  # (N, 3, sH, sW)

    def fused(self) -> "HalfResGenerator":
        """The same function with every :class:`RepConv` folded into one conv3x3 (``reparam=False``)."""
        return folded(self, lambda config: HalfResGenerator(config, act_layer=self.act_layer))


def _act(act_layer: type[nn.Module], channels: int) -> nn.Module:
    """PReLU gets one slope per channel, starting at the compact net's; other activations take no arguments."""
    return nn.PReLU(channels, init=PRELU_SLOPE) if act_layer is nn.PReLU else act_layer()
