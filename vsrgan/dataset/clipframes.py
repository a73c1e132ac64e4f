"""A clip's frames around one of a dataset's frames, each made as ``vsrgan prepare`` made that
frame's HR image: the sequences of x4-real's pool that are a clip's own frames
(:mod:`vsrgan.dataset.realistic`, ``motion = "video"``).

    dataset item (source video, frame N) --decode the clip once, in order; keep a sliding window-->
        HR frames N - reach .. N + reach (fewer at the clip's ends), frame N checked against the item's HR PNG

A pool asks for its items in manifest order, where a clip's frames come in increasing order, so
each clip is decoded once; asking for an earlier frame starts the clip again.
"""

from collections import deque
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..errors import InputError
from .manifest import Manifest, ManifestItem
from .prepare import hr_image


def is_clip_frame(item: ManifestItem) -> bool:
    return item.frame is not None


def sequence(window: list[np.ndarray], centre: int, target: int, length: int) -> list[np.ndarray]:
    """The ``length`` frames of ``window`` (from :meth:`ClipFrames.around`) whose ``target``-th is the centre frame."""
    return window[centre - target : centre - target + length]


class ClipFrames:
    """The HR frames within ``reach`` of an item's frame, made as ``manifest``'s dataset made its HR images."""

    def __init__(self, manifest: Manifest, *, reach: int):
        self.scale, self.max_short_side, self.reach = manifest.scale, manifest.settings.get("max_short_side", 0), reach
        self._source: str | None = None
        self._frames: Iterator | None = None
        self._window: deque[tuple[int, np.ndarray]] = deque(maxlen=2 * reach + 1)
        self._next = 0  # the index of the next frame the decoder gives

    def around(self, item: ManifestItem, hr: np.ndarray) -> tuple[list[np.ndarray], int]:
        """(the HR frames ``item.frame - before`` .. ``item.frame + after``, ``before``); each side up
        to ``reach``, as far as the clip goes. ``hr``: the item's HR image, which the centre frame must equal."""
        if not is_clip_frame(item):
            raise InputError(f"'{item.hr}' is not a clip's frame (its manifest item has no frame index)")
        first = max(item.frame - self.reach, 0)
        earliest = self._window[0][0] if self._window else self._next
        if item.source != self._source or first < earliest:
            self._start(item.source)
        while self._next <= item.frame + self.reach and self._frames is not None:
            frame = next(self._frames, None)
            if frame is None:
                self._frames = None  # the clip's end
                break
            self._window.append((self._next, hr_image(frame.image, self.scale, self.max_short_side)))
            self._next += 1
        window = [(index, image) for index, image in self._window if first <= index <= item.frame + self.reach]
        indices = [index for index, _ in window]
        if item.frame not in indices:
            raise InputError(f"'{item.source}' has no frame {item.frame}; expected the clip '{item.hr}' was made from")
        centre = window[indices.index(item.frame)][1]
        if not np.array_equal(centre, hr):
            raise InputError(f"frame {item.frame} of '{item.source}' differs from the dataset's '{item.hr}'; expected the clip the dataset was made from")
        return [image for _, image in window], indices.index(item.frame)

    def _start(self, source: str) -> None:
        from ..io.video import read_frames  # PyAV only here: training machines need not have it

        if not Path(source).is_file():
            raise InputError(f"clip '{source}' is missing; its frames' neighbours are read from it (run from the folder the dataset was prepared in)")
        self._source, self._frames, self._next = source, iter(read_frames(source)), 0
        self._window.clear()
