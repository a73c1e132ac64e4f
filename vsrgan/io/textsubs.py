"""Text subtitles rewritten between the two forms containers take, where a copy would not fit.

MP4 and QuickTime hold timed text as mov_text (3GPP: a 2-byte length, the UTF-8 text, then
optional style boxes); Matroska holds SubRip (the bare text, with simple ``<i>``/``<b>`` tags). A
phone's .mp4 upscaled into .mkv, or an .mkv's SRT into .mp4, keeps its cues this way: same text,
same times. Styled subtitles (ASS) carry layout no plain text can, and are left out as before.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable

try:
    import av
except ImportError:  # see vsrgan.io.video: only video I/O needs PyAV
    av = None

SRT_CODECS = ("subrip", "srt", "text")
MARKUP = re.compile(rb"<[^>]*>|\{\\[^}]*\}")  # SubRip's <i>, <font ...>; the {\an8} position tags some files carry


def mov_to_srt(data: bytes) -> bytes:
    """A mov_text sample's text, without its length and style boxes."""
    length = int.from_bytes(data[:2], "big")
    return data[2 : 2 + length]


def srt_to_mov(data: bytes) -> bytes:
    """A SubRip cue as a mov_text sample: its text without markup, after the text's length."""
    text = MARKUP.sub(b"", data)[:0xFFFF]
    return len(text).to_bytes(2, "big") + text


def retarget(stream: av.stream.Stream, output: av.container.OutputContainer) -> tuple[av.stream.Stream, Callable[[bytes], bytes]] | None:
    """An output stream for the text subtitle ``stream`` in the other form, and the rewrite of its
    packets; None where neither form fits (or ``stream`` is not plain text)."""
    name = stream.codec_context.name
    if name == "mov_text" and "subrip" in output.supported_codecs:
        codec, rewrite = "subrip", mov_to_srt
    elif name in SRT_CODECS and "mov_text" in output.supported_codecs:
        codec, rewrite = "mov_text", srt_to_mov
    else:
        return None
    # Packets are written as they are, so no encoder is opened (FFmpeg's text encoders want an ASS header):
    # the stream is made from one in a file never written.
    template = av.open(io.BytesIO(), "w", format=output.format.name.split(",")[0]).add_stream(codec)
    out = output.add_stream_from_template(template)
    out.time_base = stream.time_base
    return out, rewrite


def rewritten(packet: av.Packet, out: av.stream.Stream, rewrite: Callable[[bytes], bytes]) -> av.Packet | None:
    """``packet`` rewritten for ``out`` at its times; None for an empty cue (mov_text's clear marker)."""
    data = rewrite(bytes(packet))
    if not data.strip(b"\0"):
        return None
    new = av.Packet(data)
    new.pts, new.dts, new.duration, new.time_base = packet.pts, packet.dts, packet.duration, packet.time_base
    new.stream = out
    return new
