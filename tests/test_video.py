"""Video I/O on real encoded clips: every frame, its timestamp, audio and subtitles."""

import re
from fractions import Fraction

import av
import numpy as np
import pytest
from clips import jpeg, make_alaw_clip, make_anamorphic_clip, make_audio_only, make_clip, make_gif, make_late_clip, pattern, with_cover_first
from conftest import read_pts, stream_summary, video_end

from vsrgan.errors import InputError, VideoError
from vsrgan.io.compression import read_quantiser
from vsrgan.io.encoding import EncodeOptions
from vsrgan.io.video import probe, read_frames
from vsrgan.io.writer import VideoWriter


def copy_clip(src, dst, **kwargs):
    info = probe(src)
    with VideoWriter(dst, width=info.width, height=info.height, time_base=info.time_base, frame_rate=info.frame_rate,
                     base_rate=info.base_rate, rotation=info.rotation, sample_aspect_ratio=info.sample_aspect_ratio, source=src, **kwargs) as w:
        for f in read_frames(src):
            w.write(f.image, f.pts, f.duration)
    return info


def test_probe_reports_size_rate_and_audio(tmp_path):
    path = tmp_path / "a.mp4"
    make_clip(path, width=40, height=24, frames=10, rate=Fraction(30000, 1001), audio=True)
    info = probe(path)
    assert (info.width, info.height) == (40, 24)
    assert info.frame_rate == Fraction(30000, 1001)
    assert info.num_frames == 10
    assert info.has_audio and info.audio_codecs == ("aac",)
    assert info.duration == pytest.approx(10 * 1001 / 30000, abs=1e-3)


def test_read_frames_keeps_content_and_timestamps(tmp_path):
    path = tmp_path / "a.mkv"
    pts = make_clip(path, frames=6, codec="ffv1", pix_fmt="yuv444p", time_base=Fraction(1, 1000), rate=Fraction(25))
    frames = list(read_frames(path))
    assert [f.pts for f in frames] == pts
    assert [f.time for f in frames] == pytest.approx([p / 1000 for p in pts])
    assert frames[3].image.shape == (32, 48, 3) and frames[3].image.dtype == np.uint8
    # ffv1 4:4:4 is lossless up to the RGB<->YUV rounding
    assert np.abs(frames[3].image.astype(int) - pattern(48, 32, 3)).mean() < 3


def test_ten_bit_input_decodes_to_correct_rgb(tmp_path):
    path = tmp_path / "ten.mp4"
    make_clip(path, frames=3, pix_fmt="yuv420p10le")
    assert probe(path).pix_fmt == "yuv420p10le"
    image = list(read_frames(path))[1].image
    assert np.abs(image.astype(int) - pattern(48, 32, 1)).mean() < 12  # no 10->8-bit garbage


@pytest.mark.parametrize("durations", [[40, 80, 20, 120]])
def test_variable_frame_rate_survives_a_round_trip(tmp_path, durations):
    src, dst = tmp_path / "vfr.mp4", tmp_path / "out.mp4"
    pts = make_clip(src, frames=9, time_base=Fraction(1, 1000), durations=durations)
    copy_clip(src, dst)
    out, tb = read_pts(dst)
    assert [float(p * tb) for p in out] == pytest.approx([p / 1000 for p in pts], abs=1e-3)


def test_ntsc_rate_survives_a_round_trip(tmp_path):
    src, dst = tmp_path / "ntsc.mp4", tmp_path / "out.mkv"
    pts = make_clip(src, frames=12, rate=Fraction(30000, 1001), time_base=Fraction(1, 30000))
    copy_clip(src, dst)
    out, tb = read_pts(dst)
    assert [float(p * tb) for p in out] == pytest.approx([p / 30000 for p in pts], abs=1e-3)
    assert probe(dst).frame_rate == Fraction(30000, 1001)


@pytest.mark.parametrize("suffix, encode", [(".avi", EncodeOptions()), (".avi", EncodeOptions(codec="mpeg4")), (".y4m", EncodeOptions(codec="rawvideo"))])
def test_constant_rate_containers_get_the_frame_rate_and_frames_in_order(tmp_path, suffix, encode):
    """AVI and Y4M store a rate, not timestamps: written in a fine time base they announced it as
    the rate (600 and 30000 fps), and B-frames in AVI played out of order."""
    src, dst = tmp_path / "ntsc.mp4", tmp_path / f"out{suffix}"
    make_clip(src, frames=12, rate=Fraction(30000, 1001), time_base=Fraction(1, 30000))
    copy_clip(src, dst, encode=encode)
    info = probe(dst)
    assert info.frame_rate == Fraction(30000, 1001)
    frames = list(read_frames(dst))
    assert len(frames) == 12
    assert [f.time for f in frames] == pytest.approx([i * 1001 / 30000 for i in range(12)], abs=1e-3)
    # the content in display order: each frame closest to the source frame at its position
    source = [f.image.astype(int) for f in read_frames(src)]
    for i, f in enumerate(frames):
        errors = [np.abs(f.image.astype(int) - s).mean() for s in source]
        assert int(np.argmin(errors)) == i


@pytest.mark.parametrize("codec", ["libx264", "mpeg4"])
def test_variable_frame_rate_into_avi_keeps_its_timing(tmp_path, codec):
    """Bursts at 30 fps with 1 s gaps: AVI ticks at the base rate (30), the gaps become empty
    frames, and every frame stays at its time (ticking at the average rate, 10 fps, drifted by
    0.9 s; and mpeg4 refused its 46789/480000 time base). AVI stores each frame's place in its
    index (the packet's dts): that is what players show. FFmpeg's own pts guess for H.264 in AVI
    is one frame off, and AAC's priming delay shifts the video by up to one tick: hence the bound."""
    src, dst = tmp_path / "vfr.mp4", tmp_path / "out.avi"
    pts = make_clip(src, frames=30, time_base=Fraction(1, 16000), durations=[533] * 9 + [16000], audio=True)
    copy_clip(src, dst, encode=EncodeOptions(codec=codec))
    with av.open(str(dst)) as c:
        stream = c.streams.video[0]
        places = [float(p.dts * stream.time_base) for p in c.demux(stream) if p.size]
    assert stream.time_base == Fraction(1, 30)
    assert places == pytest.approx([p / 16000 for p in pts], abs=1 / 30 + 1e-3)
    assert probe(dst).has_audio


def test_audio_is_copied_without_reencoding(tmp_path):
    src, dst = tmp_path / "a.mp4", tmp_path / "b.mkv"
    make_clip(src, frames=25, audio=True)
    copy_clip(src, dst)
    before, after = stream_summary(src), stream_summary(dst)
    assert after["audio"][0]["codec"] == "aac"
    assert after["audio"][0]["end"] == pytest.approx(before["audio"][0]["end"], abs=0.03)
    with av.open(str(src)) as a, av.open(str(dst)) as b:  # same packets, byte for byte
        pa = [bytes(p) for p in a.demux(audio=0) if p.size]
        pb = [bytes(p) for p in b.demux(audio=0) if p.size]
    assert pa == pb


def test_audio_the_container_cannot_hold_is_reencoded(tmp_path, caplog):
    src, dst = tmp_path / "a.avi", tmp_path / "b.mp4"
    make_alaw_clip(src)  # an A-law track, which .mp4 cannot carry
    copy_clip(src, dst)
    summary = stream_summary(dst)
    assert summary["audio"][0]["codec"] == "aac"
    assert summary["audio"][0]["end"] == pytest.approx(1.0, abs=0.05)
    assert "re-encoding" in caplog.text


def test_subtitles_are_copied_into_mkv_and_named_when_mp4_cannot_hold_them(tmp_path, caplog):
    src = tmp_path / "s.mkv"
    make_clip(src, frames=30, audio=True, subtitles=True)
    assert probe(src).subtitle_codecs == ("srt",)
    copy_clip(src, tmp_path / "out.mkv")
    assert probe(tmp_path / "out.mkv").subtitle_codecs == ("srt",)
    copy_clip(src, tmp_path / "out.mp4")
    assert probe(tmp_path / "out.mp4").subtitle_codecs == ("mov_text",)  # timed text, rewritten (io.textsubs)


def test_odd_output_size_is_padded_to_even(tmp_path):
    """yuv420p needs even sizes: one repeated row and column, the picture itself untouched."""
    dst = tmp_path / "odd.mkv"
    images = [np.repeat(pattern(33, 21, i)[..., 1:2], 3, axis=2) for i in range(3)]  # grey: 4:2:0 chroma loses nothing
    with VideoWriter(dst, width=33, height=21, time_base=Fraction(1, 10), frame_rate=Fraction(10), encode=EncodeOptions(codec="ffv1", crf=None, preset=None, pix_fmt="yuv420p")) as w:
        for i, image in enumerate(images):
            w.write(image, i)
    info = probe(dst)
    assert (info.width, info.height) == (34, 22)
    for frame, image in zip(read_frames(dst), images):
        got = frame.image.astype(int)
        assert np.abs(got[:21, :33] - image).max() <= 3  # lossless but for the YUV round trip
        assert np.abs(got[:21, 33] - image[:, 32]).max() <= 3 and np.abs(got[21, :33] - image[20]).max() <= 3  # repeated edge
        assert np.abs(got[21, 33] - image[20, 32]).max() <= 3


def test_rotation_metadata_is_kept(tmp_path):
    src, dst = tmp_path / "r.mp4", tmp_path / "out.mp4"
    with VideoWriter(src, width=32, height=16, time_base=Fraction(1, 10), frame_rate=Fraction(10), rotation=90) as w:
        for i in range(3):
            w.write(pattern(32, 16, i), i)
    assert probe(src).rotation == 90
    info = copy_clip(src, dst)
    assert probe(dst).rotation == info.rotation == 90


def test_probe_reads_the_sample_aspect_ratio(tmp_path):
    """Non-square pixels: an .mp4's 'pasp' box, or (an .mkv written by PyAV) the H.264 headers alone."""
    for name, sar in (("dvd.mp4", Fraction(32, 27)), ("hdv.mkv", Fraction(4, 3))):
        make_anamorphic_clip(tmp_path / name, sar, frames=3)
        assert probe(tmp_path / name).sample_aspect_ratio == sar
    make_clip(tmp_path / "square.mp4", frames=3)
    assert probe(tmp_path / "square.mp4").sample_aspect_ratio is None


def pasp(path) -> Fraction | None:
    """The pixel aspect ratio in an .mp4/.mov's 'pasp' box (what QuickTime and browsers go by), None without one."""
    data = path.read_bytes()
    at = data.find(b"pasp")
    if at < 0:
        return None
    return Fraction(int.from_bytes(data[at + 4 : at + 8], "big"), int.from_bytes(data[at + 8 : at + 12], "big"))


@pytest.mark.parametrize("suffix", [".mp4", ".mov", ".mkv"])
def test_non_square_pixels_keep_their_shape(tmp_path, caplog, suffix):
    """A DVD's 32:27 pixels came out square: the picture played squeezed from 16:9 to 3:2."""
    src, dst = tmp_path / "dvd.mp4", tmp_path / f"out{suffix}"
    make_anamorphic_clip(src, Fraction(32, 27), frames=4)
    copy_clip(src, dst)
    with av.open(str(dst)) as c:
        stream = c.streams.video[0]
        assert stream.sample_aspect_ratio == Fraction(32, 27)  # as FFmpeg's players take it
        assert stream.codec_context.sample_aspect_ratio == Fraction(32, 27)  # in the H.264 headers
        assert stream.display_aspect_ratio == Fraction(16, 9)
    assert pasp(dst) == (None if suffix == ".mkv" else Fraction(32, 27))
    assert "pixel shape" not in caplog.text


def test_a_codec_that_cannot_keep_the_pixel_shape_is_named(tmp_path, caplog):
    """FFV1 has no aspect ratio of its own, and Matroska's display size is out of PyAV's reach: a warning, not silence."""
    src, dst = tmp_path / "dvd.mp4", tmp_path / "out.mkv"
    make_anamorphic_clip(src, Fraction(32, 27), frames=3)
    copy_clip(src, dst, encode=EncodeOptions(codec="ffv1", crf=None, preset=None, pix_fmt="yuv420p"))
    assert probe(dst).sample_aspect_ratio is None
    assert f"'{dst}': ffv1 video in .mkv does not record the source's pixel shape (sample aspect ratio 32:27)" in caplog.text


GIF_HOLD = [100, 100, 300, 100, 100, 500]  # ms: the last frame held half a second, 1.2 s in all


@pytest.mark.parametrize("suffix, encode", [(".mkv", EncodeOptions()), (".mp4", EncodeOptions(codec="mpeg4")), (".gif", EncodeOptions(codec="gif", crf=None, pix_fmt="rgb8"))])
def test_the_last_frame_keeps_its_duration(tmp_path, suffix, encode):
    """The muxer guessed the last frame's duration from the frame rate: 1.2 s came out 0.9 s.
    (MPEG-4 part 2 has no B-frames here: FFmpeg reads an .mp4 as ending where its last packet in
    decoding order does; with B-frames, that is rarely the last frame shown.)"""
    src, dst = tmp_path / "anim.gif", tmp_path / f"out{suffix}"
    make_gif(src, GIF_HOLD)
    copy_clip(src, dst, encode=encode)
    tick = float(probe(src).time_base)
    assert [f.time for f in read_frames(dst)] == pytest.approx([0, 0.1, 0.2, 0.5, 0.6, 0.7], abs=tick)
    assert stream_summary(src)["video"][0]["end"] == video_end(src) == pytest.approx(1.2)
    assert stream_summary(dst)["video"][0]["end"] == pytest.approx(1.2, abs=tick)  # the last frame's pts + duration
    assert video_end(dst) == pytest.approx(1.2, abs=tick)


def test_real_clip_reads_every_frame(cockatoo):
    info = probe(cockatoo)
    assert (info.width, info.height, info.frame_rate) == (1280, 720, 20)
    assert info.audio_codecs == ("mp3float",)
    count = sum(1 for _ in read_frames(cockatoo))
    assert count == info.num_frames == 280


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="'.*nope.mp4' does not exist"):
        probe(tmp_path / "nope.mp4")


def test_not_a_video(tmp_path):
    bad = tmp_path / "notes.mp4"
    bad.write_text("this is not a video\n" * 50)
    with pytest.raises(VideoError, match="not a video FFmpeg can read"):
        probe(bad)


def test_audio_only_file_has_no_video_stream(tmp_path):
    path = make_audio_only(tmp_path / "tone.m4a")
    with pytest.raises(VideoError, match="has no video stream; expected a video file"):
        probe(path)


def test_a_cover_listed_before_the_video_is_not_what_is_read(tmp_path):
    """An .mp4 whose cover image FFmpeg lists as stream #0 was probed and read as its video (one
    32x32 picture) and --denoise auto read the cover's JPEG. A file whose only picture is a cover has no video."""
    src, covered = tmp_path / "src.mp4", tmp_path / "covered.mp4"
    make_clip(src, width=48, height=32, frames=6, audio=True)
    with_cover_first(src, covered, jpeg(200))
    with av.open(str(covered)) as c:
        assert [s.type for s in c.streams] == ["video", "video", "audio"] and c.streams[0].codec_context.name == "mjpeg"
    info = probe(covered)
    assert (info.width, info.height, info.num_frames, info.frame_rate) == (48, 32, 6, 25)
    frames = list(read_frames(covered))
    assert [np.abs(f.image.astype(int) - pattern(48, 32, i)).mean() < 12 for i, f in enumerate(frames)] == [True] * 6
    assert read_quantiser(covered).kind == "h264"
    song = tmp_path / "song.mp4"
    with_cover_first(make_audio_only(tmp_path / "tone.m4a"), song, jpeg(100))
    with pytest.raises(VideoError, match=r"song.mp4' has no video stream \(only a cover image\); expected a video file"):
        probe(song)


def test_truncated_file_is_reported(tmp_path, caplog):
    """A cut file gives frames from before the cut, each exactly the full file's at its timestamp (a
    B-frame whose reference was cut away is left out, never shown broken), and a warning naming it."""
    src = tmp_path / "full.mkv"
    make_clip(src, frames=40, width=64, height=64)
    data = src.read_bytes()
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(data[: len(data) // 3])
    full = {f.pts: f.image for f in read_frames(src)}
    frames = list(read_frames(cut))
    assert 4 < len(frames) < 20
    assert [f.pts for f in frames[:5]] == sorted(full)[:5]
    for frame in frames:
        assert np.array_equal(frame.image, full[frame.pts])
    assert "cut.mkv' is truncated" in caplog.text


def test_i420_frames_from_the_tensor_path_match_rgb_frames(tmp_path):
    import torch

    from vsrgan.io import frames

    images = np.stack([pattern(38, 22, i) for i in range(3)])
    planes = frames.to_i420(frames.to_tensor(images))
    assert planes.shape == (3, 33, 38) and planes.dtype == torch.uint8
    reference = av.VideoFrame.from_ndarray(images[1], format="rgb24").reformat(
        format="yuv420p", dst_colorspace="ITU601", dst_color_range="MPEG").to_ndarray()  # what write() makes at this SD size
    diff = np.abs(reference.astype(int) - planes[1].numpy())
    assert diff[:22].max() <= 1 and diff.max() <= 2 and diff.mean() < 0.2  # swscale's BT.601; its chroma filter differs slightly
    a, b = tmp_path / "rgb.mkv", tmp_path / "i420.mkv"
    for path, write in ((a, "write"), (b, "write_i420")):
        with VideoWriter(path, width=38, height=22, time_base=Fraction(1, 10), frame_rate=Fraction(10), encode=EncodeOptions(codec="ffv1", crf=None, preset=None)) as w:
            for i in range(3):
                getattr(w, write)(images[i] if write == "write" else planes[i].numpy(), i)
    for fa, fb in zip(read_frames(a), read_frames(b)):  # chroma rounding, amplified by YUV -> RGB
        diff = np.abs(fa.image.astype(int) - fb.image)
        assert diff.max() <= 6 and diff.mean() < 1


def test_i420_pads_an_odd_frame_with_its_edge():
    """An odd-sized frame on the tensor path is padded by repeating its last row and column, as
    VideoWriter.write pads it: black padding would show as a dark edge and pull the last real
    column's chroma (averaged 2x2 with the padding) towards grey."""
    from vsrgan.io import frames

    image = pattern(37, 21, 2)
    planes = frames.to_i420(frames.to_tensor(image))[0].numpy()
    assert planes.shape == (33, 38)  # padded to 38x22: Y 22 rows, then U and V of 11x19 each
    padded = np.pad(image, ((0, 1), (0, 1), (0, 0)), mode="edge")
    reference = av.VideoFrame.from_ndarray(padded, format="rgb24").reformat(
        format="yuv420p", dst_colorspace="ITU601", dst_color_range="MPEG").to_ndarray()  # swscale's, of the edge-padded frame
    diff = np.abs(reference.astype(int) - planes.astype(int))
    assert diff[:22].max() <= 1 and diff.max() <= 2 and diff.mean() < 0.2


@pytest.mark.parametrize("name,start,audio_seconds", [
    ("longaudio.mp4", 0.0, 3.0), ("longaudio.mkv", 0.0, 3.0), ("late.mkv", 5.0, None), ("late.mp4", 5.0, None),
    ("late.ts", 5.0, 3.0), ("late-long.mkv", 5.0, 3.0),
])
def test_whole_files_are_not_called_truncated(tmp_path, caplog, name, start, audio_seconds):
    """The header's end is the video's own (audio may run on), counted from where its timestamps start."""
    make_late_clip(tmp_path / name, start=start, audio_seconds=audio_seconds)
    assert len(list(read_frames(tmp_path / name))) == 16
    assert "truncated" not in caplog.text


def upscale_to(src, out, **encode):
    from vsrgan import upscale

    upscale(src, out, model="bicubic", scale=2, progress=False, **{"preset": "ultrafast", **encode})


@pytest.mark.parametrize("source,output,encode,expected", [
    ("a.mp4", "x", {}, "no video format for a name without a suffix"),
    ("a.mp4", "x.xyz", {}, "no video format for the suffix '.xyz'"),
    ("a.mp4", "p.mp4", {"preset": "bogus"}, "unknown preset 'bogus' for libx264"),
    ("a.mp4", "p.mp4", {"pix_fmt": "rgb24"}, "libx264 cannot encode pix_fmt rgb24; try yuv420p or yuv444p"),
    ("a.mp4", "p.mp4", {"pix_fmt": "bogus"}, "'bogus' is not a pixel format"),
    ("a.mp4", "p.mp4", {"codec": "aac"}, "'aac' is not a video codec"),
    ("a.mp4", "p.mp4", {"codec": "nonesuch"}, "video codec 'nonesuch' is not in this FFmpeg build"),
    ("a.mkv", "v.mov", {"codec": "libvpx-vp9"}, "a .mov container cannot hold libvpx-vp9 video"),
    ("s.mkv", "subs.webm", {}, "a .webm container cannot hold libx264 video"),
    ("a.mp4", "b.y4m", {}, "a .y4m container cannot hold libx264 video"),
])
def test_output_settings_refused_in_one_line_naming_the_output(tmp_path, source, output, encode, expected):
    src, folder = tmp_path / source, tmp_path / "out"
    make_clip(src, frames=6, audio=True, subtitles=source.startswith("s"))
    with pytest.raises(VideoError) as error:
        upscale_to(src, folder / output, **encode)
    message = str(error.value)
    assert expected in message and f"'{folder / output}'" in message and ".partial" not in message, message
    assert len(message.splitlines()) == 1
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize("output", ["b.y4m", "c.gif", "d.webm"])
def test_a_container_that_refuses_the_codec_names_flags_that_work(tmp_path, caplog, output):
    """The default libx264 into a container that holds only raw video, GIF or VP8/VP9/AV1: one line
    that names the --codec (and --pix-fmt) to give, before the audio is said to be left out of a
    file that is never written; given those flags, the file is written."""
    src, out = tmp_path / "a.mp4", tmp_path / output
    make_clip(src, frames=6, audio=True)
    with pytest.raises(VideoError) as error:
        upscale_to(src, out)
    message = str(error.value)
    assert f"a {out.suffix} container cannot hold libx264 video; use --codec" in message and len(message.splitlines()) == 1
    assert "cannot go into" not in caplog.text and not out.exists()
    codec, pix_fmt = re.search(r"use --codec (\S+?)(?: --pix-fmt (\S+?))?,", message).groups()
    upscale_to(src, out, codec=codec, pix_fmt=pix_fmt, preset=None, crf=None)
    assert sum(1 for _ in read_frames(out)) == 6
