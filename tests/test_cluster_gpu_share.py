"""--segments-per-gpu: segments that share one GPU, each with its own decoder and encoder (vsrgan.cluster.tasks).

Ray schedules by declared resources, so a local Ray that declares one GPU tests the scheduling on
any machine; the tasks themselves run on the CPU, as ``device="cpu"`` says. Its own module: Ray is
started once per module, and :mod:`test_cluster`'s declares none.
"""

import os
import signal
import threading

import av
import numpy as np
import pytest
import torch
from clips import make_clip
from conftest import read_pts, stream_summary

from vsrgan.cli import build_parser
from vsrgan.cli.upscale import cluster_options
from vsrgan.cluster import run as cluster_run
from vsrgan.cluster.job import ClusterOptions
from vsrgan.cluster.tasks import auto_segments_per_gpu, gpu_tasks
from vsrgan.cluster.worker import pack_model
from vsrgan.errors import ConfigError
from vsrgan.inference.upscaler import ModelOptions
from vsrgan.io.encoding import EncodeOptions
from vsrgan.models import load_model
from vsrgan.options import JobOptions
from vsrgan.upscale import upscale

BICUBIC_X2 = JobOptions(ModelOptions(model="bicubic", scale=2, device="cpu"), EncodeOptions(crf=0, preset="ultrafast"),
                        progress=False)


def test_the_cpus_are_split_between_the_tasks_that_share_the_gpus():
    share, options = gpu_tasks(BICUBIC_X2, {"CPU": 16.0, "GPU": 1.0}, 4)
    assert share == 0.25 and options.model.threads == 4  # 4 tasks at once, 4 CPUs each: every core busy
    share, options = gpu_tasks(BICUBIC_X2, {"CPU": 32.0, "GPU": 2.0}, 1)
    assert share == 1 and options.model.threads == 16
    share, options = gpu_tasks(JobOptions.of(BICUBIC_X2, threads=2), {"CPU": 16.0, "GPU": 1.0}, 4)
    assert options.model.threads == 2  # --threads is kept as given
    share, options = gpu_tasks(BICUBIC_X2, {"CPU": 2.0}, 4)
    assert share == 0 and options == BICUBIC_X2  # no GPU: a task per core, as before
    with pytest.raises(ConfigError, match="--segments-per-gpu must be at least 1, got 0"):
        ClusterOptions(segments_per_gpu=0)


def test_auto_shares_a_gpu_four_ways_for_a_small_model_and_not_for_a_large_one():
    assert ClusterOptions().segments_per_gpu is None  # auto is the default
    small = pack_model(load_model("x4"))  # 163k parameters: the encoders bound it, sharing pays (1.62x at 4 measured)
    large = {"kind": "foreign", "state": {"w": torch.zeros(2_000_000)}}  # Real-ESRGAN-sized nets are GPU-bound
    assert auto_segments_per_gpu(small) == 4 and auto_segments_per_gpu(pack_model(load_model("bicubic"))) == 4
    assert auto_segments_per_gpu(large) == 1
    parser = build_parser()
    for given, expected in (("auto", None), ("3", 3)):
        args = parser.parse_args(["upscale", "in.mp4", "out.mp4", "--cluster", "auto", "--segments-per-gpu", given])
        assert cluster_options(args).segments_per_gpu == expected


@pytest.fixture(scope="module")
def ray_one_gpu(ray_events):
    """A local Ray of 2 CPUs and 1 (declared) GPU, its workers announcing milestones to :func:`ray_events`."""
    ray = pytest.importorskip("ray")
    with pytest.MonkeyPatch.context() as mp:  # Ray's processes inherit it; this one does not keep it
        for name, value in ray_events.env.items():
            mp.setenv(name, value)
        ray.init(num_cpus=2, num_gpus=1, include_dashboard=False, object_store_memory=200 * 1024**2,
                 log_to_driver=False, logging_level="error")
    yield ray
    ray.shutdown()


def test_two_segments_share_the_gpu_at_once(ray_one_gpu, ray_events, tmp_path):
    """The first worker is stopped at its first frame, holding its share of the GPU: a second segment
    starts beside it only if the GPU is shared (with one segment per GPU it would wait for the stopped one)."""
    source, out = tmp_path / "in.mp4", tmp_path / "out.mp4"
    make_clip(source, width=160, height=120, frames=48, audio=True, gop=12)  # 4 segments of 12 frames
    seen = {}

    def stop_the_first_until_a_second_writes():
        first = seen["first"] = ray_events.wait("frame-written")
        os.kill(first, signal.SIGSTOP)
        try:
            while (pid := ray_events.wait("frame-written", timeout=60)) == first:
                pass  # written before it stopped
            seen["second"] = pid
        finally:
            os.kill(first, signal.SIGCONT)

    upscale_beside(ray_events, stop_the_first_until_a_second_writes, source, out, ClusterOptions(segment_frames=12, segments_per_gpu=2))
    assert "second" in seen, "no second segment ran while the first held the GPU"
    assert seen["second"] != seen["first"]
    reference = tmp_path / "reference.mp4"
    upscale(source, reference, model="bicubic", scale=2, device="cpu", crf=0, preset="ultrafast", progress=False)
    assert read_pts(out) == read_pts(source)
    assert stream_summary(out)["audio"] == stream_summary(source)["audio"]
    assert all(np.array_equal(a, b) for a, b in zip(decoded(out), decoded(reference), strict=True))


def test_workers_that_hold_a_gpu_run_many_segments(ray_one_gpu, ray_events, tmp_path):
    """Ray ends a GPU task's worker after each task by default: a new process, torch import and CUDA
    context for every segment (9 s each at 540p -> 4K on an H200). Six segments on two workers' worth
    of the GPU take at most a few processes, not six."""
    source, out = tmp_path / "in.mp4", tmp_path / "out.mp4"
    make_clip(source, width=64, height=48, frames=48, gop=8)  # 6 segments
    pids = set()

    def collect():
        while True:
            try:
                pids.add(ray_events.wait("frame-written"))
            except AssertionError:  # the job ended
                return

    upscale_beside(ray_events, collect, source, out, ClusterOptions(segment_frames=8, segments_per_gpu=2))
    assert read_pts(out) == read_pts(source)
    assert 1 <= len(pids) < 6, f"{len(pids)} worker processes for 6 segments"


def upscale_beside(ray_events, listener, source, out, cluster: ClusterOptions) -> None:
    """Upscale ``source`` on the cluster while ``listener`` hears the workers' milestones on a thread of its own."""
    with ray_events:
        thread = threading.Thread(target=listener, daemon=True)
        thread.start()
        try:
            cluster_run.upscale_on_cluster(source, out, BICUBIC_X2, cluster)
        finally:
            ray_events.end("the job finished")
            thread.join()


def decoded(path):
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
