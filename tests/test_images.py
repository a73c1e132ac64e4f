"""Still images as people have them: 16-bit, EXIF-rotated, palette transparency, animations."""

import logging
import re
import struct
import zlib

import av
import numpy as np
import pytest
import torch
from clips import pattern
from PIL import Image, ImageOps

from vsrgan import upscale
from vsrgan.errors import InputError, VideoError
from vsrgan.io.images import is_deep, open_image, read_image
from vsrgan.io.video import probe, read_frames


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


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def write_png16(path, samples, *chunks):
    """``uint16 (H, W, 2, 3 or 4)`` as a 16-bit gray+alpha, RGB or RGBA PNG, written here with numpy
    and zlib (not by the code under test), with ``chunks`` ``(kind, data)`` between IHDR and IDAT."""
    height, width, channels = samples.shape
    ihdr = struct.pack(">IIBBBBB", width, height, 16, {2: 4, 3: 2, 4: 6}[channels], 0, 0, 0)
    rows = b"".join(b"\0" + row.astype(">u2").tobytes() for row in samples)  # each row: filter 0, then big-endian samples
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + b"".join(chunk(*c) for c in chunks)
                     + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
    return path


def write_tiff16(path, samples):
    """``uint16 (H, W, 3)`` as a 16-bit RGB TIFF (FFmpeg's encoder: Pillow cannot write one)."""
    context = av.CodecContext.create("tiff", "w")
    context.height, context.width, context.pix_fmt = *samples.shape[:2], "rgb48le"
    frame = av.VideoFrame.from_ndarray(samples, format="rgb48le")
    path.write_bytes(b"".join(bytes(p) for p in context.encode(frame) + context.encode(None)))
    return path


def read16(path):
    """The uint16 samples FFmpeg decodes from a 16-bit RGB(A) PNG or TIFF (Pillow reads 8 of their bits)."""
    with av.open(str(path)) as container:
        frame = next(container.decode(video=0))
    assert frame.format.name.startswith(("rgb48", "rgba64")), frame.format.name
    return frame.to_ndarray(format="rgba64le" if len(frame.format.components) == 4 else "rgb48le")


def deep_pattern(height=12, width=16, channels=3):
    """uint16 samples: a smooth ramp in the high bytes, detail 8 bits cannot hold in the low bytes."""
    y, x = np.mgrid[0:height, 0:width]
    return np.dstack([12000 + 900 * x + 700 * y + 3000 * c + (37 * x + 11 * y * c) % 256 for c in range(channels)]).astype(np.uint16)


def bicubic(samples, scale=4):
    """What the bicubic model should give for uint16 samples, on floats, as 0..65535."""
    x = torch.from_numpy(samples.astype(np.float32) / 65535).permute(2, 0, 1)[None]
    y = torch.nn.functional.interpolate(x, scale_factor=scale, mode="bicubic", align_corners=False).clamp(0, 1)
    return y[0].permute(1, 2, 0).numpy() * 65535


def sixteen_bits(image):
    return np.round(image.samples * 65535).astype(np.uint16)


@pytest.mark.parametrize("channels", [3, 4])
def test_16_bit_colour_png_is_read_with_its_low_bits(tmp_path, channels):
    samples = (0x8000 + np.arange(12 * 16 * channels) % 256).astype(np.uint16).reshape(12, 16, channels)
    src = write_png16(tmp_path / "in.png", samples)
    with Image.open(src) as im:
        assert im.mode == ("RGB", "RGBA")[channels == 4] and len(np.unique(np.asarray(im))) == 1  # Pillow: 8 bits, all 0x80
    image = open_image(src)
    assert is_deep(image) and image.mode == ("RGB", "RGBA")[channels == 4]
    assert np.array_equal(sixteen_bits(image), samples)


def test_16_bit_rgb_png_upscales_to_16_bit_png(tmp_path):
    samples = deep_pattern()
    src = write_png16(tmp_path / "in.png", samples)
    upscale(src, tmp_path / "out.png", model="bicubic", scale=4, device="cpu", progress=False)
    got = read16(tmp_path / "out.png")
    assert got.shape == (48, 64, 3)
    assert np.abs(got - bicubic(samples)).max() <= 2  # rounding only; 1/255 of full scale is 257
    with Image.open(tmp_path / "out.png") as out:  # Pillow's 8-bit view holds the high bytes: the byte order is right
        assert out.mode == "RGB" and out.size == (64, 48)
        assert np.array_equal(np.asarray(out), (got >> 8).astype(np.uint8))


def test_16_bit_rgba_png_keeps_its_alpha(tmp_path):
    samples = deep_pattern(channels=4)
    samples[..., 3] = 30001
    samples[:, :8, 3] = 1000  # left half nearly transparent
    src = write_png16(tmp_path / "in.png", samples)
    upscale(src, tmp_path / "out.png", model="bicubic", scale=4, device="cpu", progress=False)
    got = read16(tmp_path / "out.png")
    assert got.shape == (48, 64, 4)
    assert np.abs(got[..., :3] - bicubic(samples[..., :3])).max() <= 2
    alpha = got[..., 3]
    assert (alpha[:, :24] == 1000).all() and (alpha[:, 40:] == 30001).all()
    assert ((alpha[:, 24:40] > 1000) & (alpha[:, 24:40] < 30001)).any()  # enlarged smoothly, not a copied step
    with Image.open(tmp_path / "out.png") as out:
        assert out.mode == "RGBA"


def test_16_bit_colour_keeps_its_icc_profile(tmp_path):
    ImageCms = pytest.importorskip("PIL.ImageCms")
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    src = write_png16(tmp_path / "in.png", deep_pattern(), (b"iCCP", b"sRGB\0\0" + zlib.compress(profile)))
    for name in ("out.png", "out.tif"):
        upscale(src, tmp_path / name, model="bicubic", scale=4, device="cpu", progress=False)
        with Image.open(tmp_path / name) as out:
            assert out.info.get("icc_profile") == profile, name
        assert read16(tmp_path / name).shape == (48, 64, 3), name  # FFmpeg still reads the file


@pytest.mark.parametrize("orientation", range(2, 9))
def test_16_bit_colour_is_turned_upright(tmp_path, orientation):
    samples = deep_pattern()
    exif = Image.Exif()
    exif[0x0112] = orientation
    src = write_png16(tmp_path / "in.png", samples, (b"eXIf", exif.tobytes()[6:]))  # a PNG's eXIf has no "Exif\0\0"
    with Image.open(src) as im:
        upright = np.asarray(ImageOps.exif_transpose(im))  # Pillow's turn of its 8-bit view
    assert np.array_equal(sixteen_bits(open_image(src)) >> 8, upright)
    if orientation == 6:
        upscale(src, tmp_path / "out.png", model="bicubic", scale=4, device="cpu", progress=False)
        assert np.abs(read16(tmp_path / "out.png") - bicubic(np.rot90(samples, -1).copy())).max() <= 2


def test_16_bit_tiff_gives_16_bit_tiff(tmp_path):
    samples = deep_pattern()
    src = write_tiff16(tmp_path / "in.tif", samples)
    upscale(src, tmp_path / "out.tiff", model="bicubic", scale=4, device="cpu", progress=False)
    with Image.open(tmp_path / "out.tiff") as out:
        assert out.tag_v2[258] == (16, 16, 16) and out.size == (64, 48)
    assert np.abs(read16(tmp_path / "out.tiff") - bicubic(samples)).max() <= 2


def test_16_bit_colour_into_8_bit_formats_is_rounded(tmp_path):
    samples = deep_pattern()
    src = write_png16(tmp_path / "in.png", samples)
    expected = bicubic(samples) / 257  # on the 8-bit scale
    upscale(src, tmp_path / "out.bmp", model="bicubic", scale=4, device="cpu", progress=False)
    with Image.open(tmp_path / "out.bmp") as out:
        assert out.mode == "RGB"
        got = np.asarray(out).astype(np.float64)
    assert np.abs(got - np.round(expected)).max() <= 1
    assert (got != np.round(expected)).mean() < 0.01  # truncated, half the samples would be one lower
    upscale(src, tmp_path / "out.jpg", model="bicubic", scale=4, device="cpu", progress=False)
    with Image.open(tmp_path / "out.jpg") as out:
        assert out.mode == "RGB" and out.size == (64, 48)
        assert np.abs(np.asarray(out) - expected).mean() < 2


def test_read_image_rounds_16_bit_colour_to_8_bits(tmp_path):
    samples = deep_pattern(channels=4)
    rgb = read_image(write_png16(tmp_path / "in.png", samples))
    assert rgb.dtype == np.uint8 and rgb.shape == (12, 16, 3)
    assert np.array_equal(rgb, np.round(samples[..., :3] / 257).astype(np.uint8))


def test_unreadable_16_bit_colour_png_is_one_line(tmp_path):
    src = tmp_path / "broken.png"
    ihdr = struct.pack(">IIBBBBB", 16, 12, 16, 2, 0, 0, 0)
    src.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", b"not zlib") + chunk(b"IEND", b""))
    with pytest.raises(VideoError, match=re.escape(f"'{src}' is not a readable image")):
        read_image(src)


def test_16_bit_gray_with_a_transparency_key_becomes_16_bit_rgba(tmp_path):
    raw = np.full((20, 30), 40000, np.uint16)
    raw[:, :15] = 1000  # left half: the transparent value
    raw[0, 20] = 1001  # one off the key: opaque
    src = tmp_path / "keyed16.png"
    Image.fromarray(raw).save(src, transparency=1000)
    image = open_image(src)
    assert image.mode == "RGBA" and image.samples[0, 20, 3] == 1 and image.samples[0, 0, 3] == 0
    upscale(src, tmp_path / "out.png", model="bicubic", scale=2, device="cpu", progress=False)
    with av.open(str(tmp_path / "out.png")) as c:
        frame = next(c.decode(video=0))
        assert frame.format.name == "rgba64be"
        out = frame.to_ndarray(format="rgba64le")
    assert out.shape == (40, 60, 4)
    assert (out[:, :26, 3] == 0).all() and (out[:, 34:, 3] == 65535).all()
    assert abs(int(out[30, 50, 0]) - 40000) <= 2  # 16 bits kept, not 8


def icc_like(space: bytes) -> bytes:
    """An sRGB profile whose header names another colour space (bytes 16-19): what the rule reads."""
    ImageCms = pytest.importorskip("PIL.ImageCms")
    profile = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    profile[16:20] = space
    return bytes(profile)


@pytest.mark.parametrize("mode, space, output, kept", [
    ("RGB", b"RGB ", "out.png", True),
    ("I;16", b"GRAY", "out.png", True),  # 16-bit gray stays gray
    ("L", b"GRAY", "out.png", False),  # 8-bit gray goes through the model as RGB and comes out RGB
    ("RGB", b"GRAY", "out.png", False),  # a profile that does not fit the pixels
    ("CMYK", b"CMYK", "out.jpg", False),  # a CMYK photo comes out RGB
])
def test_an_icc_profile_is_kept_only_where_its_colour_space_fits_the_output(tmp_path, mode, space, output, kept):
    src = tmp_path / ("src.jpg" if mode == "CMYK" else "src.png")
    if mode == "I;16":
        image = Image.fromarray(pattern(30, 20, 0)[..., 0].astype(np.uint16) * 257)
    else:
        image = Image.fromarray(pattern(30, 20, 0)).convert(mode)
    image.save(src, icc_profile=icc_like(space))
    upscale(src, tmp_path / output, model="bicubic", scale=2, progress=False)
    with Image.open(tmp_path / output) as out:
        assert ("icc_profile" in out.info) == kept


def test_a_gray_profile_stays_off_a_gray_image_made_rgba_by_its_transparency_key(tmp_path):
    src = tmp_path / "keyed.png"
    gray = np.full((20, 30), 200, np.uint8)
    gray[:, :15] = 0
    Image.fromarray(gray).save(src, transparency=0, icc_profile=icc_like(b"GRAY"))
    upscale(src, tmp_path / "out.png", model="bicubic", scale=2, progress=False)
    with Image.open(tmp_path / "out.png") as out:
        assert out.mode == "RGBA" and "icc_profile" not in out.info


def test_16_bit_gray_with_alpha_keeps_16_bits_and_its_alpha(tmp_path):
    """PNG colour type 4 at 16 bits: Pillow opens it as 8-bit RGBA; FFmpeg (ya16) keeps it all."""
    ya = np.zeros((20, 30, 2), np.uint16)
    ya[..., 0] = 40000 + np.arange(30)[None, :]  # low-byte detail
    ya[:, :15, 1] = 0
    ya[:, 15:, 1] = 65535
    image = open_image(write_png16(tmp_path / "ya16.png", ya))
    assert image.mode == "RGBA"
    assert np.array_equal(np.round(image.samples[0, :, 0] * 65535).astype(int), 40000 + np.arange(30))
    assert (image.samples[:, :15, 3] == 0).all() and (image.samples[:, 15:, 3] == 1).all()
