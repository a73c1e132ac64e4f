"""Broken media from elsewhere: one line naming the file and what is wrong, or a valid output and a
warning where the decoder conceals the damage; never a traceback, never FFmpeg's wording alone.
And a full disk: one line, the partial file removed, a non-zero exit."""

import errno
import os
import resource
import signal
import subprocess
import sys

import av
import pytest
from clips import make_clip
from conftest import make_image_folder

CLI = [sys.executable, "-m", "vsrgan"]


def run(*args, preexec_fn=None):
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, timeout=300, preexec_fn=preexec_fn)


def upscale(src, out, preexec_fn=None):
    return run("upscale", src, out, "-m", "bicubic", "-s", "2", "--preset", "ultrafast", "-q", preexec_fn=preexec_fn)


def lines(result):
    return result.stderr.strip().splitlines()


def assert_no_traceback(result):
    assert "Traceback" not in result.stderr and all(line.startswith(("vsrgan: ", "wrote ")) for line in lines(result)), result.stderr


def leftovers(folder, keep):
    return sorted(p.name for p in folder.iterdir() if p.name not in keep)


def cut_in_half(full, cut):
    data = full.read_bytes()
    cut.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize("suffix,codec", [(".mpg", "mpeg2video"), (".mkv", "libx264")])
def test_a_file_cut_in_half_gives_what_is_there_and_a_warning(tmp_path, suffix, codec):
    full, cut, out = tmp_path / f"full{suffix}", tmp_path / f"cut{suffix}", tmp_path / f"out{suffix}"
    make_clip(full, frames=50, width=96, height=64, codec=codec, audio=suffix == ".mkv")
    cut_in_half(full, cut)
    result = upscale(cut, out)
    assert result.returncode == 0, result.stderr
    assert_no_traceback(result)
    assert any(f"cut{suffix}' is" in line and ("truncated" in line or "damaged" in line) for line in lines(result)), result.stderr
    with av.open(str(out)) as c:
        assert 10 < sum(1 for _ in c.decode(video=0)) < 50


def test_an_mp4_cut_in_half_loses_its_index(tmp_path):
    full, cut = tmp_path / "full.mp4", tmp_path / "cut.mp4"
    make_clip(full, frames=30, width=64, height=64)
    cut_in_half(full, cut)  # the index (moov) is written at the end: gone
    result = upscale(cut, tmp_path / "out.mp4")
    assert result.returncode == 1 and len(lines(result)) == 1, result.stderr
    assert lines(result)[0].startswith("vsrgan: error: '") and "cut.mp4' is not a video FFmpeg can read, or is damaged or cut short" in lines(result)[0]
    assert leftovers(tmp_path, {"full.mp4", "cut.mp4"}) == []


def test_a_zeroed_stretch_of_an_mp4_is_skipped_with_a_warning(tmp_path):
    src, out = tmp_path / "zeroed.mp4", tmp_path / "out.mp4"
    make_clip(src, frames=60, width=160, height=120, audio=True)
    data = bytearray(src.read_bytes())
    middle = len(data) // 2
    data[middle - 10240 : middle + 10240] = bytes(20480)  # 20 KB of zeros in the middle
    src.write_bytes(bytes(data))
    result = upscale(src, out)
    assert result.returncode == 0, result.stderr
    assert_no_traceback(result)
    assert any("zeroed.mp4' is damaged" in line for line in lines(result)), result.stderr
    with av.open(str(out)) as c:
        assert 0 < sum(1 for _ in c.decode(video=0)) < 60
        assert c.streams.audio


def test_random_bytes_named_mkv(tmp_path):
    src = tmp_path / "random.mkv"
    src.write_bytes(os.urandom(50_000))
    result = upscale(src, tmp_path / "out.mkv")
    assert result.returncode == 1 and len(lines(result)) == 1, result.stderr
    assert "random.mkv' is not a video FFmpeg can read" in lines(result)[0]
    assert leftovers(tmp_path, {"random.mkv"}) == []


def test_a_video_with_no_decodable_frame(tmp_path):
    full, src = tmp_path / "full.mp4", tmp_path / "garbage.mkv"
    make_clip(full, frames=12, width=64, height=64)
    with av.open(str(full)) as c, av.open(str(src), "w") as out:
        stream = out.add_stream_from_template(c.streams.video[0])
        for packet in c.demux(video=0):
            if packet.size:  # same timing, random contents
                garbage = av.Packet(os.urandom(packet.size))
                garbage.pts, garbage.dts, garbage.time_base, garbage.stream = packet.pts, packet.dts, packet.time_base, stream
                out.mux(garbage)
    result = upscale(src, tmp_path / "out.mp4")
    assert result.returncode == 1 and len(lines(result)) == 1, result.stderr
    assert "garbage.mkv' has a video stream with no decodable frames" in lines(result)[0]
    assert leftovers(tmp_path, {"full.mp4", "garbage.mkv"}) == []


@pytest.mark.parametrize("name,data", [("photo.png", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8), ("photo.jpg", b"not a jpeg")])
def test_an_image_that_is_not_an_image(tmp_path, name, data):
    (tmp_path / name).write_bytes(data)
    result = upscale(tmp_path / name, tmp_path / f"big{name[-4:]}")
    assert result.returncode == 1 and len(lines(result)) == 1, result.stderr
    assert f"{name}' is not a readable image" in lines(result)[0]
    assert leftovers(tmp_path, {name}) == []


# ---- a full disk ---------------------------------------------------------------------------------


def small_disk(limit=200_000):
    """In the child: no file may grow past ``limit`` bytes, and going past is an error (EFBIG), not a kill:
    a full disk, without root."""

    def preexec():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return preexec


@pytest.mark.parametrize("suffix", [".mp4", ".mkv", ".png"])
def test_upscale_on_a_full_disk(tmp_path, suffix):
    if suffix == ".png":
        src = make_image_folder(tmp_path / "in", count=1, width=400, height=300)[0]
    else:
        src = tmp_path / "in" / "clip.mp4"
        src.parent.mkdir()
        make_clip(src, frames=40, width=160, height=120, audio=True)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    result = run("upscale", src, out_dir / f"big{suffix}", "-m", "bicubic", "-s", "4", "--crf", "0", "--preset", "ultrafast", "-q",
                 preexec_fn=small_disk())
    assert result.returncode == 1, result.stderr
    assert lines(result) == [f"vsrgan: error: no space left on '{out_dir}' while writing 'big{suffix}'; the partial output was removed"]
    assert list(out_dir.iterdir()) == []


def test_prepare_on_a_full_disk(tmp_path):
    make_image_folder(tmp_path / "imgs", count=40, width=200, height=160)
    result = run("prepare", tmp_path / "imgs", "-o", tmp_path / "data", "--test-fraction", "0.3", "-q", preexec_fn=small_disk(20_000))
    assert result.returncode == 1, result.stderr
    assert lines(result) == [f"vsrgan: error: no space left on '{tmp_path}' while writing the dataset 'data'; the partial dataset was removed"]
    assert leftovers(tmp_path, {"imgs"}) == []


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT, errno.EFBIG])
def test_a_full_disk_by_any_name_is_one_line_and_no_partial_output(tmp_path, code):
    """ENOSPC (a full disk), EDQUOT (a quota) and EFBIG (a file size limit, which the tests above
    provoke with ulimit) are one DiskFullError, for a file (atomic_path) and for a dataset folder
    (staged_dataset), and nothing half-written stays behind."""
    from vsrgan.dataset.manifest import staged_dataset
    from vsrgan.errors import DiskFullError
    from vsrgan.io.atomic import atomic_path

    full = OSError(code, os.strerror(code))
    with pytest.raises(DiskFullError, match=f"no space left on '{tmp_path}' while writing 'out.mp4'; the partial output was removed"):
        with atomic_path(tmp_path / "out.mp4") as tmp:
            tmp.write_bytes(b"half a video")
            raise full
    with pytest.raises(DiskFullError, match="while writing the dataset 'data'; the partial dataset was removed"):
        with staged_dataset(tmp_path / "data", scale=4) as tmp:
            (tmp / "train" / "hr" / "a.png").write_bytes(b"half an image")
            raise full
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(PermissionError):  # any other error is itself, not a full disk
        with atomic_path(tmp_path / "out.mp4"):
            raise PermissionError(errno.EACCES, "denied")


def test_an_output_is_written_beside_its_target_then_renamed(tmp_path):
    """atomic_path's temporary file lies in the target's own folder, so the rename never crosses file
    systems (from /tmp it would fail, or copy half a file where the disk fills); it is hidden, keeps
    the target's suffix (FFmpeg and Pillow pick the format by it) and the usual permissions, and on
    success it is the target, with nothing else left."""
    from vsrgan.io.atomic import atomic_path

    umask = os.umask(0)
    os.umask(umask)
    out = tmp_path / "out" / "video.mp4"
    with atomic_path(out) as tmp:
        assert tmp.parent == out.parent and tmp.name.startswith(".video.") and tmp.suffix == ".mp4"
        assert tmp.stat().st_mode & 0o777 == 0o666 & ~umask
        tmp.write_bytes(b"a whole video")
    assert list(out.parent.iterdir()) == [out] and out.read_bytes() == b"a whole video"
