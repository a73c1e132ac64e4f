"""The convolution FLOP counter against counts made by hand."""

import pytest
import torch
from torch import nn

from vsrgan.benchmark.flops import count_flops
from vsrgan.models import Bicubic, Generator, GeneratorConfig


def test_one_convolution():
    conv = nn.Conv2d(3, 8, 3, padding=1)
    # every one of the 8 x 10 x 12 outputs sums 3 x 3 x 3 products: one multiply and one add each
    assert count_flops(conv, width=12, height=10) == 2 * 3 * 8 * 9 * 10 * 12


def test_stride_and_groups():
    conv = nn.Conv2d(8, 16, 3, stride=2, groups=4)  # no padding: 20 -> 9
    # each output sees only its group's 8 / 4 = 2 input channels
    assert count_flops(conv, width=20, height=20, channels=8) == 2 * 2 * 16 * 9 * 9 * 9


def srresnet_flops(width: int, height: int, *, upsample: str, num_blocks: int = 16, features: int = 64) -> int:
    """Convolution FLOPs of a x4 SRResNet, layer by layer from the paper's figure.

    pixelshuffle: head 9x9 3->F; 2 * blocks + 1 body 3x3 F->F; two x2 steps, each a 3x3 conv to
    256 channels that PixelShuffle turns into 64 at twice the size; tail 9x9 64->3 at 4x.
    nearest: 3x3 head and tail; the first step's 256 channels stay 256 after enlarging, so the
    second step's conv is 256->256 at 2x, and the tail 256->3 at 4x.
    """
    hw = width * height
    body = (2 * num_blocks + 1) * features * features * 9 * hw
    if upsample == "pixelshuffle":
        head = 3 * features * 81 * hw
        steps = features * 256 * 9 * hw + 64 * 256 * 9 * (4 * hw)
        tail = 64 * 3 * 81 * (16 * hw)
    else:
        head = 3 * features * 9 * hw
        steps = features * 256 * 9 * hw + 256 * 256 * 9 * (4 * hw)
        tail = 256 * 3 * 9 * (16 * hw)
    return 2 * (head + body + steps + tail)


@pytest.mark.parametrize("upsample", ["pixelshuffle", "nearest"])
@pytest.mark.parametrize("num_blocks", [0, 3, 16])
def test_generator_matches_the_hand_count(upsample, num_blocks):
    model = Generator(GeneratorConfig(upsample=upsample, num_blocks=num_blocks))
    assert count_flops(model, width=24, height=16) == srresnet_flops(24, 16, upsample=upsample, num_blocks=num_blocks)


def test_the_issue_figure_for_a_4k_frame():
    """2.3 TFLOP per 540p -> 4K frame for the 16-block pixelshuffle generator."""
    model = Generator(GeneratorConfig(upsample="pixelshuffle"))
    assert count_flops(model, width=960, height=540) == 4_436_352 * 960 * 540 == 2_299_804_876_800


def test_counting_leaves_the_model_alone():
    model = Generator(GeneratorConfig(num_blocks=1, num_features=8))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    count_flops(model, width=16, height=16)
    assert all(p.device.type == "cpu" for p in model.parameters())
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert not model._forward_hooks and all(not m._forward_hooks for m in model.modules())


def test_bicubic_has_no_convolutions():
    assert count_flops(Bicubic(scale=4), width=16, height=16) == 0
