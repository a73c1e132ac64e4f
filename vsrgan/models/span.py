"""SPAN for CPUs: 3x3 convolutions with a parameter-free attention, over bicubic.

After SPAN (Wan et al., "Swift Parameter-free Attention Network for Efficient Super-Resolution",
NTIRE 2024 efficient SR). Each block is three 3x3 convolutions whose output ``y`` gates itself
plus the block's input through a symmetric activation, with no weights of its own::

    block(x) = (y + x) * (sigmoid(y) - 1/2),   y = conv(act(conv(act(conv(x)))))

The network, at the input's resolution throughout (so it tiles exactly, as the compact net)::

    x (N, 3, H, W) -> conv3x3 3->F = feature -> block = first -> block x (num_blocks - 1) = last
      -> conv3x3 F->F -> conv1x1 over [feature, last, first, that] 4F->F -> conv3x3 F->3*s*s
      -> + bicubic(x) in phase layout -> PixelShuffle(s) -> (N, 3, sH, sW)

``reparam=True`` trains every F->F 3x3 convolution as :class:`~.compact.RepConv` (3x3 + 1x1 +
identity, the paper's Conv3XC in spirit); :meth:`SpanGenerator.fused` folds them for export.
Cost per input pixel: ``(27 + 9 F (3 num_blocks + 1) + 4 F + 27 s^2) F`` multiply-adds.
"""


import torch
from torch import nn

from .bicubic import Bicubic
from .compact import RepConv, folded, plain_conv


def _conv(channels: int, *, reparam: bool) -> nn.Module:
    return RepConv(channels) if reparam else plain_conv(channels, channels)


class SpanBlock(nn.Module):
    """Three 3x3 convolutions, then ``(y + x) * (sigmoid(y) - 1/2)``: the attention has no parameters."""

    def __init__(self, *, channels: int, reparam: bool, act_layer: type[nn.Module] = nn.SiLU):
        super().__init__()
        self.conv1 = _conv(channels, reparam=reparam)
        self.act1 = act_layer()
        self.conv2 = _conv(channels, reparam=reparam)
        self.act2 = act_layer()
        self.conv3 = _conv(channels, reparam=reparam)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv1(x)  # (N, F, H, W)
        y = self.act1(y)
        y = self.conv2(y)
        y = self.act2(y)
        y = self.conv3(y)
        attention = torch.sigmoid(y) - 0.5  # symmetric about 0: the sign of y survives the gate
        return (y + x) * attention


class SpanGenerator(nn.Module):
    """``(N, 3, H, W)`` in ``[0, 1]`` -> ``(N, 3, sH, sW)``; see the module's docstring."""

    def __init__(self, config, *, act_layer: type[nn.Module] = nn.SiLU):
        super().__init__()
        self.config = config
        c = config
        self.scale = c.scale
        self.act_layer = act_layer
        f = c.num_features
        self.head = plain_conv(c.in_channels, f)
        self.first = SpanBlock(channels=f, reparam=c.reparam, act_layer=act_layer)
        self.blocks = nn.Sequential(*[SpanBlock(channels=f, reparam=c.reparam, act_layer=act_layer) for _ in range(c.num_blocks - 1)])
        self.body = _conv(f, reparam=c.reparam)
        self.mix = nn.Conv2d(4 * f, f, 1)
        self.tail = nn.Conv2d(f, c.out_channels * c.scale**2, 3, padding=1)
        nn.init.normal_(self.tail.weight, std=1e-3)  # near bicubic, not on it: gradients reach the head
        nn.init.zeros_(self.tail.bias)
        self.shuffle = nn.PixelShuffle(c.scale)
        self.base = Bicubic(scale=c.scale)

    @property
    def receptive_radius(self) -> int:
        """Input pixels beyond a tile's edge that can change its output: one per 3x3 conv on the
        longest path (head, 3 per block, body, tail); bicubic's 2 is less."""
        return 3 * self.config.num_blocks + 3

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feature = self.head(x)  # (N, F, H, W)
        first = self.first(feature)
        last = self.blocks(first)
        y = self.body(last)
        y = torch.cat([feature, last, first, y], dim=1)  # (N, 4F, H, W)
        y = self.mix(y)  # (N, F, H, W)
        y = self.tail(y) + self.base.phases(x)  # (N, 3 s^2, H, W): the residual over bicubic
        return self.shuffle(y)  # (N, 3, sH, sW)

    def fused(self) -> "SpanGenerator":
        """The same function with every :class:`RepConv` folded into one conv3x3 (``reparam=False``)."""
        return folded(self, lambda config: SpanGenerator(config, act_layer=self.act_layer))
