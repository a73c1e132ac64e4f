"""Still images as people have them: 16-bit, EXIF-rotated, palette transparency, animations."""

import logging

import numpy as np
import pytest
import torch
from conftest import pattern
from PIL import Image, ImageOps

from vsrgan import upscale
from vsrgan.errors import InputError
from vsrgan.images import read_image
from vsrgan.video import probe, read_frames


def bicubic_x2(gray: np.ndarray) -> np.ndarray:
    """What the bicubic model should give for a gray float image (one channel of its three)."""
    x = torch.from_numpy(gray.astype(np.float32))[None, None]
    return torch.nn.functional.interpolate(x, scale_factor=2, mode="bicubic", align_corners=False).clamp(0, 1)[0, 0].numpy()


@pytest.fixture
def ramp16(tmp_path):
    """A 16-bit gray PNG holding a 0..63000 ramp: ``convert("RGB")`` would make almost all of it 255."""
    ramp = np.tile(np.linspace(0, 63000, 40).round().astype(np.uint16), (24, 1))
    path = tmp_path / "ramp16.png"
    Image.fromarray(ramp).save(path)
    with Image.open(path) as im:
        assert im.mode == "I;16"
    return path, ramp


def test_16_bit_gray_keeps_its_range_and_depth(tmp_path, ramp16):
    src, ramp = ramp16
    upscale(src, tmp_path / "out.png", model="bicubic", scale=2, progress=False)
    with Image.open(tmp_path / "out.png") as out:
        assert out.mode == "I;16" and out.size == (80, 48)
        got = np.asarray(out).astype(np.float64)
    expected = bicubic_x2(ramp / 65535) * 65535
    assert np.abs(got - expected).max() <= 2  # rounding only: all 16 bits through
    assert got.max() > 62000 and (got == 65535).mean() == 0
    assert abs(got.mean() - ramp.mean()) < 0.01 * ramp.mean()


def test_16_bit_gray_into_8_bit_formats_is_scaled_not_clipped(tmp_path, ramp16):
    src, ramp = ramp16
    for name in ("out.jpg", "out.webp"):
        upscale(src, tmp_path / name, model="bicubic", scale=2, progress=False)
        got = np.asarray(Image.open(tmp_path / name).convert("L")).astype(np.float64)
        assert (got >= 250).mean() < 0.05, name  # 16-bit clipped at 255 made 97% of it white
        assert abs(got.mean() - ramp.mean() / 257) < 3, name
    rgb = read_image(src)  # the dataset/evaluation reader: 8-bit, scaled
    assert rgb.dtype == np.uint8 and rgb.shape == (24, 40, 3)
    assert np.abs(rgb[..., 0].astype(int) - np.round(ramp / 257)).max() <= 1


def test_exif_orientation_is_applied_and_dropped(tmp_path):
    src = tmp_path / "portrait.jpg"
    stored = np.zeros((24, 40, 3), np.uint8)  # stored sideways: 40 wide, white block top-left
    stored[:12, :16] = 255
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to view
    Image.fromarray(stored).save(src, quality=95, exif=exif)
    with Image.open(src) as im:
        upright = np.asarray(ImageOps.exif_transpose(im)).astype(float)
    assert upright.shape == (40, 24, 3)

    upscale(src, tmp_path / "out.png", model="bicubic", scale=2, progress=False)
    with Image.open(tmp_path / "out.png") as out:
        assert out.size == (48, 80)  # turned: 24x40 upright, x2
        assert out.getexif().get(0x0112) is None
        small = np.asarray(out.convert("RGB").resize((24, 40), Image.Resampling.BOX)).astype(float)
    assert np.abs(small - upright).mean() < 8
    assert np.abs(small - upright[::-1, ::-1]).mean() > 40  # a turn the other way would not match
    upscale(src, tmp_path / "out.jpg", model="bicubic", scale=2, progress=False)
    with Image.open(tmp_path / "out.jpg") as out:
        assert out.size == (48, 80) and out.getexif().get(0x0112) is None


@pytest.mark.parametrize("mode", ["P", "L", "RGB"])
def test_trns_transparency_becomes_alpha(tmp_path, mode):
    rgb = np.full((20, 30, 3), 200, np.uint8)
    rgb[:, :15] = 0  # left half: the transparent colour
    image = Image.fromarray(rgb).convert(mode)
    key = {"P": image.getpixel((0, 0)), "L": 0, "RGB": (0, 0, 0)}[mode]
    src = tmp_path / "keyed.png"
    image.save(src, transparency=key)
    upscale(src, tmp_path / "out.png", model="bicubic", scale=2, progress=False)
    with Image.open(tmp_path / "out.png") as out:
        assert out.mode == "RGBA" and out.size == (60, 40)
        alpha = np.asarray(out.getchannel("A"))
    assert (alpha[:, :26] == 0).all() and (alpha[:, 34:] == 255).all()


def test_icc_profile_is_kept(tmp_path):
    ImageCms = pytest.importorskip("PIL.ImageCms")
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    src = tmp_path / "tagged.png"
    Image.fromarray(pattern(30, 20, 0)).save(src, icc_profile=profile)
    upscale(src, tmp_path / "out.png", model="bicubic", scale=2, progress=False)
    with Image.open(tmp_path / "out.png") as out:
        assert out.info.get("icc_profile") == profile


def save_animation(path, frames=3):
    images = [Image.fromarray(pattern(32, 24, i)) for i in range(frames)]
    images[0].save(path, save_all=True, append_images=images[1:], duration=100, loop=0, lossless=True)


@pytest.mark.parametrize("name", ["anim.png", "anim.webp"])
def test_animated_image_into_an_image_warns(tmp_path, caplog, name):
    src = tmp_path / name
    save_animation(src)
    with caplog.at_level(logging.WARNING):
        upscale(src, tmp_path / ("out" + src.suffix), model="bicubic", scale=2, progress=False)
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(lines) == 1 and f"'{src}' has 3 frames; only the first is upscaled" in lines[0] and ".mp4" in lines[0]
    with Image.open(tmp_path / ("out" + src.suffix)) as out:
        assert getattr(out, "n_frames", 1) == 1 and out.size == (64, 48)
        first = np.asarray(out.convert("RGB").resize((32, 24), Image.Resampling.BOX)).astype(float)
    assert np.abs(first - pattern(32, 24, 0)).mean() < 12


def test_animated_png_into_a_video_upscales_every_frame(tmp_path, caplog):
    src = tmp_path / "anim.png"
    save_animation(src)
    with caplog.at_level(logging.WARNING):
        upscale(src, tmp_path / "out.mp4", model="bicubic", scale=2, preset="ultrafast", progress=False)
    assert not [r for r in caplog.records if "only the first" in r.getMessage()]
    assert (probe(tmp_path / "out.mp4").width, probe(tmp_path / "out.mp4").height) == (64, 48)
    assert sum(1 for _ in read_frames(tmp_path / "out.mp4")) == 3
    still = tmp_path / "still.png"
    Image.fromarray(pattern(32, 24, 0)).save(still)
    with pytest.raises(InputError, match="is an image but output"):
        upscale(still, tmp_path / "still.mp4", model="bicubic", scale=2, progress=False)


def test_animated_webp_into_a_video_is_refused_in_one_line(tmp_path):
    src = tmp_path / "anim.webp"
    save_animation(src)
    with pytest.raises(InputError, match="'.*anim.webp' is an animated WEBP, which FFmpeg cannot decode"):
        upscale(src, tmp_path / "out.mp4", model="bicubic", scale=2, progress=False)
    assert not (tmp_path / "out.mp4").exists()
