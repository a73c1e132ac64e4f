"""Colour matrices on real encoded clips: sources decode as players show them; outputs take the matrix
players assume for their size (BT.709 for HD) and say so."""

from fractions import Fraction

import av
import numpy as np
import pytest

from vsrgan.io import colour, frames
from vsrgan.io.encoding import EncodeOptions
from vsrgan.io.video import read_frames
from vsrgan.io.writer import VideoWriter

# Saturated colours, where the BT.601 and BT.709 matrices disagree most: BT.601-converted red
# (217, 28, 28) shows as (233, 45, 25) in a player that assumes BT.709.
COLOURS = [(217, 28, 28), (29, 198, 57), (40, 60, 200), (230, 200, 20)]
LOSSLESS_X264 = EncodeOptions(codec="libx264", crf=0, preset="ultrafast")


def blocks(width: int = 64, height: int = 32) -> np.ndarray:
    """``uint8 (H, W, 3)``: one solid block of each colour, side by side, on even columns."""
    image = np.zeros((height, width, 3), np.uint8)
    step = width // len(COLOURS)
    for i, c in enumerate(COLOURS):
        image[:, i * step:(i + 1) * step] = c
    return image


def block_colours(image: np.ndarray) -> np.ndarray:
    """The centre pixel of each block, ``int (len(COLOURS), 3)``: away from chroma-subsampled edges."""
    h, w = image.shape[:2]
    step = w // len(COLOURS)
    return np.array([image[h // 2, i * step + step // 2] for i in range(len(COLOURS))], int)


def make_source(path, image: np.ndarray, *, matrix: colour.Matrix, tagged: bool, frames_: int = 2) -> None:
    """A lossless H.264 clip of ``image`` converted with ``matrix``, its header naming it or nothing."""
    h, w = image.shape[:2]
    with av.open(str(path), "w") as c:
        v = c.add_stream("libx264", rate=10)
        v.width, v.height, v.pix_fmt = w, h, "yuv420p"
        v.codec_context.options = {"crf": "0", "preset": "ultrafast"}
        if tagged:
            code = {"ITU709": 1, "ITU601": 6}[matrix.name]  # AVColorSpace: bt709, smpte170m
            v.codec_context.colorspace = code
            v.codec_context.color_primaries = code
            v.codec_context.color_trc = code
            v.codec_context.color_range = colour.LIMITED
        for i in range(frames_):
            f = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(
                format="yuv420p", dst_colorspace=matrix.name, dst_color_range="MPEG")
            f.pts = i
            c.mux(v.encode(f))
        c.mux(v.encode(None))


def decode_as(path, matrix: colour.Matrix) -> np.ndarray:
    """The first frame of ``path`` converted with ``matrix``, limited range: what a player shows."""
    with av.open(str(path)) as c:
        frame = next(c.decode(video=0))
        return frame.to_ndarray(format="rgb24", src_colorspace=matrix.name, src_color_range="MPEG")


def stream_tags(path) -> tuple[int, int, int, int]:
    with av.open(str(path)) as c:
        cc = c.streams.video[0].codec_context
        return cc.colorspace, cc.color_primaries, cc.color_trc, cc.color_range


def copy(src, dst, encode: EncodeOptions = LOSSLESS_X264) -> None:
    first = next(read_frames(src)).image
    with VideoWriter(dst, width=first.shape[1], height=first.shape[0], time_base=Fraction(1, 10),
                     frame_rate=Fraction(10), encode=encode) as w:
        for f in read_frames(src):
            w.write(f.image, f.pts)


def test_matrix_rows_are_the_standard_ones():
    assert np.allclose(colour.BT601.rgb_to_ycbcr(), [[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5],
                                                     [0.5, -0.418688, -0.081312]], atol=1e-6)
    assert np.allclose(colour.BT709.rgb_to_ycbcr(), [[0.2126, 0.7152, 0.0722], [-0.114572, -0.385428, 0.5],
                                                     [0.5, -0.454153, -0.045847]], atol=1e-6)


def test_untagged_video_gets_the_players_guess():
    assert colour.guess_matrix(720, 576) is colour.BT601  # PAL SD
    assert colour.guess_matrix(640, 480) is colour.BT601
    assert colour.guess_matrix(1280, 720) is colour.BT709
    assert colour.guess_matrix(960, 720) is colour.BT709  # 4:3 HD


@pytest.mark.parametrize("size, matrix, tags", [((64, 32), colour.BT601, (6, 6, 6, 1)), ((1280, 720), colour.BT709, (1, 1, 1, 1))])
def test_bt709_source_round_trips_with_its_colours_and_is_tagged(tmp_path, size, matrix, tags):
    """A BT.709-tagged source decodes by its tag (at 64x32 the guess would be BT.601); the output
    takes its own size's matrix, tagged (matrix, primaries, transfer; tv range)."""
    src, dst = tmp_path / "709.mp4", tmp_path / "out.mp4"
    make_source(src, blocks(*size), matrix=colour.BT709, tagged=True, frames_=1)
    decoded = block_colours(next(read_frames(src)).image)
    assert np.abs(decoded - COLOURS).max() <= 2
    copy(src, dst)
    assert stream_tags(dst) == tags
    assert np.abs(block_colours(next(read_frames(dst)).image) - COLOURS).max() <= 4  # two roundings, swscale's bias
    other = colour.BT601 if matrix is colour.BT709 else colour.BT709
    assert np.abs(block_colours(decode_as(dst, matrix)) - COLOURS).max() <= 4  # a player, by tag or by size
    assert np.abs(block_colours(decode_as(dst, other)) - COLOURS).max() > 15  # the matrix mattered


def test_an_output_that_loses_its_tags_still_plays_right(tmp_path):
    """mpeg4 in .avi keeps no colour tags: a player guesses by size, and the conversion followed the same guess."""
    dst = tmp_path / "out.avi"
    with VideoWriter(dst, width=64, height=32, time_base=Fraction(1, 10), frame_rate=Fraction(10),
                     encode=EncodeOptions(codec="mpeg4", crf=None, preset=None)) as w:
        w.write(blocks(), 0)
    assert stream_tags(dst)[0] == colour.UNSPECIFIED
    assert np.abs(block_colours(decode_as(dst, colour.guess_matrix(64, 32))) - COLOURS).max() <= 6  # mpeg4 is lossy


def test_mjpeg_output_is_bt601_at_any_size(tmp_path):
    dst = tmp_path / "out.mkv"
    with VideoWriter(dst, width=1280, height=720, time_base=Fraction(1, 10), frame_rate=Fraction(10),
                     encode=EncodeOptions(codec="mjpeg", crf=None, preset=None, pix_fmt="yuvj420p")) as w:
        w.write(blocks(1280, 720), 0)
    assert np.abs(block_colours(next(read_frames(dst)).image) - COLOURS).max() <= 4


def test_gray_output_is_tagged_full_range(tmp_path):
    dst = tmp_path / "gray.mkv"
    image = np.zeros((32, 64, 3), np.uint8)
    image[:, 32:] = 255
    with VideoWriter(dst, width=64, height=32, time_base=Fraction(1, 10), frame_rate=Fraction(10),
                     encode=EncodeOptions(codec="ffv1", crf=None, preset=None, pix_fmt="gray")) as w:
        w.write(image, 0)
    assert stream_tags(dst)[3] == colour.FULL
    with av.open(str(dst)) as c:
        luma = next(c.decode(video=0)).to_ndarray()
    assert luma[:, :32].max() == 0 and luma[:, 32:].min() == 255  # stored full range, as tagged


@pytest.mark.parametrize("tagged", [False, True])
def test_sd_bt601_source_decodes_with_bt601(tmp_path, tagged):
    src = tmp_path / "601.mp4"
    make_source(src, blocks(), matrix=colour.BT601, tagged=tagged)
    assert np.abs(block_colours(next(read_frames(src)).image) - COLOURS).max() <= 2


def test_untagged_hd_source_decodes_with_bt709_as_players_do(tmp_path):
    src = tmp_path / "hd.mp4"
    make_source(src, blocks(1280, 720), matrix=colour.BT709, tagged=False, frames_=1)
    assert stream_tags(src)[0] == colour.UNSPECIFIED
    assert np.abs(block_colours(next(read_frames(src)).image) - COLOURS).max() <= 2


@pytest.mark.parametrize("size, code", [((64, 32), 6), ((1280, 720), 1)])
def test_write_and_write_i420_agree_with_each_other_and_the_input(tmp_path, size, code):
    image = blocks(*size)
    planes = frames.to_i420(frames.to_tensor(image))[0].numpy()
    a, b = tmp_path / "rgb.mkv", tmp_path / "i420.mkv"
    lossless = EncodeOptions(codec="ffv1", crf=None, preset=None)
    for path, write, data in ((a, "write", image), (b, "write_i420", planes)):
        with VideoWriter(path, width=size[0], height=size[1], time_base=Fraction(1, 10), frame_rate=Fraction(10), encode=lossless) as w:
            getattr(w, write)(data, 0)
        assert stream_tags(path) == (code, code, code, 1)
    via_rgb, via_i420 = (block_colours(next(read_frames(p)).image) for p in (a, b))
    assert np.abs(via_rgb - via_i420).max() <= 2
    assert np.abs(via_rgb - COLOURS).max() <= 2 and np.abs(via_i420 - COLOURS).max() <= 2


@pytest.mark.parametrize("codec, pix_fmt", [("libx264rgb", "rgb24"), ("ffv1", "bgr0")])
def test_rgb_outputs_take_no_matrix_and_no_bt709_tags(tmp_path, codec, pix_fmt):
    dst = tmp_path / "rgb.mkv"
    image = blocks()
    with VideoWriter(dst, width=64, height=32, time_base=Fraction(1, 10), frame_rate=Fraction(10),
                     encode=EncodeOptions(codec=codec, crf=0 if codec == "libx264rgb" else None, preset=None, pix_fmt=pix_fmt)) as w:
        w.write(image, 0)
    assert stream_tags(dst)[0] != 1
    assert np.array_equal(next(read_frames(dst)).image, image)  # lossless: no YUV step anywhere


def make_hdr_source(path, image: np.ndarray, *, trc: int = colour.PQ) -> None:
    """A lossless 10-bit H.264 clip of ``image`` (taken as PQ- or HLG-coded BT.2020 R'G'B'),
    converted with the BT.2020 matrix and tagged as HDR10 or HLG video is."""
    h, w = image.shape[:2]
    with av.open(str(path), "w") as c:
        v = c.add_stream("libx264", rate=10)
        v.width, v.height, v.pix_fmt = w, h, "yuv420p10le"
        v.codec_context.options = {"crf": "0", "preset": "ultrafast"}
        cc = v.codec_context
        cc.colorspace, cc.color_primaries, cc.color_trc, cc.color_range = 9, 9, trc, colour.LIMITED
        for i in range(2):
            f = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(
                format="yuv420p10le", dst_colorspace="BT2020", dst_color_range="MPEG")
            f.pts = i
            c.mux(v.encode(f))
        c.mux(v.encode(None))


@pytest.mark.parametrize("trc", [colour.PQ, colour.HLG])
def test_hdr_source_keeps_its_colours_tags_and_ten_bits(tmp_path, trc, caplog):
    """An HDR source's R'G'B' values are BT.2020 colours under PQ or HLG: tagged BT.709 they play
    washed out. The upscaled output is converted with BT.2020, tagged as the source, in 10 bits."""
    from vsrgan.io.video import probe
    from vsrgan.upscale import upscale

    src, dst = tmp_path / "hdr.mkv", tmp_path / "out.mkv"
    make_hdr_source(src, blocks(64, 32), trc=trc)
    assert probe(src).wide_colour == colour.WideColour(primaries=9, trc=trc)
    upscale(src, dst, model="bicubic", scale=2, crf=0, preset="ultrafast", progress=False)
    assert "is HDR" in caplog.text and "mastering-display metadata is not copied" in caplog.text
    assert stream_tags(dst) == (9, 9, trc, colour.LIMITED)
    assert probe(dst).pix_fmt == "yuv420p10le"
    source = block_colours(next(read_frames(src)).image)  # swscale's 4:2:0 round trip is off by up to 3
    assert np.abs(block_colours(next(read_frames(dst)).image) - source).max() <= 4
    with av.open(str(dst)) as c:  # as a player converts it: by the BT.2020 matrix
        shown = next(c.decode(video=0)).to_ndarray(format="rgb24", src_colorspace="BT2020", src_color_range="MPEG")
        assert np.abs(block_colours(shown) - source).max() <= 4
    with av.open(str(dst)) as c:  # the matrix mattered: by BT.709 the colours are off
        wrong = next(c.decode(video=0)).to_ndarray(format="rgb24", src_colorspace="ITU709", src_color_range="MPEG")
        assert np.abs(block_colours(wrong) - source).max() >= 8


def test_an_explicit_pix_fmt_is_kept_for_an_hdr_source(tmp_path):
    from vsrgan.io.video import probe
    from vsrgan.upscale import upscale

    src, dst = tmp_path / "hdr.mkv", tmp_path / "out.mp4"
    make_hdr_source(src, blocks(64, 32))
    upscale(src, dst, model="bicubic", scale=2, pix_fmt="yuv420p", preset="ultrafast", progress=False)
    assert probe(dst).pix_fmt == "yuv420p"
    assert stream_tags(dst) == (9, 9, colour.PQ, colour.LIMITED)  # 8 bits, but still BT.2020 and PQ


def test_sdr_output_pix_fmt_defaults_to_eight_bits():
    assert EncodeOptions().pix_fmt is None  # chosen by the source: every writer resolves it
    assert EncodeOptions(pix_fmt=None).for_colour(False).pix_fmt == "yuv420p"
    assert EncodeOptions(pix_fmt=None).for_colour(True).pix_fmt == "yuv420p10le"
    assert EncodeOptions(pix_fmt=None, codec="mjpeg").for_colour(True).pix_fmt == "yuv420p"  # no 10-bit there
    assert EncodeOptions(pix_fmt="yuv444p").for_colour(True).pix_fmt == "yuv444p"


def test_a_pq_source_with_p3_primaries_keeps_them():
    frame = av.VideoFrame(16, 16, "yuv420p10le")
    frame.color_primaries, frame.color_trc = 12, colour.PQ  # P3-D65 in PQ, as streaming masters are
    assert colour.wide_colour(frame) == colour.WideColour(primaries=12, trc=colour.PQ)
    frame.color_primaries = colour.UNSPECIFIED
    assert colour.wide_colour(frame) == colour.WideColour(primaries=9, trc=colour.PQ)
    sdr = av.VideoFrame(16, 16, "yuv420p")
    assert colour.wide_colour(sdr) is None


def test_the_python_api_writes_hdr_in_ten_bits_by_default(tmp_path):
    from vsrgan.inference.upscaler import ModelOptions, Upscaler
    from vsrgan.io.video import probe
    from vsrgan.options import JobOptions
    from vsrgan.upscale import upscale_video

    src, dst = tmp_path / "hdr.mkv", tmp_path / "out.mkv"
    make_hdr_source(src, blocks(64, 32))
    upscale_video(Upscaler.from_options(ModelOptions(model="bicubic", scale=2, device="cpu")), src, dst, JobOptions(progress=False))
    assert probe(dst).pix_fmt == "yuv420p10le" and stream_tags(dst)[:3] == (9, 9, colour.PQ)


def test_an_untagged_full_range_source_keeps_its_levels(tmp_path):
    """A full-range (pc) source whose header names no matrix, as screen recorders and webcams write
    them, decodes with its own range: grey 16 stays 16 and 235 stays 235 (read as tv range, 16 and
    below would crush to black and 235 and above clip to white). Grey needs no matrix."""
    greys = [0, 16, 64, 128, 200, 235, 255]
    image = np.repeat(np.repeat(np.array(greys, np.uint8), 8)[None, :, None], 16, axis=0).repeat(3, axis=2)  # bands 8 wide
    src = tmp_path / "full.mkv"
    with av.open(str(src), "w") as c:
        v = c.add_stream("ffv1", rate=10)
        v.width, v.height, v.pix_fmt = image.shape[1], image.shape[0], "yuv420p"
        v.codec_context.color_range = colour.FULL
        f = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p", dst_colorspace="ITU601", dst_color_range="JPEG")
        f.color_range, f.pts = colour.FULL, 0
        c.mux(v.encode(f))
        c.mux(v.encode(None))
    assert stream_tags(src)[0] == colour.UNSPECIFIED and stream_tags(src)[3] == colour.FULL
    decoded = next(read_frames(src)).image
    assert np.abs(decoded[8, 4::8].astype(int) - np.array(greys)[:, None]).max() <= 2  # swscale's bias; tv range: 16 off


def test_a_yuv420p_source_read_and_written_losslessly_keeps_its_planes(tmp_path):
    """Decoding rounds as exactly as encoding: swscale's default YUV -> RGB path darkened every
    upscale of a yuv420p source by about one luma level (MODELS.md's scores with it)."""
    y, x = np.mgrid[0:48, 0:64]
    gradient = np.stack([x * 4, y * 5, 255 - x * 3], axis=-1).clip(0, 255).astype(np.uint8)
    src, dst = tmp_path / "in.mp4", tmp_path / "out.mp4"
    make_source(src, gradient, matrix=colour.BT601, tagged=True, frames_=1)
    copy(src, dst)

    def planes(path):
        with av.open(str(path)) as c:
            return next(c.decode(video=0)).to_ndarray(format="yuv420p").astype(int)

    diff = planes(dst) - planes(src)  # Y's 48 rows, then the chroma planes' (resampled down and up again)
    assert np.abs(diff[:48]).max() <= 1 and abs(diff[:48].mean()) < 0.05  # was -1.08 on average
    assert abs(diff[48:].mean()) < 0.5
