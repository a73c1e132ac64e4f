"""The concurrent decode -> compute -> encode pipeline: order, timestamps, clean failure."""

import random
import threading
import time

import numpy as np
import pytest
from clips import make_clip
from conftest import read_pts, stream_summary

from vsrgan import upscale
from vsrgan.inference.pipeline import run_pipeline
from vsrgan.io.video import Frame


def fake_frames(n, fail_at=None):
    for i in range(n):
        if i == fail_at:
            raise RuntimeError(f"decode failed at {i}")
        yield Frame(image=np.full((4, 4, 3), i % 256, np.uint8), pts=1000 + 7 * i, time=i / 10, duration=1 + i % 5)


def jittery(batch):
    time.sleep(random.random() * 0.005)
    return batch[:, ::1] + 0  # a copy, as a model would make


def test_order_timestamps_and_durations_survive_concurrency():
    random.seed(0)
    seen = []
    count = run_pipeline(fake_frames(103), jittery, lambda img, pts, duration: seen.append((int(img[0, 0, 0]), pts, duration)), batch_size=4)
    assert count == 103
    assert seen == [(i % 256, 1000 + 7 * i, 1 + i % 5) for i in range(103)]


@pytest.mark.parametrize("where", ["decode", "compute", "encode"])
def test_a_failure_in_any_stage_stops_everything_and_is_raised(where):
    calls = {"process": 0, "write": 0}

    def process(batch):
        calls["process"] += 1
        if where == "compute" and calls["process"] == 5:
            raise ValueError("compute failed")
        return batch

    def write(image, pts, duration):
        calls["write"] += 1
        if where == "encode" and calls["write"] == 17:
            raise OSError("disk full")

    before = threading.active_count()
    with pytest.raises((RuntimeError, ValueError, OSError), match="failed|disk full"):
        run_pipeline(fake_frames(1000, fail_at=40 if where == "decode" else None), process, write, batch_size=2)
    assert calls["write"] < 1000
    assert threading.active_count() == before  # no stage left running: joined before the error was raised


def test_failure_midway_through_a_real_job_leaves_no_output(tmp_path, monkeypatch):
    src, out = tmp_path / "in.mp4", tmp_path / "out.mp4"
    make_clip(src, frames=40, audio=True)
    from vsrgan.inference import upscaler

    real = upscaler.Upscaler.upscale_frames
    calls = []

    def flaky(self, batch):
        calls.append(len(batch))
        if len(calls) == 4:
            raise RuntimeError("CUDA error: an illegal memory access was encountered")
        return real(self, batch)

    monkeypatch.setattr(upscaler.Upscaler, "upscale_frames", flaky)
    with pytest.raises(RuntimeError, match="illegal memory access"):
        upscale(src, out, model="bicubic", batch_size=2, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4"]


def test_pipelined_job_keeps_timing_and_audio(tmp_path):
    src, out = tmp_path / "in.mp4", tmp_path / "out.mp4"
    pts = make_clip(src, frames=37, audio=True)
    upscale(src, out, model="bicubic", scale=2, batch_size=3, progress=False, preset="ultrafast")
    got, tb = read_pts(out)
    assert [float(p * tb) for p in got] == pytest.approx([p / 25 for p in pts], abs=1e-3)
    assert stream_summary(out)["audio"][0]["end"] == pytest.approx(stream_summary(src)["audio"][0]["end"], abs=0.03)
