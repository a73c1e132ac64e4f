"""Still images on disk: which files count as images, reading them, and writing 16-bit ones.

Every module that reads a photo or a stored dataset frame comes here, so an unreadable file
gets the same one-line error naming it everywhere, every reader sees the picture upright (EXIF
orientation applied), and 16-bit files are scaled, not clipped, to 8 bits.

Pillow reads and writes everything except 16-bit colour: it has no 16-bit RGB mode, and opens a
16-bit RGB(A) PNG or TIFF as 8-bit, dropping the low byte. Such files are decoded and encoded by
FFmpeg (PyAV) instead, and every 16-bit image, gray or colour, is held as floats (:class:`DeepImage`).
"""

import struct
import zlib
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from ..errors import InputError, VideoError

try:
    import av
except ImportError:  # a machine that only trains reads its (8-bit) photos with Pillow alone
    av = None

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")

# Pillow's one-channel integer modes, as 16-bit PNGs and TIFFs open (0..65535).
DEEP_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")
# Modes whose pixels are plain gray.
GRAY_MODES = ("1", "L", "LA", "La", "F", *DEEP_MODES)
# Output formats (Pillow's names) that hold 16 bits a sample: save_deep writes them.
DEEP_FORMATS = ("PNG", "TIFF")
# FFmpeg's encoder for a 16-bit colour file, and its pixel formats for RGB and RGBA (PNG is big-endian).
DEEP_COLOUR_ENCODERS = {"PNG": ("png", "rgb48be", "rgba64be"), "TIFF": ("tiff", "rgb48le", "rgba64le")}

ORIENTATION = 0x0112  # the EXIF tag
# Each EXIF orientation's turn to upright, on (H, W, C) arrays: what ImageOps.exif_transpose does.
UPRIGHT = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.swapaxes(0, 1),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: a.swapaxes(0, 1)[::-1, ::-1],
    8: lambda a: np.rot90(a, 1),
}
# TIFF tags: BitsPerSample, PhotometricInterpretation (2: RGB), SamplesPerPixel, InterColorProfile.
BITS_PER_SAMPLE, PHOTOMETRIC, SAMPLES_PER_PIXEL, ICC_PROFILE_TAG = 258, 262, 277, 34675


@dataclass(frozen=True)
class DeepImage:
    """An image with 16 bits a sample, upright, as floats in ``[0, 1]`` (the model takes floats).
    ``mode`` and ``info`` mean what a Pillow image's do, so :func:`is_gray` and the ICC profile
    code take either kind."""

    samples: np.ndarray  # float32 (H, W, C); C: 1 gray, 3 RGB, 4 RGBA (straight alpha)
    info: dict = field(default_factory=dict)  # the source file's, as Pillow read it ("icc_profile")

    @property
    def mode(self) -> str:
        return {1: "L", 3: "RGB", 4: "RGBA"}[self.samples.shape[2]]


FFMPEG_ERRORS = (av.FFmpegError,) if av is not None else ()


def is_image(path: str | Path) -> bool:
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def image_files(folder: Path) -> list[Path]:
    """The image files directly in ``folder``, sorted by name; none is an error."""
    files = sorted(p for p in folder.iterdir() if is_image(p) and p.is_file())
    if not files:
        raise InputError(f"'{folder}' holds no images; expected {', '.join(IMAGE_SUFFIXES)} files")
    return files


def open_image(path: Path) -> Image.Image | DeepImage:
    """The image in ``path``, fully loaded and upright, alpha kept: a :class:`DeepImage` if it has
    16 bits a sample (gray, RGB or RGBA), else a Pillow image in its own mode.

    The EXIF orientation is applied and its tag dropped, as viewers show the file: a phone's
    portrait JPEG is stored sideways with orientation 6, and a copy without the turn (or with
    the tag on already-turned pixels) would show rotated. A palette, gray or RGB image with a
    ``transparency`` key (PNG tRNS) becomes RGBA, so its transparent pixels stay transparent.
    """
    try:
        with Image.open(path) as im:
            if is_deep_colour(path, im):
                return read_deep_colour(path, im)
            im.load()
            ImageOps.exif_transpose(im, in_place=True)
            if im.mode in DEEP_MODES:
                return deep_gray(im)
            if im.mode in ("P", "L", "RGB") and "transparency" in im.info:
                return im.convert("RGBA")
            return im
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError, *FFMPEG_ERRORS) as e:
        raise VideoError(f"'{path}' is not a readable image ({e}); expected a PNG, JPEG, BMP, WebP or TIFF file") from None


def deep_gray(image: Image.Image) -> DeepImage:
    """A 16-bit gray Pillow image as a :class:`DeepImage`; with a ``transparency`` key (PNG tRNS),
    as RGBA whose key-valued pixels are transparent, as an 8-bit gray one becomes."""
    raw = np.asarray(image)
    gray = np.clip(raw.astype(np.float32) / 65535, 0, 1)[..., None]
    if "transparency" not in image.info:
        return DeepImage(gray, info=image.info)
    alpha = (raw != image.info["transparency"]).astype(np.float32)[..., None]
    return DeepImage(np.concatenate([gray, gray, gray, alpha], axis=2), info=image.info)


def is_deep_colour(path: Path, image: Image.Image) -> bool:
    """Whether ``path`` holds 16-bit RGB, RGBA or gray-with-alpha samples, which Pillow's ``image``
    of it has only 8 of: a PNG's IHDR says so in its bit depth (byte 24) and colour type (byte 25:
    2 RGB, 4 gray and alpha, 6 RGBA), a TIFF in its tags."""
    if image.format == "PNG":
        with open(path, "rb") as f:
            header = f.read(26)
        return header[24] == 16 and header[25] in (2, 4, 6)
    if image.format == "TIFF":
        tags = image.tag_v2
        return set(tags.get(BITS_PER_SAMPLE, ())) == {16} and tags.get(SAMPLES_PER_PIXEL) in (3, 4) and tags.get(PHOTOMETRIC) == 2
    return False


def read_deep_colour(path: Path, image: Image.Image) -> DeepImage:
    """``path``'s 16-bit RGB(A) samples as FFmpeg decodes them, turned upright as Pillow's ``image``
    of it says (FFmpeg leaves the EXIF orientation unapplied). A PNG's tRNS colour key decodes as
    alpha, as :func:`open_image` makes it for 8 bits."""
    if av is None:
        raise VideoError(f"'{path}' has 16-bit colour, which needs PyAV (FFmpeg) to read: pip install av")
    with av.open(str(path)) as container:
        frame = next(container.decode(video=0), None)
        if frame is None:
            raise ValueError("FFmpeg decoded no picture")
        alpha = len(frame.format.components) in (2, 4)  # gray and alpha (ya16) becomes RGBA
        samples = frame.to_ndarray(format="rgba64le" if alpha else "rgb48le")
    turn = UPRIGHT.get(image.getexif().get(ORIENTATION))
    if turn is not None:
        samples = np.ascontiguousarray(turn(samples))
    info = {key: value for key, value in image.info.items() if key != "exif"}  # its orientation is applied
    return DeepImage(samples.astype(np.float32) / 65535, info=info)


def frame_count(path: Path) -> int:
    """How many frames ``path`` holds: more than 1 for an animated WebP, PNG (APNG) or GIF."""
    try:
        with Image.open(path) as im:
            return int(getattr(im, "n_frames", 1))
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return 1  # open_image says why it cannot be read


def is_deep(image: Image.Image | DeepImage) -> bool:
    """Whether ``image`` holds more than 8 bits a sample (a 16-bit PNG or TIFF)."""
    return isinstance(image, DeepImage)


def is_gray(image: Image.Image | DeepImage) -> bool:
    return image.mode in GRAY_MODES


def to_float_rgb(image: Image.Image | DeepImage) -> np.ndarray:
    """``float32 (H, W, 3)`` RGB in ``[0, 1]`` (alpha dropped): a deep image keeps its precision."""
    if is_deep(image):
        return np.repeat(image.samples, 3, axis=2) if is_gray(image) else image.samples[..., :3]
    return np.asarray(image.convert("RGB"), dtype=np.float32) / 255


def to_rgb8(image: Image.Image | DeepImage) -> np.ndarray:
    """``uint8 (H, W, 3)`` RGB (a writable copy); a 16-bit image is scaled to 8 bits, not clipped."""
    if is_deep(image):
        return np.round(to_float_rgb(image) * 255).astype(np.uint8)
    return np.array(image.convert("RGB"))


def to_8_bits(image: DeepImage) -> Image.Image:
    """``image`` as an 8-bit Pillow image of the same bands, rounded (truncating would darken it
    by half a step), for a format that holds 8 bits (JPEG, WebP, BMP)."""
    samples = np.round(image.samples * 255).astype(np.uint8)
    return Image.fromarray(samples[..., 0] if is_gray(image) else samples)


def read_image(path: Path) -> np.ndarray:
    """``uint8 (H, W, 3)`` RGB (a writable copy) from any image Pillow or FFmpeg reads, upright."""
    return to_rgb8(open_image(path))


def save_deep(image: DeepImage, path: Path, file_format: str, *, icc_profile: bytes | None = None) -> None:
    """Write ``image`` with 16 bits a sample as ``file_format`` (one of :data:`DEEP_FORMATS`).
    Pillow writes 16-bit gray; colour goes through FFmpeg's encoders, which write no ICC
    profile, so ``icc_profile`` is added to their file here."""
    samples = np.round(image.samples * 65535).astype(np.uint16)
    if is_gray(image):
        Image.fromarray(samples[..., 0]).save(path, format=file_format, icc_profile=icc_profile)
        return
    if av is None:
        raise VideoError(f"'{path}': writing 16-bit colour needs PyAV (FFmpeg): pip install av")
    data = encode_deep_colour(samples, file_format)
    if icc_profile and file_format == "PNG":
        data = png_with_icc_profile(data, icc_profile)
    if icc_profile and file_format == "TIFF":
        data = tiff_with_icc_profile(data, icc_profile)
    path.write_bytes(data)


def encode_deep_colour(samples: np.ndarray, file_format: str) -> bytes:
    """``uint16 (H, W, 3 or 4)`` as the bytes of a whole PNG or TIFF file: FFmpeg's image encoders,
    used without a container, give the file as their one packet."""
    codec, rgb, rgba = DEEP_COLOUR_ENCODERS[file_format]
    height, width, channels = samples.shape
    context = av.CodecContext.create(codec, "w")
    context.width, context.height = width, height
    context.pix_fmt = rgba if channels == 4 else rgb  # the encoder converts the frame to it
    context.sample_aspect_ratio = Fraction(1, 1)  # unset, the PNG encoder writes a pHYs of 0 pixels per unit
    if codec == "png":
        context.options = {"pred": "mixed"}  # a filter chosen per row, as Pillow does: a third smaller than none
    frame = av.VideoFrame.from_ndarray(samples, format="rgba64le" if channels == 4 else "rgb48le")
    return b"".join(bytes(packet) for packet in context.encode(frame) + context.encode(None))


def png_with_icc_profile(png: bytes, profile: bytes) -> bytes:
    """``png`` with an iCCP chunk (a name, NUL, compression method 0, the zlib-compressed profile)
    right after IHDR, where PNG wants it: before IDAT. The signature and IHDR take 33 bytes."""
    data = b"ICC Profile\0\0" + zlib.compress(profile)
    chunk = struct.pack(">I", len(data)) + b"iCCP" + data + struct.pack(">I", zlib.crc32(b"iCCP" + data))
    return png[:33] + chunk + png[33:]


def tiff_with_icc_profile(tiff: bytes, profile: bytes) -> bytes:
    """``tiff`` with an InterColorProfile tag: the profile, then a copy of the first IFD with the
    tag added, go at the end of the file, and the header points to the copy. Only bytes are
    added, so every offset the old IFD's entries hold stays valid."""
    order = "<" if tiff[:2] == b"II" else ">"
    (ifd,) = struct.unpack_from(order + "I", tiff, 4)
    (count,) = struct.unpack_from(order + "H", tiff, ifd)
    entries = [tiff[ifd + 2 + 12 * i:ifd + 14 + 12 * i] for i in range(count)]
    (next_ifd,) = struct.unpack_from(order + "I", tiff, ifd + 2 + 12 * count)
    out = bytearray(tiff) + b"\0" * (len(tiff) % 2)  # TIFF offsets are even
    entries.append(struct.pack(order + "HHII", ICC_PROFILE_TAG, 7, len(profile), len(out)))  # 7: UNDEFINED bytes
    entries.sort(key=lambda entry: struct.unpack_from(order + "H", entry))  # IFD tags ascend
    out += profile + b"\0" * (len(profile) % 2)
    new_ifd = len(out)
    out += struct.pack(order + "H", len(entries)) + b"".join(entries) + struct.pack(order + "I", next_ifd)
    out[4:8] = struct.pack(order + "I", new_ifd)
    return bytes(out)
