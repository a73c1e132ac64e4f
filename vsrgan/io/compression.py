"""How hard a video was compressed, read from its own bitstream: the quantiser its encoder chose.

    video --decoder, export_side_data=venc_params--> each frame's quantiser --> mean --> Quantiser

The quantiser is what a lossy encoder turns to spend fewer bits, and what decides how much of the
picture is lost, so it is the measure ``--denoise auto`` picks a strength by
(:func:`vsrgan.models.auto_denoise`). FFmpeg's H.264 decoder exports it per 16x16 macroblock (the QP,
0-51, 6 steps doubling the quantiser step), its MPEG-2 and MPEG-4 Part 2 decoders per macroblock too
(the quantiser scale), VP9's per frame (its q index, 0-255). HEVC's and AV1's decoders export none,
so for those two (what phones and newer web video use) it is read from the bitstream's headers
instead, as FFmpeg's ``trace_headers`` bitstream filter prints them: HEVC's slice QP (``26 +
init_qp_minus26 + slice_qp_delta``, the H.264 scale; the per-block deltas of adaptive quantisation
are not in the headers) and AV1's ``base_q_idx`` (0-255, as VP9's). Intra and lossless codecs
(ProRes, FFV1, MJPEG) read as unknown.

Only the first frames are read (:data:`FRAMES`): an encoder's rate control settles within a
second or two, and the reading must cost little beside the job.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np

from .video import video_stream

FRAMES = 48  # frames read: two seconds of 24 fps video, several GOPs of a DVD
KINDS = {"H264": "h264", "MPEG2": "mpeg", "VP9": "vp9"}  # PyAV's VideoEncParamsType name -> the scale the value is on
HEADER_KINDS = {"hevc": "hevc", "av1": "av1"}  # codec (not decoder: AV1 may decode with libdav1d) -> kind, for codecs whose quantiser is read from headers
NAMES = {"h264": "QP", "mpeg": "quantiser scale", "vp9": "q index", "hevc": "slice QP", "av1": "base q index"}


@dataclass(frozen=True)
class Quantiser:
    """The mean quantiser of a video's first frames, on its codec's own scale."""

    kind: str  # h264 (QP 0-51), mpeg (MPEG-2/4 quantiser scale), vp9 (q index 0-255), hevc (slice QP 0-51), av1 (base_q_idx 0-255)
    value: float  # mean over the frames read and their macroblocks
    frames: int  # frames that carried one

    def __str__(self) -> str:
        return f"{self.kind} {NAMES[self.kind]} {self.value:.1f} (mean of {self.frames} frames)"


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
        if data.nb_blocks != ((frame.width + 15) // 16) * ((frame.height + 15) // 16):
            # Interlaced MPEG-2 codes whole pairs of 16-line field macroblocks: a 48-line picture has 4 rows of them,
            # not 3, and PyAV's qp_map refuses such a frame. Every block is 16x16 still: their plain mean.
            return kind, data.qp + float(np.mean([data.block_params(i).delta_qp for i in range(data.nb_blocks)]))
        return kind, float(data.qp_map().mean())  # the frame's QP plus each macroblock's delta
    return None


def mean_quantiser(frames: Iterable) -> Quantiser | None:
    """The :class:`Quantiser` of decoded frames, None if none carried one (or their kinds differ)."""
    found = [q for q in map(frame_quantiser, frames) if q is not None]
    kinds = {kind for kind, _ in found}
    if len(kinds) != 1:
        return None
    return Quantiser(kinds.pop(), float(np.mean([value for _, value in found])), len(found))


def read_quantiser(path: str | Path | IO[bytes], frames: int = FRAMES, *, format: str | None = None) -> Quantiser | None:
    """The :class:`Quantiser` of the first ``frames`` frames of the video at ``path`` (or a file
    object, in container ``format``); None where its codec has none or the file cannot be read (the
    job that reads it whole says why)."""
    import av

    try:
        with av.open(path if hasattr(path, "read") else str(path), format=format) as container:
            stream = video_stream(container)
            if stream is None:
                return None
            if stream.codec.canonical_name in HEADER_KINDS:
                return header_quantiser(container, stream, frames)
            stream.codec_context.options = {"export_side_data": "venc_params"}
            decoded = []
            for frame in container.decode(stream):
                decoded.append(frame)
                if len(decoded) >= frames:
                    break
            return mean_quantiser(decoded)
    except (av.FFmpegError, OSError, UnicodeDecodeError):
        return None


def header_quantiser(container, stream, frames: int = FRAMES) -> Quantiser | None:
    """The :class:`Quantiser` of an HEVC or AV1 ``stream``'s first ``frames`` packets, from the
    headers FFmpeg's ``trace_headers`` filter logs as it parses them (module docstring)."""
    import av.logging
    from av.bitstream import BitStreamFilterContext

    from .ffmpeglog import collect

    kind = HEADER_KINDS[stream.codec.canonical_name]
    read = 0
    with collect(av.logging.INFO, other_threads=False) as lines:  # trace_headers logs at INFO, on this thread
        trace = BitStreamFilterContext("trace_headers", stream)  # logs the parameter sets of the extradata
        for packet in (p for p in container.demux(stream) if p.size):
            if read >= frames:
                break
            trace.filter(packet)
            read += 1
    found = header_values(lines)[kind]  # one per slice (HEVC) or frame header (AV1): a packet may hold several
    return Quantiser(kind, float(np.mean(found)), read) if found else None


def header_values(lines: Iterable[str]) -> dict[str, list[int]]:
    """The quantisers in ``trace_headers`` lines (``"24   slice_qp_delta   000010010 = 9"``): each
    HEVC slice's QP (the last picture parameter set's ``init_qp_minus26`` applies) and each AV1
    frame header's ``base_q_idx``."""
    init_qp, values = 0, {"hevc": [], "av1": []}
    for line in lines:
        parts = line.split()
        if len(parts) < 4 or parts[-2] != "=" or not parts[-1].lstrip("-").isdigit():
            continue
        name, value = parts[1], int(parts[-1])
        if name == "init_qp_minus26":
            init_qp = value
        elif name == "slice_qp_delta":
            values["hevc"].append(26 + init_qp + value)
        elif name == "base_q_idx":
            values["av1"].append(value)
    return values
