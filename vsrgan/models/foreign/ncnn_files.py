"""ncnn's two model files, read as they are: the ``.param`` text (the graph) and the ``.bin`` (the weights).

A ``.param`` file (the text format, magic number 7767517)::

    7767517
    <layer count> <blob count>
    <type> <name> <bottom count> <top count> <bottom blobs...> <top blobs...> <key>=<value> ...

A key numbers one of the layer type's parameters (a Convolution's 0 is its output channels, 1 its
kernel, 4 its padding, 5 whether it has a bias, 6 its weight count, 9 a fused activation, 10 that
activation's parameters); a key ``-23300 - k`` holds parameter k as an array, ``n,v1,...,vn``. A value
with a ``.`` or an ``e`` in it is a float, else an int.

The ``.bin`` file holds every layer's weights in the ``.param``'s order, without names or sizes: the
layer's parameters say how much it reads. A Convolution reads its ``weight_data_size`` weights (in
PyTorch's order: out, in, kernel rows, kernel columns) behind a 4-byte tag, 0 for float32 and
0x01306B47 for float16 (then padded to 4 bytes), and with a bias its ``num_output`` float32 biases,
untagged. A PReLU reads its ``num_slope`` float32 slopes, untagged. The other layers read nothing here;
int8 and table-quantised weights (other tags) are refused.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...errors import CheckpointError

MAGIC = "7767517"  # the first line of a text .param
TAG_FP32, TAG_FP32_SCALED, TAG_FP16 = 0x00000000, 0x0002C056, 0x01306B47
TAG_INT8 = 0x000D4B38
WEIGHTLESS = ("Input", "Split", "Concat", "Eltwise", "BinaryOp", "Interp", "PixelShuffle")  # read nothing from .bin


@dataclass(frozen=True)
class Layer:
    """One line of a ``.param``: a layer, the blobs it reads and writes, its numbered parameters."""

    type: str
    name: str
    bottoms: tuple[str, ...]
    tops: tuple[str, ...]
    params: dict  # key -> int, float, or a tuple of them (an array parameter)


def read_param(path: Path) -> list[Layer]:
    """The layers of the text ``.param`` file ``path``, in order."""
    try:
        lines = [line.split() for line in path.read_text().splitlines() if line.strip()]
    except (OSError, UnicodeDecodeError) as e:
        raise CheckpointError(f"'{path}' is not a readable ncnn .param text file ({e})") from None
    if not lines or lines[0] != [MAGIC] or len(lines) < 2 or len(lines[1]) != 2:
        first = " ".join(lines[0]) if lines else "nothing"
        raise CheckpointError(f"'{path}' is not an ncnn .param text file (its first line is '{first[:40]}'; expected {MAGIC})")
    layers = []
    for number, words in enumerate(lines[2:], start=3):
        try:
            layers.append(_layer(words))
        except (ValueError, IndexError):
            raise CheckpointError(f"'{path}' line {number} is no ncnn layer: '{' '.join(words)[:80]}'") from None
    if len(layers) != int(lines[1][0]):
        raise CheckpointError(f"'{path}' says it has {lines[1][0]} layers but lists {len(layers)}")
    return layers


def _layer(words: list[str]) -> Layer:
    kind, name, n_in, n_out = words[0], words[1], int(words[2]), int(words[3])
    blobs = words[4: 4 + n_in + n_out]
    if len(blobs) != n_in + n_out:
        raise ValueError("fewer blobs than counted")
    params = {}
    for item in words[4 + n_in + n_out:]:
        key, value = item.split("=", 1)
        if int(key) <= -23300:  # an array: its count, then the values
            count, *values = value.split(",")
            if len(values) != int(count):
                raise ValueError("array length")
            params[-23300 - int(key)] = tuple(_number(v) for v in values)
        else:
            params[int(key)] = _number(value)
    return Layer(type=kind, name=name, bottoms=tuple(blobs[:n_in]), tops=tuple(blobs[n_in:]), params=params)


def _number(text: str) -> int | float:
    return float(text) if any(c in text for c in ".eE") else int(text)


def read_bin(path: Path, layers: list[Layer]) -> dict[str, list[np.ndarray]]:
    """Each weighted layer's arrays (float32, flat) from the ``.bin`` file ``path``, by layer name:
    a Convolution's ``[weights, bias]`` (or ``[weights]``), a PReLU's ``[slopes]``."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise CheckpointError(f"cannot read the ncnn weights '{path}' ({e.strerror or e})") from None
    reader = _Reader(data, path)
    arrays: dict[str, list[np.ndarray]] = {}
    for layer in layers:
        if layer.type == "Convolution":
            arrays[layer.name] = [reader.tagged(layer.params.get(6, 0), layer.name)]
            if layer.params.get(5, 0):
                arrays[layer.name].append(reader.floats(layer.params.get(0, 0), layer.name))
        elif layer.type == "PReLU":
            arrays[layer.name] = [reader.floats(layer.params.get(0, 1), layer.name)]
        elif layer.type not in WEIGHTLESS:
            raise CheckpointError(f"'{path}': cannot read the weights of layer {layer.name} ({layer.type})")
    if reader.pos != len(data):
        raise CheckpointError(f"'{path}' has {len(data)} bytes but its .param's layers read {reader.pos}; "
                              "expected the .bin saved with that .param")
    return arrays


class _Reader:
    """The ``.bin`` bytes, read front to back."""

    def __init__(self, data: bytes, path: Path):
        self.data, self.path, self.pos = data, path, 0

    def take(self, size: int, what: str) -> bytes:
        if self.pos + size > len(self.data):
            raise CheckpointError(f"'{self.path}' ends at byte {len(self.data)}, inside the weights of layer {what}; "
                                  "expected the .bin saved with its .param")
        chunk = self.data[self.pos: self.pos + size]
        self.pos += size
        return chunk

    def floats(self, count: int, what: str) -> np.ndarray:
        return np.frombuffer(self.take(4 * count, what), dtype="<f4").astype(np.float32)

    def tagged(self, count: int, what: str) -> np.ndarray:
        tag = int.from_bytes(self.take(4, what), "little")
        if tag in (TAG_FP32, TAG_FP32_SCALED):
            return self.floats(count, what)
        if tag == TAG_FP16:
            chunk = self.take(2 * count + (-2 * count) % 4, what)  # padded to whole 4 bytes
            return np.frombuffer(chunk[: 2 * count], dtype="<f2").astype(np.float32)
        kind = "int8" if tag == TAG_INT8 else "table-quantised"
        raise CheckpointError(f"'{self.path}': layer {what}'s weights are {kind} (tag 0x{tag:08X}); "
                              "only float32 and float16 ncnn weights convert")
