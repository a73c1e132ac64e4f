"""The main job end to end on real encoded files: frames, timing, audio, size; tiling."""

from fractions import Fraction

import av
import numpy as np
import pytest
import torch
from clips import make_anamorphic_clip, make_clip, make_gif, pattern
from conftest import SAMPLES, read_pts, stream_summary, video_end
from PIL import Image

from vsrgan import ConfigError, ModelOptions, Upscaler, upscale
from vsrgan.io.video import probe, read_frames
from vsrgan.models import Bicubic, Generator, save_generator


def check_same_timing_and_audio(src, dst, scale):
    a, b = probe(src), probe(dst)
    assert (b.width, b.height) == (a.width * scale + (a.width * scale) % 2, a.height * scale + (a.height * scale) % 2)
    pts_a, tb_a = read_pts(src)
    pts_b, tb_b = read_pts(dst)
    assert len(pts_a) == len(pts_b)
    one_frame = float(1 / a.frame_rate)
    times_a = np.array([float(p * tb_a) for p in pts_a])
    times_b = np.array([float(p * tb_b) for p in pts_b])
    assert np.abs(times_a - times_b).max() < float(max(tb_a, tb_b))  # every frame at its own time, to the tick
    sa, sb = stream_summary(src), stream_summary(dst)
    assert sb["video"][0]["end"] == pytest.approx(sa["video"][0]["end"], abs=one_frame)
    assert [s["codec"] for s in sa.get("audio", [])] == [s["codec"] for s in sb.get("audio", [])]
    for x, y in zip(sa.get("audio", []), sb.get("audio", [])):
        assert y["end"] == pytest.approx(x["end"], abs=0.05)


@pytest.mark.parametrize(
    "kind,kwargs",
    [
        ("constant rate with audio", dict(audio=True)),
        ("ntsc rate", dict(rate=Fraction(30000, 1001), time_base=Fraction(1, 30000))),
        ("variable rate with audio", dict(time_base=Fraction(1, 1000), durations=[40, 80, 20, 120], audio=True)),
        ("odd size", dict(width=37, height=23, pix_fmt="yuv444p")),
        ("10-bit", dict(pix_fmt="yuv420p10le")),
    ],
)
def test_bicubic_x4_keeps_frames_timing_and_audio(tmp_path, kind, kwargs):
    src, dst = tmp_path / "in.mp4", tmp_path / "out.mp4"
    make_clip(src, frames=10, **kwargs)
    upscale(src, dst, model="bicubic", progress=False, preset="ultrafast")
    check_same_timing_and_audio(src, dst, 4)


def test_a_variable_rate_clip_upscaled_into_avi_keeps_its_timing(tmp_path):
    """upscale() hands the writer the source's base rate (like_source): AVI, which counts ticks of
    one rate, then ticks at the rate the bursts step at (30 fps), and every frame stays at its time.
    Ticking at the average rate (10 fps) would crowd each burst onto consecutive ticks: drift."""
    src, dst = tmp_path / "vfr.mp4", tmp_path / "out.avi"
    pts = make_clip(src, frames=20, time_base=Fraction(1, 16000), durations=[533] * 9 + [16000])
    upscale(src, dst, model="bicubic", scale=2, preset="ultrafast", progress=False)
    with av.open(str(dst)) as c:  # AVI keeps each frame's place in its index (the packet's dts)
        stream = c.streams.video[0]
        places = [float(p.dts * stream.time_base) for p in c.demux(stream) if p.size]
    assert stream.time_base == Fraction(1, 30)
    assert places == pytest.approx([p / 16000 for p in pts], abs=1 / 30 + 1e-3)

@pytest.mark.parametrize("suffix", [".mkv", ".mp4"])
def test_a_variable_rate_clip_upscaled_into_y4m_lasts_as_long(tmp_path, suffix):
    """Y4M stores one rate, the average. An .mkv's header gives its nominal one (here 25 fps, the
    track's default duration): 20 frames spanning 1.22 s played in 0.8 s. Counted from the packets now."""
    src, dst = tmp_path / f"vfr{suffix}", tmp_path / "out.y4m"
    make_clip(src, frames=20, time_base=Fraction(1, 1000), durations=[40, 80, 20, 120])
    assert suffix != ".mkv" or probe(src).frame_rate == 25  # the nominal rate
    upscale(src, dst, model="bicubic", scale=2, codec="rawvideo", preset=None, crf=None, progress=False)
    rate, frames = probe(dst).frame_rate, sum(1 for _ in read_frames(dst))
    assert frames == 20
    assert float(frames / rate) == pytest.approx(video_end(src), abs=0.01)


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_anamorphic_video_keeps_its_pixel_shape(tmp_path, suffix):
    """An upscale scales both axes alike, so the pixels keep their shape: 4:3 pixels (HDV) came out
    square, the 16:9 picture squeezed to 4:3."""
    src, dst = tmp_path / "hdv.mp4", tmp_path / f"out{suffix}"
    make_anamorphic_clip(src, Fraction(4, 3), frames=4)
    upscale(src, dst, model="bicubic", scale=2, preset="ultrafast", progress=False)
    info = probe(dst)
    assert (info.width, info.height, info.sample_aspect_ratio) == (96, 64, Fraction(4, 3))
    with av.open(str(dst)) as c:
        assert c.streams.video[0].display_aspect_ratio == Fraction(2, 1)  # as the source: 48x32 at 4:3


@pytest.mark.parametrize("suffix", [".mkv", ".webm"])
def test_an_animated_gif_keeps_its_final_hold(tmp_path, suffix):
    """The last of six frames is shown 500 ms: the output lasted 0.9 s instead of 1.2 s."""
    src, dst = tmp_path / "anim.gif", tmp_path / f"out{suffix}"
    make_gif(src, [100, 100, 300, 100, 100, 500])
    codec = {} if suffix == ".mkv" else {"codec": "libvpx-vp9", "preset": None}
    upscale(src, dst, model="bicubic", scale=2, progress=False, **{"preset": "ultrafast", **codec})
    pts, tb = read_pts(dst)
    assert [float(p * tb) for p in pts] == pytest.approx([0, 0.1, 0.2, 0.5, 0.6, 0.7], abs=0.01)
    assert stream_summary(dst)["video"][0]["end"] == pytest.approx(1.2, abs=0.01)  # a GIF's tick: 1/100 s
    assert video_end(dst) == pytest.approx(1.2, abs=0.01)


def test_bicubic_output_is_the_bicubic_upscale(tmp_path):
    src, dst = tmp_path / "in.mkv", tmp_path / "out.mkv"
    make_clip(src, frames=3, codec="ffv1", pix_fmt="yuv444p")
    upscale(src, dst, model="bicubic", scale=2, codec="ffv1", crf=None, preset=None, pix_fmt="yuv444p", progress=False)
    source = next(read_frames(src)).image
    expected = Upscaler(Bicubic(scale=2), device="cpu").upscale_frames(source[None])[0]
    got = next(read_frames(dst)).image
    assert np.abs(got.astype(int) - expected).mean() < 1.5  # ffv1 is lossless; RGB<->YUV rounding only


def test_generator_weights_file_upscales_a_clip(tmp_path, tiny_generator):
    weights = save_generator(tiny_generator, tmp_path / "g.safetensors")
    src, dst = tmp_path / "in.mp4", tmp_path / "out.mp4"
    make_clip(src, frames=6, audio=True)
    upscale(src, dst, model=str(weights), batch_size=4, progress=False)
    check_same_timing_and_audio(src, dst, 4)


@pytest.mark.parametrize("model", ["bicubic", "generator"])
def test_tiled_equals_untiled(model):
    torch.manual_seed(0)
    net = Bicubic(scale=4) if model == "bicubic" else Generator(scale=4, num_blocks=2, num_features=8)
    x = torch.rand(2, 3, 45, 61)
    whole = Upscaler(net, device="cpu")(x)
    tiled = Upscaler(net, device="cpu", tile=16)(x)
    assert torch.allclose(whole, tiled, atol=1e-5)


def test_still_image_with_alpha(tmp_path):
    src, dst = tmp_path / "in.png", tmp_path / "out.png"
    rgba = np.dstack([pattern(30, 20, 0), np.full((20, 30), 200, np.uint8)])
    Image.fromarray(rgba).save(src)
    upscale(src, dst, model="bicubic", progress=False)
    with Image.open(dst) as out:
        assert out.size == (120, 80) and out.mode == "RGBA"
    upscale(src, tmp_path / "out.jpg", model="bicubic", progress=False)
    with Image.open(tmp_path / "out.jpg") as out:
        assert out.size == (120, 80) and out.mode == "RGB"


@pytest.mark.parametrize("name,frames,audio", [("sample.mp4", 60, "mp3float"), ("carphone_pristine.mp4", 120, None)])
def test_real_clips(tmp_path, name, frames, audio):
    src = SAMPLES / name
    if not src.is_file():
        pytest.skip(f"{src} missing: run scripts/data/fetch_samples.sh")
    dst = tmp_path / "out.mp4"
    upscale(src, dst, model="bicubic", preset="ultrafast", progress=False)
    assert probe(dst).num_frames == frames
    assert probe(dst).audio_codecs == ((audio,) if audio else ())
    check_same_timing_and_audio(src, dst, 4)


def test_real_clip_through_a_generator_weights_file(tmp_path):
    src = SAMPLES / "sample.mp4"
    if not src.is_file():
        pytest.skip(f"{src} missing: run scripts/data/fetch_samples.sh")
    torch.manual_seed(0)
    weights = save_generator(Generator(scale=2, num_blocks=1, num_features=8), tmp_path / "g.safetensors")
    dst = tmp_path / "out.mp4"
    upscale(src, dst, model=str(weights), preset="ultrafast", progress=False)
    assert probe(dst).num_frames == 60 and probe(dst).audio_codecs == ("mp3float",)
    check_same_timing_and_audio(src, dst, 2)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("tile", -1, "--tile must be 0"), ("batch_size", 0, "--batch-size must be at least 1"), ("threads", 0, "--threads must be at least 1"),
])
def test_model_options_refuse_what_cannot_run(field, value, message):
    with pytest.raises(ConfigError, match=message):
        ModelOptions(**{field: value})
