"""RRDBNet, the generator of ESRGAN and Real-ESRGAN (RealESRGAN_x4plus, x2plus, anime_6B), and
how its weights name their layers in the three layouts people have.

The network (Wang et al. 2018, "ESRGAN"; written here from the published definition)::

    x (N, 3, H, W) -> pad to a multiple of u, PixelUnshuffle(u) -> (N, 3u^2, H/u, W/u)
      -> conv_first -> [RRDB] x num_block -> conv_body, + the conv_first features
      -> [nearest x2 -> conv, LeakyReLU(0.2)] x num_up -> conv_hr, LeakyReLU -> conv_last
      -> (N, 3, sH, sW), the padding cut off; s = 2^num_up / u

An RRDB is three residual dense blocks (five 3x3 convs, each seeing the block's input and every
earlier conv's output), its residual scaled by 0.2 as each block's. Real-ESRGAN's x2 and x1
models run the x4 network on a pixel-unshuffled input (u = 2 and 4: 12 and 48 input channels).

Layouts of the same weights (all read by :func:`read_state`, renamed to this module's names):

- BasicSR / Real-ESRGAN: ``conv_first``, ``body.N.rdb1.conv1``, ``conv_body``, ``conv_up1``,
  ``conv_up2``, ``conv_hr``, ``conv_last``;
- the ESRGAN repository's: ``conv_first``, ``RRDB_trunk.N.RDB1.conv1``, ``trunk_conv``,
  ``upconv1``, ``HRconv``, ``conv_last``;
- the original ESRGAN's sequential one: ``model.0``, ``model.1.sub.N.RDB1.conv1.0``,
  ``model.1.sub.<num_block>`` (the trunk conv), then the upsampling convs (``model.3``,
  ``model.6`` at x4), the HR conv and the last conv (``model.8``, ``model.10`` at x4).

Tiling: the body sees the input in u x u cells, so tiles must start on a multiple of u
(:mod:`vsrgan.inference.tiling` aligns its windows to 4); :attr:`RRDBNet.receptive_radius`
counts every conv as one cell and adds a cell for the padding of a window's ragged edge.
"""

import re

import torch
import torch.nn.functional as F
from torch import nn

from ...errors import CheckpointError

SLOPE = 0.2  # ESRGAN's LeakyReLU
RESIDUAL = 0.2  # the scale of each dense block's and each RRDB's residual
CONVS_PER_RRDB = 15  # the longest path through an RRDB: 3 dense blocks x 5 convs


class DenseBlock(nn.Module):
    """Five 3x3 convs, each on the concatenation of the input and every earlier output."""

    def __init__(self, *, num_feat: int, num_grow_ch: int):
        super().__init__()
        f, g = num_feat, num_grow_ch
        self.conv1 = nn.Conv2d(f, g, 3, padding=1)
        self.conv2 = nn.Conv2d(f + g, g, 3, padding=1)
        self.conv3 = nn.Conv2d(f + 2 * g, g, 3, padding=1)
        self.conv4 = nn.Conv2d(f + 3 * g, g, 3, padding=1)
        self.conv5 = nn.Conv2d(f + 4 * g, f, 3, padding=1)
        self.act = nn.LeakyReLU(SLOPE)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1 = self.act(self.conv1(x))  # (N, G, H, W)
        x2 = self.act(self.conv2(torch.cat((x, x1), 1)))
        x3 = self.act(self.conv3(torch.cat((x, x1, x2), 1)))
        x4 = self.act(self.conv4(torch.cat((x, x1, x2, x3), 1)))
        x5 = self.conv5(torch.cat((x, x1, x2, x3, x4), 1))  # (N, F, H, W)
        return x + RESIDUAL * x5


class RRDB(nn.Module):
    """Residual in residual dense block: three dense blocks, their result a scaled residual."""

    def __init__(self, *, num_feat: int, num_grow_ch: int):
        super().__init__()
        self.rdb1 = DenseBlock(num_feat=num_feat, num_grow_ch=num_grow_ch)
        self.rdb2 = DenseBlock(num_feat=num_feat, num_grow_ch=num_grow_ch)
        self.rdb3 = DenseBlock(num_feat=num_feat, num_grow_ch=num_grow_ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + RESIDUAL * self.rdb3(self.rdb2(self.rdb1(x)))


class RRDBNet(nn.Module):
    """``(N, 3, H, W)`` in ``[0, 1]`` -> ``(N, 3, sH, sW)``; see the module's docstring."""

    arch = "RRDBNet"

    def __init__(self, *, num_feat: int = 64, num_grow_ch: int = 32, num_block: int = 23, num_up: int = 2, unshuffle: int = 1):
        super().__init__()
        self.hparams = dict(num_feat=num_feat, num_grow_ch=num_grow_ch, num_block=num_block, num_up=num_up, unshuffle=unshuffle)
        if 2**num_up % unshuffle:
            raise CheckpointError(f"RRDBNet: {num_up} x2 upsampling steps after a {unshuffle}x unshuffle is no integer scale")
        self.scale = 2**num_up // unshuffle
        self.cell = unshuffle
        self.unshuffle = nn.PixelUnshuffle(unshuffle)
        f = num_feat
        self.conv_first = nn.Conv2d(3 * unshuffle**2, f, 3, padding=1)
        self.body = nn.Sequential(*[RRDB(num_feat=f, num_grow_ch=num_grow_ch) for _ in range(num_block)])
        self.conv_body = nn.Conv2d(f, f, 3, padding=1)
        self.upsample = nn.Sequential(*[
            nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(f, f, 3, padding=1), nn.LeakyReLU(SLOPE))
            for _ in range(num_up)
        ])
        self.conv_hr = nn.Conv2d(f, f, 3, padding=1)
        self.act = nn.LeakyReLU(SLOPE)
        self.conv_last = nn.Conv2d(f, 3, 3, padding=1)

    @property
    def receptive_radius(self) -> int:
        """Input pixels beyond a tile's edge that can change its output: each conv reaches one
        cell (after nearest upsampling too), plus one cell for a window padded to whole cells."""
        convs = 1 + CONVS_PER_RRDB * self.hparams["num_block"] + 1 + self.hparams["num_up"] + 2
        return self.cell * (convs + 1) - 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        x = F.pad(x, (0, -w % self.cell, 0, -h % self.cell), mode="reflect")  # whole cells, as Real-ESRGAN pads
        feat = self.conv_first(self.unshuffle(x))  # (N, F, H/u, W/u)
        feat = feat + self.conv_body(self.body(feat))
        feat = self.upsample(feat)  # (N, F, 2^num_up H/u, ...)
        out = self.conv_last(self.act(self.conv_hr(feat)))  # (N, 3, s H', s W')
        return out[:, :, : self.scale * h, : self.scale * w]


# ---- reading a state dict ----------------------------------------------------------------------

ESRGAN_RENAMES = ((r"^RRDB_trunk\.", "body."), (r"\.RDB(\d)\.", r".rdb\1."), (r"^trunk_conv\.", "conv_body."),
                  (r"^upconv(\d+)\.", r"conv_up\1."), (r"^HRconv\.", "conv_hr."))


def read_state(state: dict[str, torch.Tensor]) -> tuple[dict, dict[str, torch.Tensor]] | None:
    """``(hyper-parameters, state in this module's names)`` if ``state`` is an RRDBNet in one of
    the module docstring's layouts; None if it is not one."""
    if "model.1.sub.0.RDB1.conv1.0.weight" in state:
        state = _from_sequential(state)
    elif "RRDB_trunk.0.RDB1.conv1.weight" in state:
        state = {_rename(k, ESRGAN_RENAMES): v for k, v in state.items()}
    elif "body.0.rdb1.conv1.weight" not in state:
        return None
    ups = sorted(int(m[1]) for k in state if (m := re.match(r"conv_up(\d+)\.weight$", k)))
    if ups != list(range(1, len(ups) + 1)) or "conv_first.weight" not in state:
        raise CheckpointError(f"an RRDBNet whose upsampling convs are {ups or 'missing'}; expected conv_up1, conv_up2, ...")
    in_channels = state["conv_first.weight"].shape[1]
    unshuffle = {3: 1, 12: 2, 48: 4}.get(in_channels)
    if unshuffle is None:
        raise CheckpointError(f"an RRDBNet with {in_channels} input channels; expected 3 (RGB), 12 or 48 (RGB unshuffled by 2 or 4)")
    hparams = dict(
        num_feat=state["conv_first.weight"].shape[0],
        num_grow_ch=state["body.0.rdb1.conv1.weight"].shape[0],
        num_block=len({k.split(".")[1] for k in state if k.startswith("body.")}),
        num_up=len(ups),
        unshuffle=unshuffle,
    )
    return hparams, {_rename(k, ((r"^conv_up(\d+)\.", lambda m: f"upsample.{int(m[1]) - 1}.1."),)): v for k, v in state.items()}


def _rename(key: str, rules) -> str:
    for pattern, replacement in rules:
        key = re.sub(pattern, replacement, key)
    return key


def _from_sequential(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The original ESRGAN's ``model.N`` names as BasicSR's: model.0 is conv_first, model.1 the
    trunk (its last conv at sub.<num_block>), then the up convs, the HR conv and the last conv."""
    blocks = {int(k.split(".")[3]) for k in state if re.match(r"model\.1\.sub\.\d+\.RDB", k)}
    renamed, tail = {}, sorted({int(k.split(".")[1]) for k in state if re.match(r"model\.\d+\.weight$", k)} - {0, 1})
    names = {0: "conv_first"} | {index: f"conv_up{i + 1}" for i, index in enumerate(tail[:-2])}
    names |= dict(zip(tail[-2:], ("conv_hr", "conv_last")))
    for key, value in state.items():
        if m := re.match(r"model\.1\.sub\.(\d+)\.RDB(\d)\.conv(\d)\.0\.(weight|bias)$", key):
            renamed[f"body.{m[1]}.rdb{m[2]}.conv{m[3]}.{m[4]}"] = value
        elif m := re.match(rf"model\.1\.sub\.{len(blocks)}\.(weight|bias)$", key):
            renamed[f"conv_body.{m[1]}"] = value
        elif (m := re.match(r"model\.(\d+)\.(weight|bias)$", key)) and int(m[1]) in names:
            renamed[f"{names[int(m[1])]}.{m[2]}"] = value
        else:
            renamed[key] = value  # left as it is: loading names it as unexpected
    return renamed
