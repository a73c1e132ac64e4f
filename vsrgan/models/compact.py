"""A compact generator for CPUs: plain 3x3 convolutions at the input's resolution.

After Real-ESRGAN's SRVGGNetCompact, with the bicubic upscale of the input as its base (the
network learns only the residual over bicubic, as VDSR)::

    x (N, 3, H, W) -> conv3x3 3->F, PReLU -> [conv3x3 F->F, PReLU] x num_blocks
      -> conv3x3 F->3*s*s -> + bicubic(x) in phase layout -> PixelShuffle(s) -> (N, 3, sH, sW)

(adding the bicubic upscale before the shuffle, as its ``s*s`` phases, is the same sum and
saves PyTorch's slow bicubic kernel: :mod:`vsrgan.models.bicubic`)

With ``in_frames = 2k + 1`` the input is frames ``t-k .. t+k`` stacked on the channels
(``(N, 3 (2k+1), H, W)``, early fusion, no alignment: the body's receptive field covers the small
motion between neighbouring frames) and the output is frame ``t``, over frame ``t``'s bicubic
upscale. Only the head convolution grows (``27 (2k+1)`` instead of 27 multiply-adds per feature),
so a single-frame net is the multi-frame one with zero head weights on the neighbours
(:func:`with_frames`): the two can be blended weight for weight.

Every convolution runs at the input's resolution and nothing else does, so its cost per frame is
one number (``(27 + 9 F (num_blocks) + 27 s^2) F`` multiply-adds per input pixel) and it tiles
exactly with a receptive radius of ``num_blocks + 2``.

``reparam=True`` trains each body convolution with two more branches beside it, a 1x1
convolution and the identity (RepVGG, Ding et al. 2021; ECBSR, Zhang et al. 2021). They are
linear, so :meth:`CompactGenerator.fused` folds them into the 3x3 kernel: the exported network is
the plain one, at the plain one's speed. The identity branch also lets a deep plain stack train
from the first step (its signal passes through every layer at init).

Init: Kaiming for PReLU's slope (0.25) in the plain branches; the reparam branches start small
(the identity carries the signal); the last convolution starts small but not zero, so that
gradients reach the first layers at step one (a zero last layer left the first layer's gradient
at 1e-10 and the network on the bicubic plateau).
"""

import math
from dataclasses import replace

import torch
import torch.nn.functional as F
from torch import nn

from .bicubic import Bicubic

PRELU_SLOPE = 0.25


class RepConv(nn.Module):
    """conv3x3 + conv1x1 + identity while training; :meth:`fused` gives the single conv3x3."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv3 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv1 = nn.Conv2d(channels, channels, 1)
        gain = nn.init.calculate_gain("leaky_relu", PRELU_SLOPE)
        for conv, fan_in in ((self.conv3, 9 * channels), (self.conv1, channels)):
            nn.init.normal_(conv.weight, std=0.1 * gain / math.sqrt(fan_in))  # small: the identity leads
            nn.init.zeros_(conv.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv3(x) + self.conv1(x) + x

    @torch.no_grad()
    def fused(self) -> nn.Conv2d:
        c = self.conv3.in_channels
        conv = nn.Conv2d(c, c, 3, padding=1).to(self.conv3.weight)
        kernel = self.conv3.weight + F.pad(self.conv1.weight, (1, 1, 1, 1))
        kernel[torch.arange(c), torch.arange(c), 1, 1] += 1  # the identity
        conv.weight.copy_(kernel)
        conv.bias.copy_(self.conv3.bias + self.conv1.bias)
        return conv


def plain_conv(cin: int, cout: int) -> nn.Conv2d:
    conv = nn.Conv2d(cin, cout, 3, padding=1)
    nn.init.kaiming_normal_(conv.weight, a=PRELU_SLOPE, nonlinearity="leaky_relu")
    nn.init.zeros_(conv.bias)
    return conv


class CompactGenerator(nn.Module):
    """``(N, 3, H, W)`` in ``[0, 1]`` -> ``(N, 3, sH, sW)``; see the module's docstring."""

    def __init__(self, config):
        super().__init__()
        self.config = config
        c = config
        self.scale = c.scale
        f = c.num_features
        self.head = plain_conv(c.in_channels * c.in_frames, f)
        self.head_act = nn.PReLU(f, init=PRELU_SLOPE)
        layers: list[nn.Module] = []
        for _ in range(c.num_blocks):
            layers += [RepConv(f) if c.reparam else plain_conv(f, f), nn.PReLU(f, init=PRELU_SLOPE)]
        self.body = nn.Sequential(*layers)
        self.tail = nn.Conv2d(f, c.out_channels * c.scale**2, 3, padding=1)
        nn.init.normal_(self.tail.weight, std=1e-3)
        nn.init.zeros_(self.tail.bias)
        self.shuffle = nn.PixelShuffle(c.scale)
        self.base = Bicubic(scale=c.scale)

    @property
    def receptive_radius(self) -> int:
        """Input pixels beyond a tile's edge that can change its output: one per 3x3 conv, and bicubic's 2."""
        return self.config.num_blocks + 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.head_act(self.head(x))  # (N, F, H, W)
        y = self.body(y)
        y = self.tail(y) + self.base.phases(centre_frame(x, self.config.in_frames))  # (N, 3 s^2, H, W): the residual over bicubic, phase by phase
        return self.shuffle(y)  # (N, 3, sH, sW)

    @torch.no_grad()
    def fused(self) -> "CompactGenerator":
        """The same function with every :class:`RepConv` folded into one conv3x3 (``reparam=False``)."""
        return folded(self, CompactGenerator)


def centre_channels(channels: int, frames: int) -> slice:
    """Which of ``channels`` channels, ``frames`` frames stacked, hold the middle frame."""
    c = channels // frames
    return slice(c * (frames // 2), c * (frames // 2 + 1))


def centre_frame(x: torch.Tensor, frames: int) -> torch.Tensor:
    """The middle frame of ``frames`` stacked on the channels of ``(..., C frames, H, W)``: ``(..., C, H, W)``."""
    return x if frames == 1 else x[..., centre_channels(x.shape[-3], frames), :, :]


@torch.no_grad()
def with_frames(state: dict[str, torch.Tensor], frames: int) -> dict[str, torch.Tensor]:
    """A single-frame compact net's state dict made a ``frames``-frame one's: the head sees the
    centre frame with the old weights and every neighbour with zeros, so the output is the same."""
    head = state["head.weight"]  # (F, C, 3, 3)
    grown = head.new_zeros(head.shape[0], head.shape[1] * frames, *head.shape[2:])
    grown[:, centre_channels(grown.shape[1], frames)] = head
    return {**state, "head.weight": grown}


@torch.no_grad()
def folded(model: nn.Module, build) -> nn.Module:
    """A re-parameterised generator (``config.reparam``) rebuilt by ``build(config)`` with plain
    convolutions and its folded weights, in its training mode; a plain one as it is. Every CPU
    generator's ``fused()``."""
    if not model.config.reparam:
        return model
    plain = build(replace(model.config, reparam=False)).to(model.tail.weight)
    plain.load_state_dict(folded_state(model))
    return plain.train(model.training)


@torch.no_grad()
def folded_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """``model``'s state dict with each :class:`RepConv` replaced by its folded conv3x3: the state
    dict of the same network built with plain convolutions where the RepConvs are."""
    repconvs = {name: module for name, module in model.named_modules() if isinstance(module, RepConv)}
    inside = tuple(f"{name}." for name in repconvs)
    state = {key: value for key, value in model.state_dict().items() if not key.startswith(inside)}
    for name, module in repconvs.items():
        conv = module.fused()
        state[f"{name}.weight"], state[f"{name}.bias"] = conv.weight, conv.bias
    return state
