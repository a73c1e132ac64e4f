"""Batch and tile sizes chosen from the model's measured peak and the memory free."""

import logging

import torch

from vsrgan.inference.memory import peak_bytes, plan
from vsrgan.inference.upscaler import Upscaler
from vsrgan.models import Generator


def test_peak_grows_with_the_frame_and_matches_the_upsampling_layers():
    g = Generator(num_blocks=1, num_features=8)  # pixelshuffle: 256 channels at 2x is the peak
    small, big = peak_bytes(g, width=32, height=24), peak_bytes(g, width=64, height=48)
    assert big == 4 * small
    # the second pixel shuffle: 256 channels at 2x the input in, 64 at 4x out; float32, x1.5 headroom
    assert small == int((256 * (2 * 32) * (2 * 24) + 64 * (4 * 32) * (4 * 24)) * 4 * 1.5)


def test_plan_shrinks_the_batch_then_tiles(caplog):
    g = Generator(num_blocks=1, num_features=8)
    one = peak_bytes(g, width=64, height=48)
    cpu = torch.device("cpu")
    common = dict(width=64, height=48, dtype=torch.float32, device=cpu, pad=g.receptive_radius)
    assert plan(g, batch_size=8, tile=0, budget=10 * one, **common) == (8, 0)
    with caplog.at_level(logging.WARNING):
        assert plan(g, batch_size=8, tile=0, budget=3 * one, **common) == (3, 0)
        batch, tile = plan(g, batch_size=8, tile=0, budget=one // 2, **common)
    assert 0 < tile < 64 and batch >= 1
    assert "running 3 at a time" in caplog.text and "in tiles of" in caplog.text


def test_fit_on_this_machine_keeps_small_jobs_whole():
    up = Upscaler(Generator(num_blocks=1, num_features=8), device="cpu")
    assert up.fit(width=64, height=48, batch_size=4) == 4 and up.tile == 0


def test_fit_measures_a_half_precision_model():
    """The GPU default is fp16: the shape-only pass must feed the model its own dtype (it fed
    float32 and every GPU job failed before its first frame), and the bytes halve."""
    g = Generator(num_blocks=1, num_features=8)
    up = Upscaler(g, device="cpu", precision="fp16")
    assert up.fit(width=64, height=48, batch_size=4) == 4 and up.tile == 0
    assert peak_bytes(up.model, width=64, height=48, dtype=torch.float16) == peak_bytes(g, width=64, height=48) // 2
