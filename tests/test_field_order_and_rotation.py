"""Interlaced video (a DVD's MPEG-2, field-coded H.264) and a phone's rotation tag, through `vsrgan
upscale` as a user runs it, in every container; files made with PyAV's own encoders (tests/layouts.py)."""

import av
import numpy as np
import pytest
from layouts import FRAMES, H, W, add_video, encode_video, upscale

from vsrgan.io.video import probe, read_frames

# ---- 4. interlaced ------------------------------------------------------------------------------

FLAGS = av.codec.context.Flags


@pytest.mark.parametrize("suffix,codec,options,flags,order", [
    (".mpg", "mpeg2video", {}, FLAGS.interlaced_dct | FLAGS.interlaced_me, "bottom field first"),  # a DVD's; PyAV cannot set TFF
    (".mkv", "libx264", {"x264-params": "tff=1"}, 0, "top field first"),  # broadcast H.264, field-coded
])
def test_interlaced_video_is_said_to_be(tmp_path, suffix, codec, options, flags, order):
    src = tmp_path / f"in{suffix}"
    with av.open(str(src), "w") as c:
        encode_video(c, add_video(c, codec, options=options, flags=flags))
    assert probe(src).interlaced == order
    code, lines = upscale(src, tmp_path / "out.mp4")
    assert code == 0 and sum(1 for _ in read_frames(tmp_path / "out.mp4")) == FRAMES
    assert [line for line in lines if "is interlaced" in line] == [
        f"vsrgan: '{src}' is interlaced ({order}): each frame, both fields woven together, is upscaled as one picture, "
        "so what moves shows enlarged combing; deinterlace it first (FFmpeg: -vf bwdif)"]


def test_progressive_video_is_not_called_interlaced(tmp_path):
    src = tmp_path / "in.mpg"
    with av.open(str(src), "w") as c:
        encode_video(c, add_video(c, "mpeg2video"))
    assert probe(src).interlaced is None


def fixed_quantiser_mpeg2(path, *, interlaced):
    """6 frames of MPEG-2 at one fixed quantiser scale (4), no B-frames; field-coded if ``interlaced``."""
    with av.open(str(path), "w") as c:
        v = add_video(c, "mpeg2video", flags=FLAGS.qscale | (FLAGS.interlaced_dct | FLAGS.interlaced_me if interlaced else 0))
        v.codec_context.global_quality, v.codec_context.max_b_frames = 6 * 118, 0  # 6 lambdas: scale 4 in the bitstream
        encode_video(c, v)


def test_interlaced_mpeg2_at_a_size_off_32_lines_reads_its_quantiser(tmp_path):
    """--denoise auto (the default without -m) crashed with a traceback on interlaced MPEG-2 whose height
    is not a multiple of 32 (48, 240, 360 lines): its decoder exports whole field-macroblock pairs, more
    blocks than the frame's 16x16 grid, and PyAV's qp_map refuses them. The same quantiser as progressive now."""
    from vsrgan.io.compression import read_quantiser

    fixed_quantiser_mpeg2(tmp_path / "p.mpg", interlaced=False)
    fixed_quantiser_mpeg2(tmp_path / "i.mpg", interlaced=True)
    assert probe(tmp_path / "i.mpg").interlaced and not probe(tmp_path / "p.mpg").interlaced
    progressive, interlaced = read_quantiser(tmp_path / "p.mpg"), read_quantiser(tmp_path / "i.mpg")
    assert (progressive.kind, progressive.value) == ("mpeg", 4.0)
    assert (interlaced.kind, interlaced.value, interlaced.frames) == ("mpeg", 4.0, progressive.frames)


# ---- 5. rotation --------------------------------------------------------------------------------


def phone_clip(path):
    """A clip a phone held upright records: stored landscape, a red top-left corner, tagged to be
    shown turned 90 degrees counter-clockwise (as played: portrait, the red corner at the bottom left)."""
    image = np.zeros((H, W, 3), np.uint8)
    image[:H // 2, :W // 2] = (255, 0, 0)
    with av.open(str(path), "w") as c:
        encode_video(c, add_video(c, rotation=90), images=[image] * FRAMES)


def as_played(path):
    """The first frame as a player shows it: turned as its rotation tag says."""
    with av.open(str(path)) as c:
        frame = next(c.decode(video=0))
        return np.rot90(frame.to_ndarray(format="rgb24"), round(frame.rotation / 90))


@pytest.mark.parametrize("suffix", [".mp4", ".mov", ".mkv", ".avi", ".ts", ".flv"])
def test_a_phone_video_plays_upright_in_every_container(tmp_path, suffix):
    """.mp4, .mov and .mkv keep the rotation tag; AVI, MPEG-TS and FLV have none, and the video
    played sideways there: its frames are turned upright instead, with a warning."""
    src, dst = tmp_path / "in.mp4", tmp_path / f"out{suffix}"
    phone_clip(src)
    code, lines = upscale(src, dst)
    assert code == 0
    shown = as_played(dst)
    assert shown.shape == (2 * W, 2 * H, 3)  # portrait, twice the size
    assert (shown[-8, 8] > 200).tolist() == [True, False, False] and shown[8, 8].max() < 60  # red at the bottom left only
    assert sum(1 for _ in read_frames(dst)) == FRAMES
    assert any("records no rotation tag" in line for line in lines) == (suffix in (".avi", ".ts", ".flv"))


def test_the_cluster_refuses_a_phone_video_into_a_container_without_rotation(tmp_path):
    """--cluster joins segments upscaled as stored; into .ts its rotation tag was dropped and the video
    played sideways. Refused in one line before anything runs (no Ray needed to say so), no work folder left."""
    from vsrgan.cluster.job import ClusterJob, ClusterOptions
    from vsrgan.errors import InputError
    from vsrgan.options import JobOptions

    src = tmp_path / "in.mp4"
    phone_clip(src)
    job = ClusterJob(JobOptions.of(model="bicubic", scale=2), ClusterOptions(), packed={}, settings={})
    with pytest.raises(InputError, match=r"in\.mp4' into '.*out\.ts': it is tagged to be shown turned 90 degrees and \.ts records no "
                                         "rotation, so it would play sideways; write .mkv or .mp4, or drop --cluster"):
        job.prepare(src, tmp_path / "out.ts")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4"]
