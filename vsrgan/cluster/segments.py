"""Where a video can be cut: its keyframes, read from the demuxer's packets (nothing is decoded).

A segment is every frame whose pts lies in ``[start, end)``, ``start`` being a keyframe's pts
and ``end`` the next segment's. Assigning frames by pts range, not by packet order, is what
keeps B-frames right: a B-frame is stored after the keyframe that follows it in display order
only when the GOP is open, and in display order it still belongs before that keyframe.
"""

import bisect
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from ..errors import VideoError
from ..io.video import open_input, video_stream


@dataclass(frozen=True)
class Segment:
    index: int
    start: int | None  # pts of the keyframe it decodes from; None: the file's start (frames before a first keyframe included)
    end: int | None  # the next segment's start (excluded); None: the file's end
    frames: int  # how many frames it holds, counted from the packets

    @property
    def name(self) -> str:
        return f"part-{self.index:05d}"


@dataclass(frozen=True)
class KeyframeIndex:
    pts: list[int]  # every video packet's pts, in display order
    keyframes: list[int]  # the keyframes' pts, in display order
    time_base: Fraction


def keyframe_index(path: str | Path) -> KeyframeIndex:
    """Demux the video stream's packets (:func:`vsrgan.io.video.video_stream`; no decoding) and list their pts and the keyframes'."""
    path = Path(path)
    pts, keyframes = [], []
    with open_input(path) as container:
        stream = video_stream(container)
        for packet in container.demux(stream):
            if not packet.size:  # the demuxer's empty end-of-stream marker
                continue
            if packet.pts is None:
                raise VideoError(f"'{path}' has video packets without timestamps (raw or AVI-style stream); "
                                 "it cannot be split by keyframes: upscale it without --cluster")
            pts.append(packet.pts)
            if packet.is_keyframe:
                keyframes.append(packet.pts)
        time_base = stream.time_base
    if not pts:
        raise VideoError(f"'{path}' has a video stream with no packets; the file is truncated or corrupt")
    return KeyframeIndex(pts=sorted(pts), keyframes=sorted(set(keyframes)), time_base=time_base)


def plan_segments(index: KeyframeIndex, *, min_frames: int = 1) -> list[Segment]:
    """Cut at keyframes, each segment holding at least ``min_frames`` frames (the last may hold fewer)."""
    pts = index.pts
    starts: list[int | None] = [None]  # the first segment starts at the file's start, whatever its first packet is
    begun = 0  # position in pts where the open segment starts
    for key in index.keyframes:
        at = bisect.bisect_left(pts, key)
        if at - begun >= max(min_frames, 1):
            starts.append(key)
            begun = at
    segments = []
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else None
        first = 0 if start is None else bisect.bisect_left(pts, start)
        last = len(pts) if end is None else bisect.bisect_left(pts, end)
        segments.append(Segment(index=i, start=start, end=end, frames=last - first))
    return segments
