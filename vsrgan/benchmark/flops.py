"""Count the convolution FLOPs of one forward pass, to turn frames per second into TFLOP/s.

A convolution producing ``(N, Cout, Hout, Wout)`` from ``Cin`` channels with a ``k x k``
kernel does ``Cin / groups * k * k`` multiply-adds per output value, and a multiply-add is
two FLOPs::

    flops = 2 * Cin * Cout * k * k * Hout * Wout / groups   (per frame)

Only convolutions are counted: they are >99% of an SRResNet's arithmetic, and what a GPU's
tensor cores run. Activations, batch norm, pixel shuffle and the bias add are left out, so
the TFLOP/s reported is the rate of useful matrix work, comparable with a GEMM benchmark.

The shapes come from a real forward pass with hooks, run on PyTorch's ``meta`` device: it
computes every shape and no values, so counting a 4K frame costs nothing.
"""

import copy

import torch
from torch import nn


def conv_flops(conv: nn.Conv2d, output: torch.Tensor) -> int:
    """FLOPs of one call of ``conv`` that produced ``output`` ``(N, Cout, Hout, Wout)``, per frame."""
    _, cout, hout, wout = output.shape
    kh, kw = conv.kernel_size
    return 2 * conv.in_channels * cout * kh * kw * hout * wout // conv.groups


def count_flops(model: nn.Module, *, width: int, height: int, channels: int = 3) -> int:
    """Convolution FLOPs for ``model`` on one ``channels x height x width`` frame.

    ``model`` itself is not touched: a copy of it goes to the meta device.
    """
    meta = copy.deepcopy(model).to("meta")
    total = 0

    def hook(module: nn.Module, inputs, output: torch.Tensor) -> None:
        nonlocal total
        total += conv_flops(module, output)

    handles = [m.register_forward_hook(hook) for m in meta.modules() if isinstance(m, nn.Conv2d)]
    try:
        with torch.no_grad():
            meta(torch.empty(1, channels, height, width, device="meta"))
    finally:
        for h in handles:
            h.remove()
    return total
