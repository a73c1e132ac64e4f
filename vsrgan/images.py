"""Still images on disk: which files count as images, and reading them (Pillow).

Every module that reads a photo or a stored dataset frame comes here, so an unreadable file
gets the same one-line error naming it everywhere, every reader sees the picture upright (EXIF
orientation applied), and 16-bit files are scaled, not clipped, to 8 bits.
"""

from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from .errors import InputError, VideoError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")

# Pillow's one-channel integer modes, as 16-bit PNGs and TIFFs open (0..65535).
DEEP_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")
# Modes whose pixels are plain gray: an ICC profile of theirs describes gray, not RGB.
GRAY_MODES = ("1", "L", "LA", "La", "F", *DEEP_MODES)
# Modes whose colours are RGB (a palette's entries are): their ICC profile fits an RGB output.
RGB_MODES = ("RGB", "RGBA", "RGBa", "RGBX", "P", "PA")


def is_image(path: str | Path) -> bool:
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def image_files(folder: Path) -> list[Path]:
    """The image files directly in ``folder``, sorted by name; none is an error."""
    files = sorted(p for p in folder.iterdir() if is_image(p) and p.is_file())
    if not files:
        raise InputError(f"'{folder}' holds no images; expected {', '.join(IMAGE_SUFFIXES)} files")
    return files


def open_image(path: Path) -> Image.Image:
    """The image in ``path``, fully loaded and upright, in its own mode (alpha kept).

    The EXIF orientation is applied and its tag dropped, as viewers show the file: a phone's
    portrait JPEG is stored sideways with orientation 6, and a copy without the turn (or with
    the tag on already-turned pixels) would show rotated. A palette, gray or RGB image with a
    ``transparency`` key (PNG tRNS) becomes RGBA, so its transparent pixels stay transparent.
    """
    try:
        with Image.open(path) as im:
            im.load()
            ImageOps.exif_transpose(im, in_place=True)
            if im.mode in ("P", "L", "RGB") and "transparency" in im.info:
                return im.convert("RGBA")
            return im
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        raise VideoError(f"'{path}' is not a readable image ({e}); expected a PNG, JPEG, BMP, WebP or TIFF file") from None


def frame_count(path: Path) -> int:
    """How many frames ``path`` holds: more than 1 for an animated WebP, PNG (APNG) or GIF."""
    try:
        with Image.open(path) as im:
            return int(getattr(im, "n_frames", 1))
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return 1  # open_image says why it cannot be read


def is_deep(image: Image.Image) -> bool:
    """Whether ``image`` holds more than 8 bits a sample (a 16-bit gray PNG or TIFF)."""
    return image.mode in DEEP_MODES


def is_gray(image: Image.Image) -> bool:
    return image.mode in GRAY_MODES


def to_float_rgb(image: Image.Image) -> np.ndarray:
    """``float32 (H, W, 3)`` RGB in ``[0, 1]``: 16-bit samples divided by 65535, so a deep image
    keeps its range and precision (``convert("RGB")`` clips them at 255)."""
    if is_deep(image):
        gray = np.asarray(image, dtype=np.float32) / 65535
        return np.repeat(np.clip(gray, 0, 1)[..., None], 3, axis=2)
    return np.asarray(image.convert("RGB"), dtype=np.float32) / 255


def to_rgb8(image: Image.Image) -> np.ndarray:
    """``uint8 (H, W, 3)`` RGB (a writable copy); a 16-bit image is scaled to 8 bits, not clipped."""
    if is_deep(image):
        return np.round(to_float_rgb(image) * 255).astype(np.uint8)
    return np.array(image.convert("RGB"))


def read_image(path: Path) -> np.ndarray:
    """``uint8 (H, W, 3)`` RGB (a writable copy) from any image Pillow reads, upright."""
    return to_rgb8(open_image(path))
