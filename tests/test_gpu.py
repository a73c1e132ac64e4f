"""What only a GPU runs: the fp16 default, the yuv420p conversion on the device, cuDNN, the memory
plan against the GPU's free memory. Skipped without CUDA; ``scripts/gpu/check_gpu.sh`` runs these and
the other CUDA tests on a lent GPU machine. (The first GPU run of vsrgan found every GPU job
failing before its first frame: an fp16 model fed a float32 tensor. No CPU test could see it.)

``VSRGAN_GPU_TEST_DEVICE=cpu`` runs them on the CPU at fp16, to check the tests themselves.
"""

import os

import numpy as np
import pytest
import torch
from clips import make_clip
from conftest import read_pts, stream_summary

from vsrgan import JobOptions, ModelOptions, Upscaler, compare, upscale
from vsrgan.batch import BatchReport, Item, upscale_batch
from vsrgan.io.video import probe, read_frames
from vsrgan.metrics import psnr

DEVICE = os.environ.get("VSRGAN_GPU_TEST_DEVICE", "cuda")
PRECISION = "auto" if DEVICE.startswith("cuda") else "fp16"  # auto is fp16 on a GPU: the default under test
LOSSLESS = dict(crf=0, preset="ultrafast")

pytestmark = pytest.mark.skipif(DEVICE.startswith("cuda") and not torch.cuda.is_available(), reason="needs a CUDA GPU")


@pytest.fixture
def source(tmp_path):
    path = tmp_path / "clip.mp4"
    make_clip(path, width=64, height=48, frames=10, audio=True)
    return path


def frames_of(path) -> torch.Tensor:
    return torch.from_numpy(np.stack([f.image for f in read_frames(path)])).permute(0, 3, 1, 2).double() / 255


def test_upscale_on_the_gpu_matches_the_cpu(source, tmp_path):
    """Bundled x4 at the GPU's default fp16, converted to yuv420p on the device, against fp32 on the CPU."""
    gpu, cpu = tmp_path / "gpu.mp4", tmp_path / "cpu.mp4"
    upscale(source, gpu, device=DEVICE, precision=PRECISION, progress=False, **LOSSLESS)
    upscale(source, cpu, device="cpu", precision="fp32", progress=False, **LOSSLESS)
    assert read_pts(gpu) == read_pts(cpu) == read_pts(source)
    assert (probe(gpu).width, probe(gpu).height) == (256, 192)
    assert [s["codec"] for s in stream_summary(gpu)["audio"]] == ["aac"]
    assert psnr(frames_of(gpu), frames_of(cpu)).min() > 40


def test_tiles_on_the_gpu_match_whole_frames(source, tmp_path):
    whole, tiled = tmp_path / "whole.mp4", tmp_path / "tiled.mp4"
    upscale(source, whole, device=DEVICE, precision=PRECISION, progress=False, **LOSSLESS)
    upscale(source, tiled, device=DEVICE, precision=PRECISION, tile=16, progress=False, **LOSSLESS)
    assert psnr(frames_of(tiled), frames_of(whole)).min() > 45


def test_a_batch_of_videos_on_the_gpu(source, tmp_path):
    other = tmp_path / "other.mp4"
    make_clip(other, width=40, height=30, frames=7)
    items = [Item(input=source, output=tmp_path / "out" / "clip.mp4"), Item(input=other, output=tmp_path / "out" / "other.mp4")]
    (tmp_path / "out").mkdir()
    report = upscale_batch(items, BatchReport(), JobOptions.of(device=DEVICE, precision=PRECISION, batch_size=4, progress=False))
    assert not report.failed and report.written == [i.output for i in items]
    assert [len(read_pts(i.output)[0]) for i in items] == [10, 7]


def test_compare_on_the_gpu(source, tmp_path):
    out = compare(source, tmp_path / "cmp.mp4", input_is_lr=True, layout="side", device=DEVICE, precision=PRECISION, progress=False)
    assert len(read_pts(out)[0]) == 10


def test_the_memory_plan_sizes_a_4k_job_to_the_device():
    up = Upscaler.from_options(ModelOptions(device=DEVICE, precision=PRECISION))
    batch = up.fit(width=3840, height=2160, batch_size=4)
    assert 1 <= batch <= 4
    frame = torch.rand(1, 3, 64, 96, device=up.device)
    assert up(frame).shape == (1, 3, 256, 384) and up(frame).dtype == up.dtype
