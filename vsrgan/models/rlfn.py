"""RLFN for CPUs: residual local feature blocks with a light spatial attention, over bicubic.

After RLFN (Kong et al., "Residual Local Feature Network for Efficient Super-Resolution",
NTIRE 2022 efficient SR). A block is three 3x3 convolutions with a local residual, a 1x1
convolution, and ESA, an enhanced spatial attention (Liu et al., RFANet 2020) that gates the
features by a sigmoid mask computed from a 16-channel squeeze of them::

    block(x) = esa(conv1x1(x + act(conv(act(conv(act(conv(x))))))))
    esa(x)   = x * sigmoid(conv1x1(conv3x3(maxpool7(conv3x3(c))) + conv1x1(c))),  c = conv1x1(x)

One change from the paper, for exact tiling: the paper's ESA shrinks its map (a stride-2
convolution, a 7x7 max-pool of stride 3) and interpolates the mask back to the frame's size,
which makes the mask depend on where the frame starts and how big it is. Here every step of ESA
runs at stride 1, so the network is translation-equivariant and has a receptive radius.

The network::

    x (N, 3, H, W) -> conv3x3 3->F = feature -> block x num_blocks -> conv3x3 F->F -> + feature
      -> conv3x3 F->3*s*s -> + bicubic(x) in phase layout -> PixelShuffle(s) -> (N, 3, sH, sW)

``reparam=True`` (not in the paper) trains the three F->F convolutions of each block as
:class:`~.compact.RepConv`; :meth:`RlfnGenerator.fused` folds them for export.
"""

from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

from .bicubic import Bicubic
from .compact import RepConv, folded, plain_conv

ESA_CHANNELS = 16  # the paper's
POOL = 7  # ESA's max-pool window
LEAKY_RELU = partial(nn.LeakyReLU, 0.05)  # the paper's activation


def _conv(channels: int, *, reparam: bool) -> nn.Module:
    return RepConv(channels) if reparam else plain_conv(channels, channels)


class ESA(nn.Module):
    """Enhanced spatial attention, every step at stride 1: ``x * mask``, ``mask`` in ``(0, 1)``."""

    def __init__(self, *, channels: int, esa_channels: int = ESA_CHANNELS):
        super().__init__()
        self.squeeze = nn.Conv2d(channels, esa_channels, 1)
        self.conv1 = nn.Conv2d(esa_channels, esa_channels, 3, padding=1)
        self.conv2 = nn.Conv2d(esa_channels, esa_channels, 3, padding=1)
        self.local = nn.Conv2d(esa_channels, esa_channels, 1)
        self.expand = nn.Conv2d(esa_channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = self.squeeze(x)  # (N, E, H, W)
        y = self.conv1(c)
        y = F.max_pool2d(y, (POOL, 1), stride=1, padding=(POOL // 2, 0))  # the widest view, at no cost in
        y = F.max_pool2d(y, (1, POOL), stride=1, padding=(0, POOL // 2))  # weights: a 7x7 max, as 7x1 then 1x7 (1.7x faster)
        y = self.conv2(y)
        y = y + self.local(c)
        mask = torch.sigmoid(self.expand(y))  # (N, F, H, W)
        return x * mask


class RlfBlock(nn.Module):
    """Residual local feature block: three 3x3 convolutions and the input, a 1x1, then :class:`ESA`."""

    def __init__(self, *, channels: int, reparam: bool, act_layer=LEAKY_RELU):
        super().__init__()
        self.conv1 = _conv(channels, reparam=reparam)
        self.act1 = act_layer()
        self.conv2 = _conv(channels, reparam=reparam)
        self.act2 = act_layer()
        self.conv3 = _conv(channels, reparam=reparam)
        self.act3 = act_layer()
        self.mix = nn.Conv2d(channels, channels, 1)
        self.esa = ESA(channels=channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv1(x)  # (N, F, H, W)
        y = self.act1(y)
        y = self.conv2(y)
        y = self.act2(y)
        y = self.conv3(y)
        y = self.act3(y)
        y = self.mix(y + x)
        return self.esa(y)


class RlfnGenerator(nn.Module):
    """``(N, 3, H, W)`` in ``[0, 1]`` -> ``(N, 3, sH, sW)``; see the module's docstring."""

    def __init__(self, config, *, act_layer=LEAKY_RELU):
        super().__init__()
        self.config = config
        c = config
        self.scale = c.scale
        self.act_layer = act_layer
        f = c.num_features
        self.head = plain_conv(c.in_channels, f)
        self.blocks = nn.Sequential(*[RlfBlock(channels=f, reparam=c.reparam, act_layer=act_layer) for _ in range(c.num_blocks)])
        self.body = plain_conv(f, f)
        self.tail = nn.Conv2d(f, c.out_channels * c.scale**2, 3, padding=1)
        nn.init.normal_(self.tail.weight, std=1e-3)  # near bicubic, not on it: gradients reach the head
        nn.init.zeros_(self.tail.bias)
        self.shuffle = nn.PixelShuffle(c.scale)
        self.base = Bicubic(scale=c.scale)

    @property
    def receptive_radius(self) -> int:
        """Input pixels beyond a tile's edge that can change its output: per block 3 for its convs
        and 1 + 3 + 1 for ESA's conv, max-pool and conv; 1 each for head, body and tail."""
        return (3 + 1 + POOL // 2 + 1) * self.config.num_blocks + 3

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feature = self.head(x)  # (N, F, H, W)
        y = self.blocks(feature)
        y = self.body(y) + feature
        y = self.tail(y) + self.base.phases(x)  # (N, 3 s^2, H, W): the residual over bicubic
        return self.shuffle(y)  # (N, 3, sH, sW)

    def fused(self) -> "RlfnGenerator":
        """The same function with every :class:`RepConv` folded into one conv3x3 (``reparam=False``)."""
        return folded(self, lambda config: RlfnGenerator(config, act_layer=self.act_layer))
