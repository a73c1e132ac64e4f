"""The SRGAN discriminator, with the seed's per-position head or the paper's flattened head.

Eight 3x3 convolutions widen 64 -> 512 and halve the resolution every other layer, each
followed by BatchNorm (except the first) and LeakyReLU(0.2); then dense 1024, LeakyReLU, dense 1.

Heads:

- ``"patch"``: the seed's Keras model comments out ``Flatten``, so its Dense layers act on every
  spatial position; here they are 1x1 convolutions and the output is one score per position,
  ``(N, 1, H/16, W/16)``.
- ``"flatten"``: the paper's: features pooled to 6x6 (exactly the paper's map for a 96-pixel
  crop, so pooling is the identity there), flattened, dense 1024, dense 1: ``(N, 1)``.

``forward`` returns logits. The final sigmoid is part of the loss (binary cross-entropy with
logits is the same function as sigmoid + BCE, computed without overflow), and the
relativistic loss needs the logits anyway. :meth:`probability` applies it.
"""

import torch
from torch import nn

from ..errors import ConfigError

HEADS = ("patch", "flatten")
DISCRIMINATOR_HEAD = "flatten"  # the default, here and in the training config: the paper's


def _block(in_channels: int, out_channels: int, stride: int, norm: bool) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1),
        nn.BatchNorm2d(out_channels) if norm else nn.Identity(),
        nn.LeakyReLU(0.2),
    )


class Discriminator(nn.Module):
    def __init__(self, *, in_channels: int = 3, num_features: int = 64, head: str = DISCRIMINATOR_HEAD):
        super().__init__()
        if head not in HEADS:
            raise ConfigError(f"discriminator head must be one of {HEADS}, got {head!r}")
        f = num_features
        widths = [f, f, 2 * f, 2 * f, 4 * f, 4 * f, 8 * f, 8 * f]  # 64 -> 512
        layers, channels = [], in_channels
        for i, width in enumerate(widths):
            stride = 2 if i % 2 == 1 else 1  # stride 2 every other layer
            layers.append(_block(channels, width, stride, norm=i > 0))
            channels = width
        self.features = nn.Sequential(*layers)  # (N, 512, H/16, W/16)

        if head == "patch":
            self.pool = nn.Identity()
            self.flatten = nn.Identity()
            self.dense1 = nn.Conv2d(channels, 1024, 1)
            self.dense2 = nn.Conv2d(1024, 1, 1)
        else:
            self.pool = nn.AdaptiveAvgPool2d(6)
            self.flatten = nn.Flatten()
            self.dense1 = nn.Linear(channels * 36, 1024)
            self.dense2 = nn.Linear(1024, 1)
        self.act = nn.LeakyReLU(0.2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 3, H, W)`` in ``[0, 1]`` -> logits ``(N, 1, H/16, W/16)`` or ``(N, 1)``."""
        x = x * 2 - 1
        x = self.features(x)
        x = self.pool(x)
        x = self.flatten(x)
        x = self.dense1(x)
        x = self.act(x)
        x = self.dense2(x)
        return x

    def probability(self, x: torch.Tensor) -> torch.Tensor:
        """The seed's sigmoid output: the probability that ``x`` is a real image."""
        return torch.sigmoid(self(x))
