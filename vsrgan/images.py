"""Still images on disk: which files count as images, and reading them (Pillow).

Every module that reads a photo or a stored dataset frame comes here, so an unreadable file
gets the same one-line error naming it everywhere.
"""

from pathlib import Path

import numpy as np
from PIL import Image

from .errors import InputError, VideoError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")


def is_image(path: str | Path) -> bool:
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def image_files(folder: Path) -> list[Path]:
    """The image files directly in ``folder``, sorted by name; none is an error."""
    files = sorted(p for p in folder.iterdir() if is_image(p) and p.is_file())
    if not files:
        raise InputError(f"'{folder}' holds no images; expected {', '.join(IMAGE_SUFFIXES)} files")
    return files


def open_image(path: Path) -> Image.Image:
    """The image in ``path``, fully loaded, in its own mode (alpha kept)."""
    try:
        with Image.open(path) as im:
            im.load()
            return im
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        raise VideoError(f"'{path}' is not a readable image ({e}); expected a PNG, JPEG, BMP, WebP or TIFF file") from None


def read_image(path: Path) -> np.ndarray:
    """``uint8 (H, W, 3)`` RGB (a writable copy) from any image Pillow reads."""
    return np.array(open_image(path).convert("RGB"))
