"""SRResNet, the SRGAN generator (Ledig et al. 2017), in the seed's and the paper's variants.

Value contract: ``forward`` takes ``(N, 3, H, W)`` float in ``[0, 1]`` and returns
``(N, 3, scale*H, scale*W)`` float in ``[0, 1]``. Inside, the input is mapped to ``[-1, 1]`` and
the ``tanh`` output is mapped back, so callers never see the network's own range:
``output = base + tanh(...) / 2`` where ``base`` is 0.5 everywhere (the paper's SRResNet, so the
output is exactly ``(tanh + 1) / 2``), or, with ``skip="bicubic"``, the bicubic upscale of the
input: the network then learns only the residual over bicubic (VDSR's global residual), starts
at bicubic quality (its last convolution is zero-initialised) and may step outside ``[0, 1]`` by
the residual; :class:`vsrgan.inference.upscaler.Upscaler` clamps.

Two upsampling variants, per x2 step:

- ``"nearest"`` (the seed's Keras model): conv 3x3 -> 256, nearest-neighbour x2, LeakyReLU(0.2);
  3x3 first and last convolutions.
- ``"pixelshuffle"`` (the paper's): conv 3x3 64 -> 256, PixelShuffle x2 (256 -> 64 channels),
  PReLU; 9x9 first and last convolutions.
"""

from dataclasses import asdict, dataclass

import torch
from torch import nn

from ..errors import ConfigError
from .bicubic import Bicubic
from .compact import CompactGenerator
from .halfres import HalfResGenerator
from .rlfn import RlfnGenerator
from .span import SpanGenerator

ARCHS = ("srresnet", "compact", "span", "rlfn", "halfres")
OVER_BICUBIC = ("compact", "span", "rlfn", "halfres")  # the CPU nets: always the residual over bicubic, reparam allowed
UPSAMPLE_MODES = ("nearest", "pixelshuffle")
SKIPS = ("none", "bicubic")


@dataclass(frozen=True)
class GeneratorConfig:
    """Everything needed to rebuild a generator; stored beside its weights."""

    scale: int = 4  # 2 or 4: one or two x2 upsampling steps
    upsample: str = "pixelshuffle"  # "pixelshuffle" (paper) or "nearest" (seed)
    num_features: int = 64  # width of every body convolution
    num_blocks: int = 16  # residual blocks, as the paper
    in_channels: int = 3
    out_channels: int = 3
    in_frames: int = 1  # compact: frames t-k .. t+k stacked on the channels (odd); the output is frame t
    skip: str = "none"  # "none" (paper) or "bicubic": learn the residual over a bicubic upscale
    arch: str = "srresnet"  # "srresnet" (this module), or a CPU net, always over bicubic: "compact" (models/compact.py:
    # num_blocks plain convs), "span" (span.py: num_blocks blocks of 3 convs + parameter-free attention),
    # "rlfn" (rlfn.py: num_blocks blocks of 3 convs + ESA), "halfres" (halfres.py: compact's body at half resolution)
    reparam: bool = False  # the CPU nets: train with 1x1 and identity branches, folded away on export

    def __post_init__(self):
        if self.scale not in (2, 4):
            raise ConfigError(f"generator scale must be 2 or 4, got {self.scale}")
        if self.upsample not in UPSAMPLE_MODES:
            raise ConfigError(f"upsample must be one of {UPSAMPLE_MODES}, got {self.upsample!r}")
        if self.skip not in SKIPS:
            raise ConfigError(f"skip must be one of {SKIPS}, got {self.skip!r}")
        if self.arch not in ARCHS:
            raise ConfigError(f"arch must be one of {ARCHS}, got {self.arch!r}")
        if self.arch in OVER_BICUBIC and self.skip != "bicubic":
            raise ConfigError(f"arch = {self.arch} always learns the residual over bicubic; set skip = bicubic")
        if self.reparam and self.arch not in OVER_BICUBIC:
            raise ConfigError(f"reparam is for arch = {', '.join(OVER_BICUBIC)}; {self.arch} has no branches to fold")
        if self.num_features < 1 or self.num_blocks < 0:
            raise ConfigError("num_features must be >= 1 and num_blocks >= 0")
        if self.in_frames < 1 or self.in_frames % 2 == 0 or (self.in_frames > 1 and self.arch != "compact"):
            raise ConfigError(f"in_frames must be odd (the centre frame is the one upscaled), and above 1 only for arch = compact; got {self.in_frames} with {self.arch}")
        if self.arch in ("span", "rlfn") and self.num_blocks < 1:
            raise ConfigError(f"arch = {self.arch} needs num_blocks >= 1, got {self.num_blocks}")

    def to_dict(self) -> dict:
        return asdict(self)


class ResidualBlock(nn.Module):
    """conv3x3 - BN - PReLU - conv3x3 - BN, plus the identity."""

    def __init__(self, *, num_features: int = 64):
        super().__init__()
        self.conv1 = nn.Conv2d(num_features, num_features, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(num_features)
        self.act = nn.PReLU(num_features)
        self.conv2 = nn.Conv2d(num_features, num_features, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(num_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x
        x = self.conv1(x)
        x = self.bn1(x)
        x = self.act(x)
        x = self.conv2(x)
        x = self.bn2(x)
        return x + shortcut


class UpsampleBlock(nn.Module):
    """One x2 step: conv to 256 channels, then enlarge, then activate."""

    def __init__(self, *, in_channels: int, mode: str):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, 256, 3, padding=1)
        if mode == "pixelshuffle":
            self.enlarge = nn.PixelShuffle(2)  # (N, 256, H, W) -> (N, 64, 2H, 2W)
            self.act = nn.PReLU(64)
        else:
            self.enlarge = nn.Upsample(scale_factor=2, mode="nearest")  # (N, 256, 2H, 2W)
            self.act = nn.LeakyReLU(0.2)
        self.out_channels = 64 if mode == "pixelshuffle" else 256

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        x = self.enlarge(x)
        x = self.act(x)
        return x


class Half(nn.Module):
    """The paper's base: 0.5 everywhere, so that ``base + tanh / 2`` maps [-1, 1] onto [0, 1]."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.new_tensor(0.5)


def build_generator(config: GeneratorConfig) -> nn.Module:
    """The network ``config.arch`` names, built from ``config``."""
    classes = {
        "srresnet": Generator,
        "compact": CompactGenerator,
        "span": SpanGenerator,
        "rlfn": RlfnGenerator,
        "halfres": HalfResGenerator,
    }
    return classes[config.arch](config)


class Generator(nn.Module):
    """SRResNet: head, residual body with a global skip, x2 upsampling steps, tail, tanh."""

    def __init__(self, config: GeneratorConfig | None = None, **kwargs):
        super().__init__()
        self.config = config or GeneratorConfig(**kwargs)
        c = self.config
        if c.arch != "srresnet":
            raise ConfigError(f"Generator is the srresnet; build arch {c.arch!r} with build_generator")
        outer_kernel = 9 if c.upsample == "pixelshuffle" else 3
        self.scale = c.scale

        self.head = nn.Conv2d(c.in_channels, c.num_features, outer_kernel, padding=outer_kernel // 2)
        self.head_act = nn.PReLU(c.num_features)
        self.body = nn.Sequential(*[ResidualBlock(num_features=c.num_features) for _ in range(c.num_blocks)])
        self.body_conv = nn.Conv2d(c.num_features, c.num_features, 3, padding=1)
        self.body_bn = nn.BatchNorm2d(c.num_features)

        steps, channels = [], c.num_features
        for _ in range(c.scale // 2):
            step = UpsampleBlock(in_channels=channels, mode=c.upsample)
            steps.append(step)
            channels = step.out_channels
        self.upsample = nn.Sequential(*steps)
        self.tail = nn.Conv2d(channels, c.out_channels, outer_kernel, padding=outer_kernel // 2)
        self.base = Bicubic(scale=c.scale) if c.skip == "bicubic" else Half()
        if c.skip == "bicubic":  # start exactly at bicubic
            nn.init.zeros_(self.tail.weight)
            nn.init.zeros_(self.tail.bias)

    @property
    def receptive_radius(self) -> int:
        """How many input pixels beyond a tile's edge can change its output (for exact tiling)."""
        c = self.config
        outer = 4 if c.upsample == "pixelshuffle" else 1
        # head + 2 convs per block + body conv, all at input resolution; each upsample conv and
        # the tail act at a finer grid, so they reach at most one more input pixel each.
        return outer + 2 * c.num_blocks + 1 + len(self.upsample) + 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        base = self.base(x)  # 0.5, or (N, 3, sH, sW) bicubic
        x = x * 2 - 1  # (N, 3, H, W) in [-1, 1]
        x = self.head(x)
        x = self.head_act(x)  # (N, F, H, W)
        skip = x
        x = self.body(x)
        x = self.body_conv(x)
        x = self.body_bn(x)
        x = x + skip
        x = self.upsample(x)  # (N, 64 or 256, sH, sW)
        x = self.tail(x)
        x = torch.tanh(x)  # (N, 3, sH, sW) in [-1, 1]
        return base + x / 2
