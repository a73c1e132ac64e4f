"""Labelled panels composed into one comparison frame: a 2x2 grid, a row, or a moving split-wipe.

Pure functions on ``uint8 (H, W, 3)`` RGB arrays. A panel is an image with a label drawn in its
top-left corner (white text on a dark box, Pillow's bundled font), so a frame grabbed from the
comparison video still says what each part shows.
"""

import functools
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..errors import ConfigError

LAYOUTS = ("grid", "side", "wipe")
MAX_SIZE = (3840, 2160)  # default output bound (4K UHD): larger H.264 streams play in few players
DIVIDER = (255, 255, 255)  # the wipe's split line


@dataclass(frozen=True)
class Panel:
    image: np.ndarray  # (H, W, 3) uint8 RGB, all panels of a frame the same size
    label: str


@functools.lru_cache(maxsize=8)
def font_for(height: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's bundled font at a size readable on a panel ``height`` pixels tall (loaded once per size)."""
    return ImageFont.load_default(size=max(12, height // 24))


def draw_label(image: np.ndarray, text: str, *, corner: str = "left") -> np.ndarray:
    """A copy of ``image`` with ``text`` in a dark box at its top-left (or top-right) corner."""
    canvas = Image.fromarray(image)
    draw = ImageDraw.Draw(canvas, "RGBA")
    font = font_for(image.shape[0])
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    pad = max(4, (bottom - top) // 3)
    w, h = right - left + 2 * pad, bottom - top + 2 * pad
    x = pad if corner == "left" else image.shape[1] - w - pad
    draw.rectangle((x, pad, x + w, pad + h), fill=(0, 0, 0, 170))
    draw.text((x + pad - left, 2 * pad - top), text, font=font, fill=(255, 255, 255, 255))
    return np.asarray(canvas)


def resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``image`` at ``size`` = (width, height): Lanczos when shrinking, nearest when enlarging
    (so enlarged pixels stay visible as pixels, never smoothed into something they were not)."""
    if image.shape[1::-1] == size:
        return image
    shrink = size[0] < image.shape[1]
    method = Image.Resampling.LANCZOS if shrink else Image.Resampling.NEAREST
    return np.asarray(Image.fromarray(image).resize(size, method))


def enlarge_nearest(image: np.ndarray, factor: int) -> np.ndarray:
    """Each pixel repeated ``factor`` x ``factor`` times: a small image shown as it is."""
    return image.repeat(factor, axis=0).repeat(factor, axis=1)


def grid_shape(layout: str, count: int) -> tuple[int, int]:
    """(columns, rows) of panels: ``grid`` two columns, ``side`` one row, ``wipe`` one panel."""
    if layout == "grid":
        return 2, (count + 1) // 2
    if layout == "side":
        return count, 1
    if layout == "wipe":
        return 1, 1
    raise ConfigError(f"unknown layout {layout!r}; expected one of {', '.join(LAYOUTS)}")


def panel_size(layout: str, count: int, width: int, height: int, panel_height: int | None) -> tuple[int, int]:
    """(width, height) of each panel: ``panel_height`` tall if given, else the source size
    shrunk (never enlarged) until the whole frame fits :data:`MAX_SIZE`. Both even."""
    columns, rows = grid_shape(layout, count)
    if panel_height is not None:
        if panel_height < 16:
            raise ConfigError(f"--panel-height must be at least 16 pixels, got {panel_height}")
        factor = panel_height / height
    else:
        factor = min(1.0, MAX_SIZE[0] / (columns * width), MAX_SIZE[1] / (rows * height))
    return max(2, round(width * factor / 2) * 2), max(2, round(height * factor / 2) * 2)


def compose(panels: list[Panel], layout: str) -> np.ndarray:
    """Label each panel and tile them: ``grid`` (2 columns; an odd panel out gets a dark cell)
    or ``side`` (one row). Panels must share one size."""
    columns, rows = grid_shape(layout, len(panels))
    h, w = panels[0].image.shape[:2]
    cells = [draw_label(p.image, p.label) for p in panels]
    cells += [np.full((h, w, 3), 24, np.uint8)] * (columns * rows - len(cells))
    lines = [np.concatenate(cells[r * columns : (r + 1) * columns], axis=1) for r in range(rows)]
    return np.concatenate(lines, axis=0)  # (rows * h, columns * w, 3)


def wipe_position(time: float, period: float) -> float:
    """Where the wipe's divider is at ``time`` seconds, as a fraction of the width: a triangle
    wave that sweeps from 10% to 90% and back once every ``period`` seconds."""
    phase = (time / period) % 1.0
    return 0.1 + 0.8 * (1 - abs(2 * phase - 1))


def wipe(left: Panel, right: Panel, position: float) -> np.ndarray:
    """``left`` shown left of a vertical divider at ``position`` (0-1 of the width), ``right`` beyond it.

    Each side keeps its label in its own top corner; the divider is a 2-pixel white line."""
    h, w = left.image.shape[:2]
    x = min(w - 1, max(1, round(position * w)))
    frame = np.concatenate([left.image[:, :x], right.image[:, x:]], axis=1)
    frame[:, x - 1 : x + 1] = DIVIDER
    frame = draw_label(frame, left.label, corner="left")
    return draw_label(frame, right.label, corner="right")
