"""Damaged input noticed while decoding: a warning for the person, never FFmpeg's wording alone.

Decoders conceal much damage (a zeroed stretch of an .mp4, a cut-off last packet) and go on;
some packets they refuse. :func:`watch` collects both, with FFmpeg's error log silenced and
counted, and :func:`report` turns them into one warning naming the file and where it is hurt, or
an error when nothing at all could be decoded.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

try:
    import av
except ImportError:  # see vsrgan.io.video
    av = None

from ..errors import VideoError
from .ffmpeglog import collect

log = logging.getLogger(__name__)


@dataclass
class Damage:
    path: Path
    refused: list[float] = field(default_factory=list)  # times (s) of packets the decoder refused
    cut_short: str = ""  # how the demuxer stopped early, if it did
    messages: list[str] = field(default_factory=list)  # FFmpeg's error log while decoding
    last: float = 0.0  # time (s) of the last frame decoded
    end: float = 0.0  # where the container says the file ends (s); 0: it does not say


@contextlib.contextmanager
def watch(path: Path) -> Iterator[Damage]:
    """Capture FFmpeg's error messages (from every thread) while decoding ``path``."""
    damage = Damage(path)
    with collect(other_threads=True) as damage.messages:  # the decoder's worker threads log its errors
        yield damage


def decode_surviving(container: av.container.InputContainer, stream: av.VideoStream, damage: Damage) -> Iterator[av.VideoFrame]:
    """Frames of ``stream``, skipping packets the decoder refuses; stops where the file is cut."""
    packets = container.demux(stream)
    while not damage.cut_short:
        try:
            packet = next(packets)
        except StopIteration:
            return
        except av.FFmpegError as e:  # the demuxer met the cut end of a truncated file
            damage.cut_short, packet = e.strerror or "read error", None  # None flushes what the decoder holds
        try:
            yield from stream.decode(packet)
        except av.FFmpegError:
            damage.refused.append(float(packet.pts * packet.time_base) if packet is not None and packet.pts is not None else damage.last)


def report(damage: Damage, *, frames: int) -> None:
    """Warn about concealed damage or a truncated file; raise if no frame could be decoded."""
    path = damage.path
    if frames == 0:
        why = f" ({damage.cut_short})" if damage.cut_short else ""
        raise VideoError(f"'{path}' has a video stream with no decodable frames{why}; the file is truncated or corrupt")
    if damage.refused:
        log.warning("'%s' is damaged: %d video packets between %.2f s and %.2f s could not be decoded and were skipped; "
                    "the output has %d frames", path, len(damage.refused), min(damage.refused), max(damage.refused), frames)
    short = damage.end and damage.last < damage.end - 1.0
    if damage.cut_short or short:
        said = f" but its header says {damage.end:.2f} s" if short else ""
        log.warning("'%s' is truncated: its video ends at %.2f s%s; the output stops there", path, damage.last, said)
    elif damage.messages and not damage.refused:
        log.warning("'%s' is damaged: the decoder concealed errors in it (%d reported); check the output for artefacts",
                    path, len(damage.messages))


def stated_end(container: av.container.InputContainer, stream: av.VideoStream) -> float:
    """Where the header says ``stream`` ends (seconds, in its own timestamps); 0.0 where it does not say.

    The video's own length comes first: the container's is its longest stream's, and audio
    often runs on past the picture. Matroska keeps a stream's end in its DURATION tag, and its
    container duration already counts from 0, not from the first timestamp (measured: a clip
    starting at 5 s says 5.66, where .mp4, .mov and .ts say 0.66 from a start_time of 4.98).
    """
    if stream.duration:
        return float(((stream.start_time or 0) + stream.duration) * stream.time_base)
    tag = next((v for k, v in stream.metadata.items() if k.upper().startswith("DURATION")), None)
    if tag is not None:
        try:
            hours, minutes, seconds = tag.split(":")
            return int(hours) * 3600 + int(minutes) * 60 + float(seconds)
        except ValueError:  # a tag some other muxer wrote in its own way: fall back to the container's
            pass
    if not container.duration:
        return 0.0
    start = 0 if "matroska" in container.format.name else (container.start_time or 0)
    return (start + container.duration) / av.time_base
