"""Many inputs in one job (vsrgan.batch, vsrgan.cluster.batch): a folder, a list file, a glob, several paths.

Real clips, a real broken file; the job runs through the CLI's ``main`` (and once as a process, for
the exit code a shell sees). The --cluster tests use the local 2-worker Ray of conftest.
"""

import subprocess
import sys

import pytest
from clips import make_audio_only, make_clip
from conftest import read_pts, stream_summary

from vsrgan.batch import gather_inputs, is_batch, plan_batch
from vsrgan.cli import main
from vsrgan.errors import InputError

FAST = ["-m", "bicubic", "-s", "2", "--device", "cpu", "--preset", "ultrafast", "-q"]


def archive(folder):
    """Two good clips (one with audio, different lengths, several keyframes) and one broken file."""
    folder.mkdir()
    make_clip(folder / "one.mp4", width=64, height=48, frames=14, audio=True, gop=5)
    make_clip(folder / "two.mkv", width=48, height=32, frames=9, audio=True, gop=4)
    (folder / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 200)
    (folder / "notes.srt").write_text("1\n00:00:00,000 --> 00:00:01,000\nnot a video\n")  # not picked from a folder
    return folder


def assert_upscaled(source, output):
    assert read_pts(output) == read_pts(source)  # every frame once, with its timestamp
    assert stream_summary(output)["audio"] == stream_summary(source)["audio"]


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".") or p.name.endswith(".parts"))


def test_a_folder_with_a_broken_file(tmp_path, capsys):
    source, out = archive(tmp_path / "in"), tmp_path / "out"
    assert main(["upscale", str(source), str(out), *FAST]) == 1
    err = capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["one.mp4", "two.mkv"]
    assert_upscaled(source / "one.mp4", out / "one.mp4")
    assert_upscaled(source / "two.mkv", out / "two.mkv")
    failed = [line for line in err.splitlines() if line.startswith("vsrgan: failed:")]
    assert len(failed) == 1 and "broken.mp4" in failed[0] and "not a video FFmpeg can read" in failed[0], err
    assert "2 written, 0 skipped" in err and "1 of 3 inputs failed" in err

    # Again: the two outputs are kept and said to be skipped; --overwrite redoes them.
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    assert main(["upscale", str(source), str(out), *FAST]) == 1
    err = capsys.readouterr().err
    assert err.count("skipping") == 2 and "0 written, 2 skipped" in err
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before
    (source / "broken.mp4").unlink()
    assert main(["upscale", str(source), str(out), *FAST, "--overwrite"]) == 0
    assert "2 written, 0 skipped, 0 failed" in capsys.readouterr().err
    assert all(p.stat().st_mtime_ns != before[p.name] for p in out.iterdir())
    assert leftovers(out) == []


def test_a_list_file_and_a_glob(tmp_path, capsys):
    source = archive(tmp_path / "in")
    listing = tmp_path / "inputs.txt"
    listing.write_text(f"# relative to the list's folder\nin/one.mp4\n\n{source / 'two.mkv'}\n")
    assert main(["upscale", str(listing), str(tmp_path / "a"), *FAST]) == 0
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["one.mp4", "two.mkv"]
    assert_upscaled(source / "two.mkv", tmp_path / "a" / "two.mkv")

    assert main(["upscale", str(source / "*.mkv"), str(tmp_path / "b"), *FAST]) == 0  # a glob the shell left alone
    assert [p.name for p in (tmp_path / "b").iterdir()] == ["two.mkv"]
    assert_upscaled(source / "two.mkv", tmp_path / "b" / "two.mkv")
    capsys.readouterr()


def test_the_batch_as_a_process_exits_non_zero(tmp_path):
    source = archive(tmp_path / "in")
    result = subprocess.run([sys.executable, "-m", "vsrgan", "upscale", source / "one.mp4", source / "broken.mp4",
                             tmp_path / "out", *FAST], capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("vsrgan: error: 1 of 2 inputs failed")
    assert_upscaled(source / "one.mp4", tmp_path / "out" / "one.mp4")


def test_inputs_and_outputs_planned(tmp_path):
    source = archive(tmp_path / "in")
    assert is_batch(source) and is_batch(tmp_path / "list.txt") and is_batch(f"{source}/*.mp4")
    assert not is_batch(source / "one.mp4")
    assert [p.name for p in gather_inputs([source])] == ["broken.mp4", "one.mp4", "two.mkv"]
    assert [p.name for p in gather_inputs([source, source / "one.mp4"])] == ["broken.mp4", "one.mp4", "two.mkv"]  # once each
    with pytest.raises(InputError, match="matches no files"):
        gather_inputs([f"{source}/*.avi"])
    with pytest.raises(InputError, match="holds no videos"):
        gather_inputs([tmp_path])
    other = tmp_path / "other"
    other.mkdir()
    make_clip(other / "one.mp4")
    items, report = plan_batch([source / "one.mp4", other / "one.mp4"], tmp_path / "out")
    assert [i.input for i in items] == [source / "one.mp4"]
    assert "also the output of" in report.failed[0][1]
    with pytest.raises(InputError, match="looks like a file"):
        plan_batch([source / "one.mp4"], tmp_path / "out.mp4")


def test_cluster_batch_with_a_broken_file(ray_local, tmp_path, capsys):
    source, out = archive(tmp_path / "in"), tmp_path / "out"
    make_audio_only(source / "silent.mp4")
    assert main(["upscale", str(source), str(out), *FAST, "--cluster", "auto", "--segment-frames", "1"]) == 1
    err = capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["one.mp4", "two.mkv"]  # work folders removed
    assert_upscaled(source / "one.mp4", out / "one.mp4")
    assert_upscaled(source / "two.mkv", out / "two.mkv")
    failed = sorted(line for line in err.splitlines() if line.startswith("vsrgan: failed:"))
    assert len(failed) == 2, err
    assert "broken.mp4" in failed[0] and "silent.mp4" in failed[1] and "no video stream" in failed[1]


def test_one_input_into_a_folder(tmp_path, capsys):
    source = archive(tmp_path / "in")
    out = tmp_path / "out"
    out.mkdir()
    assert main(["upscale", str(source / "one.mp4"), str(out), *FAST]) == 0
    assert_upscaled(source / "one.mp4", out / "one.mp4")
    assert main(["upscale", str(source / "two.mkv"), f"{tmp_path / 'new'}/", *FAST]) == 0  # a trailing slash: a folder
    assert_upscaled(source / "two.mkv", tmp_path / "new" / "two.mkv")
    capsys.readouterr()


def test_cluster_batch_segments_failing_in_the_workers(ray_local, tmp_path, capsys):
    """A segment that fails on a worker fails its video (the rest of its segments cancelled), not the job."""
    source, out = archive(tmp_path / "in"), tmp_path / "out"
    (source / "broken.mp4").unlink()
    args = ["upscale", str(source), str(out), *FAST, "--cluster", "auto", "--segment-frames", "1"]
    assert main([*args, "--codec", "nope"]) == 1
    err = capsys.readouterr().err
    failed = sorted(line for line in err.splitlines() if line.startswith("vsrgan: failed:"))
    assert len(failed) == 2 and all("codec 'nope' is not in this FFmpeg build" in line for line in failed), err
    assert not (out / "one.mp4").exists() and not (out / "two.mkv").exists()
    assert main(args) == 0  # the same job with a codec that exists: both done
    assert_upscaled(source / "one.mp4", out / "one.mp4")
    assert_upscaled(source / "two.mkv", out / "two.mkv")
    assert sorted(p.name for p in out.iterdir()) == ["one.mp4", "two.mkv"]


def test_a_mixed_folder_with_one_codec(tmp_path, caplog):
    """A .webm (VP9) and a .y4m (raw) beside an .mp4: one --codec libx264 writes all three, the
    two whose containers cannot hold H.264 as .mkv, with a warning naming each."""
    source, out = tmp_path / "in", tmp_path / "out"
    source.mkdir()
    make_clip(source / "a.mp4", frames=6)
    make_clip(source / "b.webm", frames=6, codec="libvpx-vp9")
    make_clip(source / "c.y4m", frames=6, codec="rawvideo")
    assert main(["upscale", str(source), str(out), *FAST]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["a.mp4", "b.mkv", "c.mkv"]
    for name, written in (("a.mp4", "a.mp4"), ("b.webm", "b.mkv"), ("c.y4m", "c.mkv")):
        assert len(read_pts(out / written)[0]) == len(read_pts(source / name)[0]) == 6
    assert "b.webm' is written as .mkv" in caplog.text and "c.y4m' is written as .mkv" in caplog.text
    # With a codec .webm takes, the .webm stays a .webm.
    items, _ = plan_batch([source / "b.webm", source / "c.y4m"], tmp_path / "vp9", codec="libvpx-vp9")
    assert [i.output.name for i in items] == ["b.webm", "c.mkv"]
