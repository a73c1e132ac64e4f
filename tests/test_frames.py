"""The one uint8 <-> float conversion (vsrgan.io.frames) and exact tiling (vsrgan.inference.tiling)."""

import numpy as np
import torch

from vsrgan.inference.tiling import tiled_forward
from vsrgan.io import frames


def test_uint8_round_trip_is_exact_and_rounds_to_nearest():
    images = np.random.default_rng(0).integers(0, 256, (2, 7, 9, 3), dtype=np.uint8)
    assert np.array_equal(frames.to_numpy(frames.to_tensor(images)), images)
    levels = torch.tensor([0.4, 0.6, 1.45, 1.55, 254.6, 254.4]) / 255  # below and above halves
    got = frames.to_numpy(levels.view(1, 1, 1, 6).expand(1, 3, 1, 6).clone())[0, 0, :, 0]
    assert got.tolist() == [0, 1, 1, 2, 255, 254]


def test_tiles_with_exactly_the_receptive_radius_equal_the_whole():
    """k 3x3 convs see k pixels around: tiles with a k-pixel margin give the untiled result, k - 1 does not.
    Windows start on multiples of tiling.ALIGN (4), which widens a margin up to the next multiple: with
    k = 5 and tiles of 8, the window of the tile at 8 starts at 3 // 4 * 4 = 0, right where one pixel
    less margin would round it to 4, so a margin one short shows on every side."""
    torch.manual_seed(0)
    k = 5
    net = torch.nn.Sequential(*[torch.nn.Conv2d(3, 3, 3, padding=1) for _ in range(k)], torch.nn.PixelShuffle(1))
    x = torch.rand(1, 3, 29, 31)
    with torch.no_grad():
        whole = net(x)
        exact = tiled_forward(net, x, scale=1, tile=8, pad=k)
        short = tiled_forward(net, x, scale=1, tile=8, pad=k - 1)
    assert torch.allclose(exact, whole, atol=1e-6)
    assert not torch.allclose(short, whole, atol=1e-4)


def test_every_frame_keeps_its_timestamp_to_the_tick(tmp_path):
    """The writer's pts are the caller's, to the tick, where the container keeps the time base
    (Matroska: 1/1000): a variable-rate run with B-frames, decoded back in display order.
    (test_upscale's end-to-end check allows a tick of the coarser base; a one-tick shift passes it.)"""
    from fractions import Fraction

    from conftest import read_pts

    from vsrgan.io.encoding import EncodeOptions
    from vsrgan.io.writer import VideoWriter

    given = [0, 40, 80, 120, 200, 233, 300, 420, 421, 500]
    out = tmp_path / "vfr.mkv"
    rng = np.random.default_rng(0)
    with VideoWriter(out, width=32, height=24, time_base=Fraction(1, 1000), frame_rate=Fraction(25),
                     encode=EncodeOptions(preset="ultrafast", crf=30)) as writer:
        for pts in given:
            writer.write(rng.integers(0, 256, (24, 32, 3), dtype=np.uint8), pts)
    pts, time_base = read_pts(out)
    assert time_base == Fraction(1, 1000)
    assert pts == given  # decoded in display order
