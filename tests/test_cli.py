"""The command line as a user meets it: help, the job, and every bad input as one clear line."""

import os
import shutil
import signal
import subprocess
import sys
import threading

import pytest
import torch
from clips import make_audio_only, make_clip

from vsrgan.io.video import probe

CLI = [sys.executable, "-m", "vsrgan"]


def run(*args, cwd=None):
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=300)


def assert_one_line_error(result, *fragments):
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("vsrgan: error: ")
    for fragment in fragments:
        assert fragment in lines[0]


def leftovers(folder, keep=()):
    return sorted(p.name for p in folder.iterdir() if p.name not in keep)


@pytest.mark.parametrize("command", ["upscale", "models", "prepare", "train", "evaluate", "compare", "bench"])
def test_help_on_every_subcommand(command):
    result = run(command, "--help")
    assert result.returncode == 0 and "usage: vsrgan " + command in result.stdout


def test_upscale_positional_and_flags(tmp_path, clip):
    result = run("upscale", clip, tmp_path / "a.mp4", "-m", "bicubic", "-s", "2", "--preset", "ultrafast", "-q")
    assert result.returncode == 0, result.stderr
    result = run("upscale", "-i", clip, "-o", tmp_path / "b.mp4", "--model", "bicubic", "--tile", "16", "--batch-size", "3",
                 "--device", "cpu", "--precision", "fp32", "--codec", "libx265", "--crf", "30", "--preset", "ultrafast", "-q")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "a.mp4").is_file() and (tmp_path / "b.mp4").is_file()


def test_upscale_paths_after_options(tmp_path, clip):
    """Paths may follow options: plain argparse left the output 'unrecognized' after -m."""
    (tmp_path / "out").mkdir()
    result = run("upscale", clip, "-m", "bicubic", tmp_path / "out" / "pos.mp4", "-s", "2", "--preset", "ultrafast", "-q")
    assert result.returncode == 0, result.stderr
    result = run("upscale", "-m", "bicubic", "-q", clip, "--preset", "ultrafast", tmp_path / "mixed.mp4")
    assert result.returncode == 0, result.stderr
    source = probe(clip)
    for name, scale in (("out/pos.mp4", 2), ("mixed.mp4", 4)):
        info = probe(tmp_path / name)
        assert (info.width, info.height, info.num_frames) == (scale * source.width, scale * source.height, source.num_frames)
    result = run("upscale", clip, "-m", "bicubic", tmp_path / "c.mp4", "--bogus")
    assert result.returncode == 2 and "unrecognized arguments: --bogus" in result.stderr
    # After '--', a path that starts with '-' is a path.
    shutil.copy(clip, tmp_path / "-dash.mp4")
    result = run("upscale", "-m", "bicubic", "-s", "2", "--preset", "ultrafast", "-q", "--", "-dash.mp4", "-out.mp4", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert probe(tmp_path / "-out.mp4").num_frames == source.num_frames


def test_models_lists_bicubic():
    result = run("models")
    assert result.returncode == 0 and result.stdout.startswith("bicubic")


def test_missing_input(tmp_path):
    result = run("upscale", tmp_path / "nope.mp4", tmp_path / "out.mp4")
    assert_one_line_error(result, "nope.mp4' does not exist", "expected a video or image")
    assert leftovers(tmp_path) == []


def test_not_a_video(tmp_path):
    bad = tmp_path / "notes.mp4"
    bad.write_text("hello\n" * 100)
    result = run("upscale", bad, tmp_path / "out.mp4")
    assert_one_line_error(result, "notes.mp4' is not a video FFmpeg can read")
    assert leftovers(tmp_path, keep={"notes.mp4"}) == []


def test_no_video_stream(tmp_path):
    audio_only = make_audio_only(tmp_path / "tone.m4a")
    result = run("upscale", audio_only, tmp_path / "out.mp4")
    assert_one_line_error(result, "tone.m4a' has no video stream")
    assert leftovers(tmp_path, keep={"tone.m4a"}) == []


def test_truncated_file(tmp_path):
    full = tmp_path / "full.mp4"
    make_clip(full, frames=30, width=64, height=64)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])  # moov atom at the end: gone
    result = run("upscale", cut, tmp_path / "out.mp4")
    assert_one_line_error(result, "cut.mp4'")
    assert leftovers(tmp_path, keep={"full.mp4", "cut.mp4"}) == []


def test_unwritable_output_folder(tmp_path, clip):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    result = run("upscale", clip, blocker / "out.mp4")
    assert_one_line_error(result, "cannot write to folder", "file.txt")
    result = run("upscale", clip, "/proc/vsrgan-out.mp4")  # unwritable even for root
    assert_one_line_error(result, "cannot write to folder '/proc'")


def test_output_equal_to_input_is_refused(tmp_path, clip):
    before = clip.read_bytes()
    result = run("upscale", clip, clip, "--overwrite")
    assert_one_line_error(result, "is the input file")
    assert clip.read_bytes() == before


def test_existing_output_needs_overwrite(tmp_path, clip):
    out = tmp_path / "out.mp4"
    out.write_bytes(b"precious")
    result = run("upscale", clip, out)
    assert_one_line_error(result, "out.mp4' already exists", "--overwrite")
    assert out.read_bytes() == b"precious"
    result = run("upscale", clip, out, "--overwrite", "--preset", "ultrafast", "-q")
    assert result.returncode == 0 and out.read_bytes() != b"precious"


def test_scale_mismatch_and_bad_options(tmp_path, clip, tiny_generator):
    from vsrgan.models import save_generator

    weights = save_generator(tiny_generator, tmp_path / "g.safetensors")
    assert_one_line_error(run("upscale", clip, tmp_path / "o.mp4", "-m", weights, "-s", "2"), "upscales x4; asked for x2")
    assert_one_line_error(run("upscale", clip, tmp_path / "o.mp4", "--codec", "nonesuch"), "'nonesuch' is not in this FFmpeg")
    assert_one_line_error(run("upscale", clip, tmp_path / "o.mp4", "-m", "nonesuch"), "neither a file nor a known model")
    assert leftovers(tmp_path, keep={"clip.mp4", "g.safetensors"}) == []


@pytest.mark.parametrize("command", ["upscale", "compare", "evaluate"])
@pytest.mark.parametrize("scale", ["-2", "0"])
def test_a_scale_below_one_is_refused_in_one_line(tmp_path, clip, command, scale):
    """bicubic takes any whole scale from 1 up; -2 was a traceback from its kernel, 0 became x4 and was refused as a mismatch."""
    output = {"upscale": [tmp_path / "o.mp4"], "compare": [tmp_path / "c.mp4"], "evaluate": []}[command]
    result = run(command, clip, *output, "-m", "bicubic", "-s", scale)
    assert_one_line_error(result, f"--scale must be a positive whole number, got {scale}")
    assert leftovers(tmp_path, keep={"clip.mp4"}) == []


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
def test_cuda_without_a_gpu(tmp_path, clip):
    assert_one_line_error(run("upscale", clip, tmp_path / "o.mp4", "--device", "cuda"), "no CUDA GPU")
    assert leftovers(tmp_path, keep={"clip.mp4"}) == []


def test_ctrl_c_midway_leaves_nothing(tmp_path, events):
    src = tmp_path / "long.mp4"
    make_clip(src, frames=400, width=160, height=120)  # 400 frames at 640x480, preset slow: many seconds of work
    out = tmp_path / "out.mp4"
    # Ctrl-C as a terminal delivers it: a runner started in the background by a shell without job
    # control ignores SIGINT, children inherit that, and vsrgan rightly keeps an ignored signal ignored.
    proc = subprocess.Popen([*CLI, "upscale", str(src), str(out), "-m", "bicubic", "--batch-size", "1", "--preset", "slow", "-q"],
                            stderr=subprocess.PIPE, text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
                            env={**os.environ, **events.env})
    threading.Thread(target=lambda: (proc.wait(), events.end("the job ended")), daemon=True).start()
    assert events.wait("frame-written") == proc.pid  # the first frame is with the encoder: Ctrl-C now, mid-job
    os.kill(proc.pid, signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert stderr.strip().splitlines()[-1] == "vsrgan: interrupted; no output was written"
    assert leftovers(tmp_path, keep={"long.mp4"}) == []
