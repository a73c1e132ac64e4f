"""Segment-parallel upscaling on Ray (vsrgan.cluster): keyframe plans, frame-exact joins, resuming, a killed worker.

The Ray tests run on a local Ray of 2 workers, started once for the module; they skip where Ray
is not installed (it is the optional extra vsrgan[cluster]).
"""

import importlib.util
import os
import signal
import subprocess
import sys
import threading
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from clips import jpeg, make_anamorphic_clip, make_audio_only, make_clip, pattern, with_cover_first
from conftest import read_pts, stream_summary, video_end

from vsrgan.cluster import job as cluster_job
from vsrgan.cluster import run as cluster_run
from vsrgan.cluster.job import ClusterOptions
from vsrgan.cluster.segments import keyframe_index, plan_segments
from vsrgan.cluster.workdir import segment_path, work_folder
from vsrgan.cluster.worker import segment_frames
from vsrgan.errors import ConfigError, InputError, VideoError
from vsrgan.inference.upscaler import ModelOptions
from vsrgan.io.encoding import EncodeOptions
from vsrgan.io.video import probe
from vsrgan.options import JobOptions
from vsrgan.upscale import upscale

# Lossless (x264 at crf 0): two encodes then decode to the same pictures, so the comparison sees
# any frame taken twice or from a neighbour. At crf 18 the single-process and segment encoders
# differ by encoding noise alone (x264's lookahead sees other frames): 38-39 dB on these tiny
# synthetic frames, measured.
FAST = EncodeOptions(crf=0, preset="ultrafast")
BICUBIC_X2 = JobOptions(ModelOptions(model="bicubic", scale=2, device="cpu"), FAST, progress=False)
ONE_FRAME = ClusterOptions(segment_frames=1)  # a segment at every keyframe


def vfr_clip(path):
    """30 VFR frames of 64x48 with audio, a keyframe every 7 frames (5 segments), B-frames."""
    return make_clip(path, width=64, height=48, frames=30, durations=[1, 2, 3], rate=Fraction(25),
                     time_base=Fraction(1, 75), audio=True, gop=7)


def cfr_clip(path):
    return make_clip(path, width=64, height=48, frames=30, audio=True, gop=7)


def test_plan_covers_every_frame_once_and_starts_at_keyframes(tmp_path):
    path = tmp_path / "vfr.mp4"
    vfr_clip(path)
    index = keyframe_index(path)
    assert len(index.pts) == 30 and len(index.keyframes) == 5
    for min_frames, count in ((1, 5), (7, 5), (8, 3), (100, 1)):
        segments = plan_segments(index, min_frames=min_frames)
        assert len(segments) == count
        assert sum(s.frames for s in segments) == 30
        assert segments[0].start is None and segments[-1].end is None
        assert all(s.start in index.keyframes for s in segments[1:])
        assert all(a.end == b.start for a, b in zip(segments, segments[1:]))


def test_segments_are_cut_and_read_from_the_video_not_a_cover_listed_first(tmp_path):
    """A cover image FFmpeg lists as stream #0 was what the plan and the segments read: one picture."""
    src, covered = tmp_path / "src.mp4", tmp_path / "covered.mp4"
    cfr_clip(src)
    with_cover_first(src, covered, jpeg(200))
    segments = plan_segments(keyframe_index(covered), min_frames=1)
    assert [s.frames for s in segments] == [7, 7, 7, 7, 2]
    frames = [f for segment in segments for f in segment_frames(covered, segment)]
    assert [f.pts for f in frames] == read_pts(src)[0]
    assert all(np.abs(f.image.astype(int) - pattern(64, 48, i)).mean() < 12 for i, f in enumerate(frames))


def test_without_the_flag_ray_is_never_imported():
    code = ("import sys\nimport vsrgan.upscale, vsrgan.cli, vsrgan.cli.upscale, vsrgan.cluster.run\n"
            "from vsrgan.cli import main\nassert 'ray' not in sys.modules, 'ray imported'\nprint('ok')\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_a_started_ray_runs_the_segments_at_the_jobs_own_priority():
    """Ray's workers default to niceness +15: beside other work the job got 0.3 of 2 cores (measured).
    Ray must be started by connect() itself, so in a process of its own."""
    pytest.importorskip("ray")
    code = ("import os, ray\nfrom vsrgan.cluster.tasks import connect\nos.nice(3)\n"
            "assert connect('auto', num_cpus=1)\n"
            "print(os.nice(0), ray.get(ray.remote(lambda: os.nice(0)).remote()))\nray.shutdown()\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    driver, worker = result.stdout.split()
    assert worker == driver  # the niceness the job was started with (3 here), not 15 more


def decoded(path):
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24").astype(np.float64) for f in c.decode(video=0)]


def assert_same_as_single_process(tmp_path, source, out):
    reference = tmp_path / "reference.mp4"
    upscale(source, reference, model="bicubic", scale=2, device="cpu", crf=0, preset="ultrafast", progress=False)
    assert read_pts(out) == read_pts(source)  # every frame once, with its own timestamp (same time base)
    assert stream_summary(out)["audio"] == stream_summary(source)["audio"]
    ours, theirs = decoded(out), decoded(reference)
    assert len(ours) == len(theirs) == len(read_pts(source)[0])
    for i, (a, b) in enumerate(zip(ours, theirs)):
        mse = np.mean((a - b) ** 2)
        psnr = float("inf") if mse == 0 else 10 * np.log10(255**2 / mse)
        assert psnr >= 40, f"frame {i}: {psnr:.1f} dB"


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_joined_segments_keep_the_pixel_shape_and_the_last_frames_hold(ray_local, tmp_path, suffix):
    """The segments are written with the source's sample aspect ratio, and the join keeps it; the
    last segment's last packet keeps its duration through the join (a final frame held 0.4 s)."""
    source, out = tmp_path / "dvd.mkv", tmp_path / f"out{suffix}"
    make_anamorphic_clip(source, Fraction(32, 27), frames=21, gop=7, hold=10)
    assert video_end(source) == pytest.approx(1.2)  # 20 frames of 40 ms, the last one 400 ms
    assert len(plan_segments(keyframe_index(source), min_frames=1)) == 3
    cluster_run.upscale_on_cluster(source, out, BICUBIC_X2, ONE_FRAME)
    assert probe(out).sample_aspect_ratio == Fraction(32, 27)
    (pts, tb), (source_pts, source_tb) = read_pts(out), read_pts(source)
    assert [float(p * tb) for p in pts] == pytest.approx([float(p * source_tb) for p in source_pts], abs=1e-3)
    assert stream_summary(out)["video"][0]["end"] == pytest.approx(1.2, abs=1e-3)
    assert video_end(out) == pytest.approx(1.2, abs=1e-3)


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_a_pixel_shape_only_the_segments_container_holds(ray_local, tmp_path, caplog, suffix):
    """FFV1 has no aspect ratio of its own: its segments hold it in their .mp4 'pasp' box alone. The
    join passes it on to an .mp4; an .mkv cannot hold it (PyAV cannot set Matroska's display size): a warning."""
    source, out = tmp_path / "dvd.mp4", tmp_path / f"out{suffix}"
    make_anamorphic_clip(source, Fraction(32, 27), frames=14, gop=7)
    ffv1 = replace(BICUBIC_X2, encode=EncodeOptions(codec="ffv1", crf=None, preset=None, pix_fmt="yuv420p"))
    cluster_run.upscale_on_cluster(source, out, ffv1, ONE_FRAME)
    kept = suffix == ".mp4"
    assert probe(out).sample_aspect_ratio == (Fraction(32, 27) if kept else None)
    assert (f"'{out}': ffv1 video in .mkv does not record the source's pixel shape" in caplog.text) == (not kept)


def test_the_cluster_says_an_interlaced_input_is_so(ray_local, tmp_path, caplog):
    """The single process warns that interlaced frames are upscaled as woven pictures; so does --cluster."""
    source, out = tmp_path / "field-coded.mkv", tmp_path / "out.mkv"
    make_clip(source, frames=8, width=32, height=32, gop=4, options={"x264-params": "keyint=4:min-keyint=4:scenecut=0:tff=1"})
    cluster_run.upscale_on_cluster(source, out, BICUBIC_X2, ONE_FRAME)
    assert sum(1 for _ in av.open(str(out)).decode(video=0)) == 8
    assert f"'{source}' is interlaced (top field first)" in caplog.text


@pytest.mark.parametrize("make", [cfr_clip, vfr_clip], ids=["cfr", "vfr"])
def test_segments_join_frame_exact_with_audio(ray_local, tmp_path, make):
    source, out = tmp_path / "in.mp4", tmp_path / "out.mp4"
    make(source)
    cluster_run.upscale_on_cluster(source, out, BICUBIC_X2, ONE_FRAME)
    assert not work_folder(out).exists()  # removed on success
    assert_same_as_single_process(tmp_path, source, out)


def test_resume_redoes_nothing_finished(ray_local, tmp_path, monkeypatch):
    source, out = tmp_path / "in.mp4", tmp_path / "out.mp4"
    vfr_clip(source)
    segments = plan_segments(keyframe_index(source), min_frames=1)
    folder = work_folder(out)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt  # Ctrl-C while joining: every segment finished, no output
    monkeypatch.setattr(cluster_job, "join_segments", interrupted)
    with pytest.raises(KeyboardInterrupt):
        cluster_run.upscale_on_cluster(source, out, BICUBIC_X2, ONE_FRAME)
    assert not out.exists()
    paths = [segment_path(folder, s) for s in segments]
    paths[1].unlink()  # as if the run had been stopped before these two finished
    paths[3].unlink()
    kept = {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in paths if p.exists()}
    monkeypatch.undo()
    monkeypatch.setattr(cluster_job, "remove_work_folder", lambda folder: None)  # to look inside afterwards
    cluster_run.upscale_on_cluster(source, out, BICUBIC_X2, ONE_FRAME)
    assert all(p.exists() for p in paths)
    assert {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in kept} == kept  # not rewritten
    assert_same_as_single_process(tmp_path, source, out)
    out.unlink()
    cluster_run.upscale_on_cluster(source, out, replace(BICUBIC_X2, encode=EncodeOptions(preset="ultrafast", crf=1)), ONE_FRAME)
    assert all((p.stat().st_ino, p.stat().st_mtime_ns) != kept[p] for p in kept)  # another job: made afresh


def test_a_bad_file_and_a_failing_segment_are_reported(ray_local, tmp_path):
    with pytest.raises(VideoError, match="no video stream"):
        cluster_run.upscale_on_cluster(make_audio_only(tmp_path / "a.mp4"), tmp_path / "o.mp4", JobOptions(progress=False))
    source = tmp_path / "in.mp4"
    cfr_clip(source)
    with pytest.raises(VideoError, match="codec .nope. is not in this FFmpeg build"):  # raised in a worker, reported as itself
        cluster_run.upscale_on_cluster(source, tmp_path / "o.mp4", JobOptions.of(codec="nope", progress=False), ONE_FRAME)
    assert not (tmp_path / "o.mp4").exists()


def test_cli_cluster_flag(ray_local, tmp_path):
    from vsrgan.cli import main

    source, out = tmp_path / "in.mp4", tmp_path / "out.mp4"
    cfr_clip(source)
    main(["upscale", str(source), str(out), "-m", "bicubic", "-s", "2", "--device", "cpu", "--preset", "ultrafast",
          "--cluster", "auto", "--segment-frames", "10", "-q"])
    assert read_pts(out) == read_pts(source)


def test_backend_and_threads_reach_the_workers(ray_local, tmp_path):
    source = tmp_path / "in.mp4"
    cfr_clip(source)
    # a backend the test machine lacks fails in the worker, with the single process's line
    if importlib.util.find_spec("openvino") is None:
        with pytest.raises(ConfigError, match="--backend openvino needs the 'openvino' package"):
            cluster_run.upscale_on_cluster(source, tmp_path / "o.mp4", JobOptions.of(BICUBIC_X2, backend="openvino"),
                                           ClusterOptions(segment_frames=10))
        assert not (tmp_path / "o.mp4").exists()
    # ONNX Runtime in tasks of 2 CPUs each (the whole local Ray): the same video as one process
    pytest.importorskip("onnxruntime")
    out = tmp_path / "ort.mp4"
    cluster_run.upscale_on_cluster(source, out, JobOptions.of(BICUBIC_X2, backend="onnxruntime", threads=2),
                                   ClusterOptions(segment_frames=10))
    assert_same_as_single_process(tmp_path, source, out)


def test_a_killed_worker_is_retried_and_the_join_is_exact(ray_local, ray_events, tmp_path, monkeypatch):
    source, out = tmp_path / "in.mp4", tmp_path / "out.mp4"
    make_clip(source, width=160, height=120, frames=48, audio=True, gop=12)  # 4 segments of 12 frames, 640x480 out
    folder = work_folder(out).resolve()
    killed = []

    def kill_one_mid_segment():  # the moment a worker has given a segment's first frame to its encoder
        pid = ray_events.wait("frame-written")
        assert pid != os.getpid()  # a Ray worker (only they have the variable set), never this process
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)

    monkeypatch.setattr(cluster_job, "remove_work_folder", lambda folder: None)  # to look inside afterwards
    with ray_events:
        killer = threading.Thread(target=kill_one_mid_segment, daemon=True)
        killer.start()
        try:
            cluster_run.upscale_on_cluster(source, out, JobOptions.of(BICUBIC_X2, scale=4), ClusterOptions(segment_frames=12))
        finally:
            ray_events.end("the job finished")
            killer.join()
    assert len(killed) == 1, "no worker started a segment"
    [pid] = killed
    assert not Path(f"/proc/{pid}").exists()
    # the killed attempt's temporary file, never renamed into a part
    assert len(list(folder.glob(".part-*.partial.mp4"))) == 1, sorted(p.name for p in folder.iterdir())
    assert sorted(p.name for p in folder.glob("part-*.mp4")) == [f"part-{i:05d}.mp4" for i in range(4)]
    assert read_pts(out) == read_pts(source)
    assert stream_summary(out)["audio"] == stream_summary(source)["audio"]
    reference = tmp_path / "reference.mp4"
    upscale(source, reference, model="bicubic", scale=4, device="cpu", crf=0, preset="ultrafast", progress=False)
    assert all(np.array_equal(a, b) for a, b in zip(decoded(out), decoded(reference), strict=True))


@pytest.mark.parametrize("suffix", [".avi", ".y4m"])
def test_outputs_without_timestamps_are_refused_before_any_work(tmp_path, suffix):
    src = tmp_path / "a.mp4"
    make_clip(src, frames=4)
    with pytest.raises(InputError, match=f"--cluster cannot write '.*out{suffix}'.*write .mkv or .mp4"):
        cluster_job.check_video_request(src, tmp_path / f"out{suffix}", overwrite=False)
    assert not (tmp_path / f"out{suffix}").exists()
