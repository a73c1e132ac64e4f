"""What real users' files hold, through `vsrgan upscale` as a user runs it: several audio tracks with
their languages, subtitle streams, 10-bit video, odd sizes, one frame or none, WebM and QuickTime
(interlaced video and a phone's rotation tag: test_field_order_and_rotation.py). Every file is made here with PyAV's own encoders."""

from fractions import Fraction

import av
import numpy as np
import pytest
from layouts import FRAMES, H, W, add_tone, add_video, encode_tone, encode_video, ends, streams, upscale

from vsrgan.io.video import probe, read_frames

# ---- 1. several audio tracks --------------------------------------------------------------------

TRACKS = [("aac", "eng", "English", 440), ("ac3", "fra", "Français", 660), ("libmp3lame", "deu", "Deutsch", 880)]


@pytest.mark.parametrize("suffix", [".mkv", ".mp4"])
def test_every_audio_track_keeps_its_place_language_and_title(tmp_path, suffix):
    src, dst = tmp_path / f"in{suffix}", tmp_path / f"out{suffix}"
    with av.open(str(src), "w") as c:
        c.metadata["title"] = "Film"
        v = add_video(c)
        audio = [(add_tone(c, codec, language=lang, title=title), freq) for codec, lang, title, freq in TRACKS]
        encode_video(c, v)
        for a, freq in audio:
            encode_tone(c, a, FRAMES / 25, freq)
    code, lines = upscale(src, dst)
    assert code == 0 and lines == [f"wrote {dst}"]
    kept, title = streams(dst)
    assert title == "Film"
    assert kept == [("video", "h264", kept[0][2], None), ("audio", "aac", "eng", "English"), ("audio", "ac3", "fra", "Français"),
                    ("audio", "mp3float", "deu", "Deutsch")]
    a, b = ends(src), ends(dst)
    assert b[0] == pytest.approx(FRAMES / 25)
    for index in (1, 2, 3):
        assert b[index] == pytest.approx(a[index], abs=0.03)  # each track as long as it was


# ---- 2. subtitles -------------------------------------------------------------------------------

SRT = "1\n00:00:00,000 --> 00:00:00,120\nhello\n\n2\n00:00:00,120 --> 00:00:00,240\nworld\n"
ASS = """[Script Info]
ScriptType: v4.00+

[V4+ Styles]
Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, Underline, StrikeOut, \
ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding
Style: Default,Arial,20,&H00FFFFFF,&H000000FF,&H00000000,&H00000000,0,0,0,0,100,100,0,0,1,1,0,2,10,10,10,1

[Events]
Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text
Dialogue: 0,0:00:00.00,0:00:00.20,Default,,0,0,0,,bonjour
"""


def subtitled_mkv(tmp_path):
    """An .mkv with an SRT (eng) and an ASS (fra) track, from files FFmpeg reads."""
    (tmp_path / "s.srt").write_text(SRT)
    (tmp_path / "s.ass").write_text(ASS)
    path = tmp_path / "sub.mkv"
    with av.open(str(tmp_path / "s.srt")) as srt, av.open(str(tmp_path / "s.ass")) as ass, av.open(str(path), "w") as c:
        v = add_video(c)
        tracks = [(srt, c.add_stream_from_template(srt.streams[0])), (ass, c.add_stream_from_template(ass.streams[0]))]
        tracks[0][1].metadata["language"], tracks[1][1].metadata["language"] = "eng", "fra"
        encode_video(c, v)
        for source, stream in tracks:
            for packet in source.demux():
                if packet.size:
                    packet.stream = stream
                    c.mux(packet)
    return path


def subtitle_packets(path):
    with av.open(str(path)) as c:
        return [[(float(p.pts * p.time_base), float(p.duration * p.time_base), bytes(p)) for p in c.demux(s) if p.size]
                for s in c.streams.subtitles]


def test_text_subtitles_go_into_an_mkv_as_they_were(tmp_path):
    src = subtitled_mkv(tmp_path)
    code, lines = upscale(src, tmp_path / "out.mkv")
    assert code == 0 and len(lines) == 1
    assert streams(tmp_path / "out.mkv")[0][1:] == [("subtitle", "srt", "eng", None), ("subtitle", "ssa", "fra", None)]
    assert subtitle_packets(tmp_path / "out.mkv") == subtitle_packets(src)  # every line, at its time, for as long


def test_srt_goes_into_an_mp4_as_mov_text_and_styled_subtitles_are_named(tmp_path):
    """An .mp4 holds timed text as mov_text: the SRT's cues are rewritten into it (same text, same
    times); ASS's styling has no place there, so it is left out, named."""
    src = subtitled_mkv(tmp_path)
    code, lines = upscale(src, tmp_path / "out.mp4")
    assert code == 0
    assert [line for line in lines if "subtitle stream" in line] == [
        "vsrgan: subtitle stream #2 (ssa) cannot go into '.mp4'; it is left out (an .mkv output keeps it)"]
    assert [s[:3] for s in streams(tmp_path / "out.mp4")[0]] == [("video", "h264", "und"), ("subtitle", "mov_text", "eng")]
    srt = subtitle_packets(src)[0]
    assert cues(tmp_path / "out.mp4") == [(start, text) for start, _, text in srt]


def mov_text_mp4(path):
    """An .mp4 with a mov_text (3GPP timed text) track, as phones and iTunes write: two cues. PyAV cannot
    open the mov_text encoder (it wants an ASS header), so the track is templated from an unopened one."""
    import io

    template = av.open(io.BytesIO(), "w", format="mp4").add_stream("mov_text")
    with av.open(str(path), "w") as c:
        v = add_video(c)
        s = c.add_stream_from_template(template)
        s.metadata["language"], s.time_base = "eng", Fraction(1, 1000)
        encode_video(c, v)
        for start, text in ((0, b"hello"), (120, b"world")):
            packet = av.Packet(len(text).to_bytes(2, "big") + text)
            packet.stream, packet.pts, packet.dts, packet.duration, packet.time_base = s, start, start, 120, Fraction(1, 1000)
            c.mux(packet)
    return path


def cues(path):
    """The non-empty mov_text cues of ``path``: (start s, text)."""
    with av.open(str(path)) as c:
        return [(float(p.pts * p.time_base), bytes(p)[2:]) for p in c.demux(c.streams.subtitles[0]) if p.size > 2]


@pytest.mark.parametrize("suffix", [".mp4", ".mov"])
def test_mov_text_subtitles_stay_in_mp4_and_mov(tmp_path, suffix):
    src, dst = mov_text_mp4(tmp_path / "in.mp4"), tmp_path / f"out{suffix}"
    code, lines = upscale(src, dst)
    assert code == 0 and len(lines) == 1
    assert streams(dst)[0][1][:3] == ("subtitle", "mov_text", "eng")
    assert cues(dst) == cues(src) == [(0.0, b"hello"), (0.12, b"world")]


def test_mov_text_subtitles_go_into_an_mkv_as_srt(tmp_path):
    """A phone's .mp4 into .mkv: its mov_text cues become SubRip, same text, same times (they were
    left out, with a warning that an .mkv output would keep them)."""
    src, dst = mov_text_mp4(tmp_path / "in.mp4"), tmp_path / "out.mkv"
    code, lines = upscale(src, dst)
    assert code == 0 and len(lines) == 1, lines
    assert streams(dst)[0][1][:3] == ("subtitle", "srt", "eng")  # FFmpeg reads SubRip in Matroska back as "srt"
    assert [(start, text) for start, _, text in subtitle_packets(dst)[0]] == [(0.0, b"hello"), (0.12, b"world")]


# ---- 3. 10-bit ----------------------------------------------------------------------------------

PATCH = (500, 400, 620)  # a flat 10-bit Y, Cb, Cr: an orange, limited range, BT.601 (SD, untagged)


def flat_10_bit(path, codec, options):
    with av.open(str(path), "w") as c:
        v = add_video(c, codec, pix_fmt="yuv420p10le", options=options)
        for i in range(4):
            frame = av.VideoFrame(W, H, "yuv420p10le")
            for plane, value in zip(frame.planes, PATCH):
                np.frombuffer(plane, np.uint16)[:] = value
            frame.pts = i
            c.mux(v.encode(frame))
        c.mux(v.encode(None))


def bt601(y, cb, cr):
    """Limited-range BT.601 Y'CbCr (8-bit scale) -> R'G'B' (0-255), the textbook formulas."""
    y, cb, cr = (y - 16) * 255 / 219, (cb - 128) * 255 / 224, (cr - 128) * 255 / 224
    r, b = y + 1.402 * cr, y + 1.772 * cb
    return np.array([r, (y - 0.299 * r - 0.114 * b) / 0.587, b])


@pytest.mark.parametrize("codec,options,profile", [("libx265", {"x265-params": "log-level=error:lossless=1"}, "Main 10"),
                                                   ("libx264", {"crf": "1"}, "High 10")])
@pytest.mark.parametrize("out,flags,pix_fmt", [("out.mp4", (), "yuv420p"), ("out.mkv", ("--pix-fmt", "yuv420p10le"), "yuv420p10le")])
def test_10_bit_video_keeps_its_colours(tmp_path, codec, options, profile, out, flags, pix_fmt):
    """Read right, into 8 bits a channel; the output 8-bit by default (yuv420p), 10-bit when asked."""
    src = tmp_path / "in.mkv"
    flat_10_bit(src, codec, options)
    with av.open(str(src)) as c:
        assert (c.streams.video[0].codec_context.pix_fmt, c.streams.video[0].codec_context.profile) == ("yuv420p10le", profile)
    expected = bt601(*(v / 4 for v in PATCH))  # (170.0, 115.9, 70.4)
    assert np.abs(next(read_frames(src)).image[8, 8] - expected).max() < 0.6
    code, _ = upscale(src, tmp_path / out, *flags)
    assert code == 0 and probe(tmp_path / out).pix_fmt == pix_fmt
    assert np.abs(next(read_frames(tmp_path / out)).image[20, 20] - expected).max() < 1.6  # + one 8-bit YUV rounding


# ---- 6. odd sizes, one frame, none ---------------------------------------------------------------


@pytest.mark.parametrize("scale,size", [(2, (126, 94)), (3, (190, 142))])  # 189x141 padded by a repeated row and column
def test_an_odd_sized_video_upscales_whole(tmp_path, scale, size):
    src, dst = tmp_path / "in.mp4", tmp_path / "out.mp4"
    with av.open(str(src), "w") as c:
        encode_video(c, add_video(c, width=63, height=47, pix_fmt="yuv444p"), frames=3)
    code, _ = upscale(src, dst, "-s", scale)
    assert code == 0
    frames = list(read_frames(dst))
    assert len(frames) == 3 and frames[0].image.shape[1::-1] == size


def test_a_one_frame_video_gives_one_frame(tmp_path):
    src, dst = tmp_path / "in.mkv", tmp_path / "out.mp4"
    with av.open(str(src), "w") as c:
        encode_video(c, add_video(c), frames=1)
    code, lines = upscale(src, dst)
    assert code == 0 and lines == [f"wrote {dst}"]
    assert [f.image.shape for f in read_frames(dst)] == [(2 * H, 2 * W, 3)]


def test_a_video_with_no_decodable_frame_is_one_line_and_no_output(tmp_path):
    src = tmp_path / "junk.mkv"
    with av.open(str(src), "w") as c:
        v = add_video(c)
        c.start_encoding()
        for i in range(5):  # H.264 packets that hold no picture
            packet = av.Packet(bytes(range(200)) * 3)
            packet.stream, packet.pts, packet.dts, packet.time_base = v, i, i, Fraction(1, 25)
            c.mux(packet)
    code, lines = upscale(src, tmp_path / "out.mp4")
    assert code != 0 and lines == [f"vsrgan: error: '{src}' has a video stream with no decodable frames; the file is truncated or corrupt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["junk.mkv"]


# ---- 7. WebM and QuickTime ----------------------------------------------------------------------


def webm(path):
    with av.open(str(path), "w") as c:
        v, a = add_video(c, "libvpx-vp9"), add_tone(c, "libopus", language="eng")
        encode_video(c, v)
        encode_tone(c, a, FRAMES / 25, 440)
    return path


def test_webm_in_and_out(tmp_path):
    src, dst = webm(tmp_path / "in.webm"), tmp_path / "out.webm"
    code, lines = upscale(src, dst, "--codec", "libvpx-vp9")
    assert code == 0 and lines == [f"wrote {dst}"]
    assert streams(dst)[0] == [("video", "vp9", None, None), ("audio", "opus", "eng", None)]
    assert sum(1 for _ in read_frames(dst)) == FRAMES
    assert ends(dst) == pytest.approx(ends(src), abs=0.002)


def test_a_webm_output_without_a_webm_codec_is_one_line(tmp_path):
    dst = tmp_path / "x264.webm"
    code, lines = upscale(webm(tmp_path / "in.webm"), dst)
    assert code != 0 and lines == [f"vsrgan: error: '{dst}': a .webm container cannot hold libx264 video; "
                                   "use --codec libvpx-vp9, or another output suffix such as .mkv"]
    assert not dst.exists()


def test_quicktime_in_and_out(tmp_path):
    src, dst = tmp_path / "in.mov", tmp_path / "out.mov"
    with av.open(str(src), "w") as c:
        v, a = add_video(c), add_tone(c, "aac")
        encode_video(c, v)
        encode_tone(c, a, FRAMES / 25, 440)
    code, lines = upscale(src, dst)
    assert code == 0 and lines == [f"wrote {dst}"]
    assert [s[:2] for s in streams(dst)[0]] == [("video", "h264"), ("audio", "aac")]
    assert sum(1 for _ in read_frames(dst)) == FRAMES
    assert ends(dst) == pytest.approx(ends(src), abs=0.002)
