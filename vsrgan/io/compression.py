"""How hard a video was compressed, read from its own bitstream: the quantiser its encoder chose.

    video --decoder, export_side_data=venc_params--> each frame's quantiser --> mean --> Quantiser

The quantiser is what a lossy encoder turns to spend fewer bits, and what decides how much of the
picture is lost, so it is the measure ``--denoise auto`` picks a strength by
(:func:`vsrgan.models.auto_denoise`). FFmpeg's H.264 decoder exports it per 16x16 macroblock (the QP,
0-51, 6 steps doubling the quantiser step), its MPEG-2 and MPEG-4 Part 2 decoders per macroblock too
(the quantiser scale), VP9's per frame (its q index, 0-255); HEVC's and AV1's decoders export none,
nor do intra or lossless codecs (ProRes, FFV1, MJPEG), so those read as unknown.

Only the first frames are read (:data:`FRAMES`): an encoder's rate control settles within a
second or two, and the reading must cost little beside the job.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FRAMES = 48  # frames read: two seconds of 24 fps video, several GOPs of a DVD
KINDS = {"H264": "h264", "MPEG2": "mpeg", "VP9": "vp9"}  # PyAV's VideoEncParamsType name -> the scale the value is on


@dataclass(frozen=True)
class Quantiser:
    """The mean quantiser of a video's first frames, on its codec's own scale."""

    kind: str  # h264 (QP 0-51), mpeg (MPEG-2/4 quantiser scale) or vp9 (q index 0-255)
    value: float  # mean over the frames read and their macroblocks
    frames: int  # frames that carried one

    def __str__(self) -> str:
        name = {"h264": "QP", "mpeg": "quantiser scale", "vp9": "q index"}[self.kind]
        return f"{self.kind} {name} {self.value:.1f} (mean of {self.frames} frames)"


def frame_quantiser(frame) -> tuple[str, float] | None:
    """The kind and mean quantiser of one decoded ``av.VideoFrame``, if its decoder exported one
    (decoded with ``export_side_data=venc_params``)."""
    for data in frame.side_data:
        if data.type.name != "VIDEO_ENC_PARAMS":
            continue
        kind = KINDS.get(data.codec_type.name)
        if kind is None:
            return None
        if kind == "vp9" or not data.nb_blocks:  # VP9: one q index a frame (its blocks are not 16x16 macroblocks)
            return kind, float(data.qp)
        return kind, float(data.qp_map().mean())  # the frame's QP plus each macroblock's delta
    return None


def mean_quantiser(frames: Iterable) -> Quantiser | None:
    """The :class:`Quantiser` of decoded frames, None if none carried one (or their kinds differ)."""
    found = [q for q in map(frame_quantiser, frames) if q is not None]
    kinds = {kind for kind, _ in found}
    if len(kinds) != 1:
        return None
    return Quantiser(kinds.pop(), float(np.mean([value for _, value in found])), len(found))


def read_quantiser(path: str | Path, frames: int = FRAMES) -> Quantiser | None:
    """The :class:`Quantiser` of the first ``frames`` frames of the video at ``path``; None where
    its codec exports none or the file cannot be read (the job that reads it whole says why)."""
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                return None
            stream = container.streams.video[0]
            stream.codec_context.options = {"export_side_data": "venc_params"}
            decoded = []
            for frame in container.decode(stream):
                decoded.append(frame)
                if len(decoded) >= frames:
                    break
            return mean_quantiser(decoded)
    except (av.FFmpegError, OSError, UnicodeDecodeError):
        return None
