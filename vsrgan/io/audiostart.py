"""Audio that starts off the video's start, in an output that records no stream's start.

AVI plays every stream from its first packet, so audio starting 0.5 s after the video, copied,
plays 0.5 s early, and audio starting 0.5 s before it plays 0.5 s late. :class:`vsrgan.io.passthrough.Passthrough`
re-encodes such audio to start where the video does: late audio with silence in front, early
audio without its lead. The lead is cut rather than the video delayed: the AVI muxer pads no
stream before its first packet, so a delayed video needs pictures the source does not have (its
first repeated, or black), and its frames would no longer be the source's frames at their times.
What is lost is sound before the first picture, which an AVI of that picture has no place for.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

try:
    import av
except ImportError:  # see vsrgan.io.video: only video I/O needs PyAV
    av = None

# Output formats that keep no stream's start (AVI: each stream plays from its first packet).
NO_START_FORMATS = ("avi",)
START_SLACK = 0.02  # seconds; less is below what viewers notice (EBU R37: sound up to 40 ms early) and not worth a re-encode


def start_offset(stream: av.stream.Stream, video_start: float, output: av.container.OutputContainer) -> float:
    """Seconds audio ``stream`` starts after (> 0) or before (< 0) the video, which starts at
    ``video_start`` (s), where ``output`` cannot record it (:data:`NO_START_FORMATS`), if by more
    than :data:`START_SLACK`; else 0."""
    if output.format.name not in NO_START_FORMATS or stream.type != "audio" or stream.start_time is None:
        return 0.0
    offset = float(stream.start_time * stream.time_base) - video_start
    return offset if abs(offset) > START_SLACK else 0.0


def silence(like: av.AudioFrame, samples: int, pts: int) -> av.AudioFrame:
    """``samples`` of silence in ``like``'s format, layout and rate, at ``pts`` (in samples)."""
    rate = like.sample_rate
    frame = av.AudioFrame(format=like.format.name, layout=like.layout.name, samples=samples)
    fill = 0x80 if like.format.name.startswith("u8") else 0  # unsigned 8-bit PCM is silent at its midpoint
    for plane in frame.planes:
        plane.update(bytes([fill]) * plane.buffer_size)
    frame.sample_rate, frame.pts, frame.time_base = rate, pts, Fraction(1, rate)
    return frame


def cut(frame: av.AudioFrame, samples: int, pts: int) -> av.AudioFrame:
    """``frame`` without its first ``samples``, at ``pts`` (in samples)."""
    rate, array = frame.sample_rate, frame.to_ndarray()  # planar: (channels, samples); packed: (1, samples * channels)
    channels = 1 if frame.format.is_planar else frame.layout.nb_channels
    kept = av.AudioFrame.from_ndarray(np.ascontiguousarray(array[:, samples * channels:]), format=frame.format.name,
                                      layout=frame.layout.name)
    kept.sample_rate, kept.pts, kept.time_base = rate, pts, Fraction(1, rate)
    return kept
