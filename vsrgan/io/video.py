"""Video in through PyAV (FFmpeg), streaming: one frame in memory at a time.

Reading keeps every frame with its own timestamp (``pts`` in the stream's time base) and duration, so
variable frame rates, rates such as 30000/1001 and a last frame held longer (a GIF's final pause)
survive the trip; :mod:`vsrgan.io.writer` encodes the new frames with those same timestamps and durations.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

import numpy as np

try:
    import av
except ImportError:  # a machine that only trains may lack FFmpeg: video I/O then says so
    av = None

from ..errors import InputError, VideoError
from . import colour
from .damage import Damage, decode_surviving, report, stated_end, watch


@dataclass(frozen=True)
class VideoInfo:
    """What a video file holds, as far as upscaling cares."""

    path: Path
    width: int
    height: int
    frame_rate: Fraction  # average rate; each frame keeps its own timestamp regardless
    time_base: Fraction  # unit of Frame.pts
    num_frames: int  # the container's count; 0 where it does not say
    duration: float  # seconds of video; 0.0 where the container does not say
    pix_fmt: str
    rotation: int  # degrees counter-clockwise, from the display matrix
    audio_codecs: tuple[str, ...]
    subtitle_codecs: tuple[str, ...]
    wide_colour: colour.WideColour | None = None  # BT.2020 or HDR: the output keeps these colours
    base_rate: Fraction | None = None  # the rate timestamps step at (FFmpeg's r_frame_rate; a VFR burst's)
    sample_aspect_ratio: Fraction | None = None  # a pixel's width / height where not square (anamorphic DVD, HDV); None: square
    interlaced: str | None = None  # "top field first" or "bottom field first" where the frames are interlaced; None: progressive

    @property
    def has_audio(self) -> bool:
        return bool(self.audio_codecs)


@dataclass(frozen=True)
class Frame:
    image: np.ndarray  # (H, W, 3) uint8 RGB
    pts: int  # in VideoInfo.time_base
    time: float  # seconds since the stream's first frame
    duration: int = 0  # how long it shows, in VideoInfo.time_base; 0 where the container does not say


# FFmpeg's AVFieldOrder (coded, displayed) -> the field a player shows first; 0 unknown, 1 progressive.
FIELD_ORDERS = {2: "top field first", 3: "bottom field first", 4: "bottom field first", 5: "top field first"}


def require_pyav() -> None:
    if av is None:
        raise VideoError("PyAV is not installed; video needs it: pip install av")


def open_input(path: str | Path) -> av.container.InputContainer:
    """Open ``path`` for reading, turning FFmpeg's errors into one line about the file."""
    require_pyav()
    path = Path(path)
    if not path.exists():
        raise InputError(f"'{path}' does not exist; expected a video file such as .mp4 or .mkv")
    if path.is_dir():
        raise InputError(f"'{path}' is a folder; expected a video file such as .mp4 or .mkv")
    try:
        container = av.open(str(path))
    except av.error.PermissionError:
        raise InputError(f"'{path}' cannot be read (permission denied)") from None
    except av.FFmpegError as e:
        raise VideoError(f"'{path}' is not a video FFmpeg can read, or is damaged or cut short ({e.strerror}); "
                         "expected a complete file such as .mp4 or .mkv") from None
    if video_stream(container) is None:
        covers = " (only a cover image)" if container.streams.video else ""
        container.close()
        raise VideoError(f"'{path}' has no video stream{covers}; expected a video file such as .mp4 or .mkv")
    return container


def is_cover(stream: av.stream.Stream) -> bool:
    """Whether ``stream`` is a cover image: FFmpeg shows one (an .mp4's covr, an .mkv's image attachment,
    an MP3's APIC) as a video stream of a single picture with the attached_pic disposition."""
    return stream.type == "video" and bool(stream.disposition & av.stream.Disposition.attached_pic)


def video_stream(container: av.container.Container) -> av.VideoStream | None:
    """The video stream a job upscales: the first that is not a cover image (:func:`is_cover`). A
    cover can come first: an .mp4 whose tags box precedes its tracks lists its covr as stream #0."""
    return next((stream for stream in container.streams.video if not is_cover(stream)), None)


def _first_frame(container: av.container.InputContainer, path: Path) -> av.VideoFrame:
    damage = Damage(path)
    for frame in decode_surviving(container, video_stream(container), damage):
        return frame
    report(damage, frames=0)  # raises: nothing decodable


def probe(path: str | Path) -> VideoInfo:
    """Read the header (and the first frame, for rotation) of a video."""
    path = Path(path)
    with open_input(path) as container:
        stream = video_stream(container)
        first = _first_frame(container, path)
        duration = 0.0
        if stream.duration is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / av.time_base
        return VideoInfo(
            path=path,
            width=first.width,
            height=first.height,
            frame_rate=stream.average_rate or stream.guessed_rate or Fraction(25),
            time_base=stream.time_base,
            num_frames=stream.frames,
            duration=duration,
            pix_fmt=first.format.name,
            rotation=int(first.rotation),
            audio_codecs=tuple(s.codec_context.name for s in container.streams.audio),
            subtitle_codecs=tuple(s.codec_context.name for s in container.streams.subtitles),
            wide_colour=colour.wide_colour(first),
            base_rate=stream.base_rate or stream.guessed_rate,
            sample_aspect_ratio=pixel_shape(stream),
            interlaced=FIELD_ORDERS.get(stream.codec_context.field_order, "field order unknown") if first.interlaced_frame else None,
        )


def _packet_times(path: str | Path) -> tuple[list[tuple[int, int]], Fraction] | None:
    """(pts, duration) of every video packet (demuxed, not decoded), sorted, and their time base;
    None where there are fewer than two or the file cannot be read."""
    try:
        with open_input(path) as container:
            stream = video_stream(container)
            stamps = sorted((p.pts, p.duration or 0) for p in container.demux(stream) if p.size and p.pts is not None)
    except (av.FFmpegError, VideoError):
        return None
    return (stamps, stream.time_base) if len(stamps) >= 2 else None


def upright(info: VideoInfo) -> tuple[VideoInfo, int]:
    """``info`` as a player shows the video, with no rotation left, and the quarter turns
    counter-clockwise (``np.rot90``'s) that make its decoded frames so (the nearest, for odd angles)."""
    turns = round(info.rotation / 90) % 4
    if turns % 2 == 0:
        return replace(info, rotation=0), turns
    sar = info.sample_aspect_ratio  # a quarter turn swaps a pixel's width and height too
    return replace(info, width=info.height, height=info.width, rotation=0, sample_aspect_ratio=sar and 1 / sar), turns


def turned(frames: Iterator[Frame], turns: int) -> Iterator[Frame]:
    """``frames`` turned ``turns`` quarter turns counter-clockwise (what :func:`upright` returns)."""
    return (replace(f, image=np.rot90(f.image, turns)) if turns else f for f in frames)


def average_rate(path: str | Path) -> Fraction | None:
    """The video's frames per second over its whole length, counted from its packets (demuxed, not
    decoded): a constant-rate output (Y4M) of it then lasts as long. The header's own average can
    be a nominal rate: Matroska's is the track's default duration, whatever the timestamps do.
    None where there are fewer than two frames or the file cannot be read."""
    if (counted := _packet_times(path)) is None:
        return None
    stamps, time_base = counted
    first, last = stamps[0][0], stamps[-1]
    if last[1]:  # the last frame's duration is known: up to its end
        return Fraction(len(stamps)) / ((last[0] + last[1] - first) * time_base)
    return Fraction(len(stamps) - 1) / ((last[0] - first) * time_base) if last[0] > first else None


def step_rate(path: str | Path) -> Fraction | None:
    """The rate the video's frames step at where they are closest, counted from its packets: the mean
    of its shortest steps (those within one tick of the shortest: Matroska's millisecond stamps step
    1/30 s as 33 and 34 ms), past the shortest 1 % (a stray 1 ms step would ask for 1000 fps). An AVI
    output ticking at it crowds no frame onto a later tick, which a header's rate can (Matroska's is
    nominal). None where there are fewer than two frames or the file cannot be read."""
    if (counted := _packet_times(path)) is None:
        return None
    stamps, time_base = counted
    steps = sorted(b - a for (a, _), (b, _) in zip(stamps, stamps[1:]) if b > a)
    if not steps:
        return None
    floor = steps[len(steps) // 100]
    shortest = [step for step in steps if floor <= step <= floor + 1]
    return Fraction(len(shortest)) / (sum(shortest) * time_base)


def pixel_shape(stream: av.VideoStream) -> Fraction | None:
    """The sample aspect ratio (a pixel's width / height) as FFmpeg's players take it: the container's
    (mp4 'pasp', Matroska's display size) before the codec's (H.264's VUI); None where square or unset (0/1)."""
    sar = stream.sample_aspect_ratio
    return sar if sar and sar != 1 else None


REORDER_WINDOW = 16  # more than any decoder's frame delay (H.264 allows 16 reference frames)


def _timestamped(frames: Iterator[av.VideoFrame]) -> Iterator[tuple[av.VideoFrame, int]]:
    """Pair decoded frames with presentation timestamps that always increase.

    Containers without presentation timestamps (AVI, raw H.264) hand the decoder their decode
    timestamps, so frames come out in display order carrying shuffled stamps. The set of stamps
    is right, only their order is not: give each frame the smallest stamp still pending, as
    FFmpeg's best-effort timestamp does. For well-formed streams this changes nothing.
    """
    pending_frames, pending_pts = deque(), []
    for index, frame in enumerate(frames):
        heapq.heappush(pending_pts, index if frame.pts is None else frame.pts)
        pending_frames.append(frame)
        if len(pending_frames) > REORDER_WINDOW:
            yield pending_frames.popleft(), heapq.heappop(pending_pts)
    while pending_frames:
        yield pending_frames.popleft(), heapq.heappop(pending_pts)


def read_frames(path: str | Path, *, threads: int = 0) -> Iterator[Frame]:
    """Decode every frame of the video stream (:func:`video_stream`) as RGB, with its timestamp.

    FFmpeg converts any pixel format (10-bit, 4:4:4, paletted) to 8-bit RGB with the colour matrix
    the stream declares or players assume (:mod:`vsrgan.io.colour`). Damage is survived where it can
    be: a refused packet is skipped, a file cut short ends early, each with a warning (:mod:`vsrgan.io.damage`).
    ``threads``: the decoder's threads (0: FFmpeg's choice).
    """
    path = Path(path)
    with open_input(path) as container, watch(path) as damage:
        stream = video_stream(container)
        stream.thread_type = "AUTO"  # frame + slice threads: decoding is rarely the bottleneck then
        stream.codec_context.thread_count = threads
        start, index = None, 0
        try:
            for frame, pts in _timestamped(decode_surviving(container, stream, damage)):
                if start is None:
                    start = pts
                yield Frame(image=colour.to_rgb(frame), pts=pts, time=float((pts - start) * stream.time_base), duration=frame.duration)
                index += 1
                damage.last = float(pts * stream.time_base)
        finally:  # also where the reader is abandoned mid-stream (compare --seconds, an error, a signal)
            stop_decoding(stream)
        damage.end = stated_end(container, stream)
    report(damage, frames=index)


def stop_decoding(stream: av.VideoStream) -> None:
    """Let a frame-threaded decoder's threads finish the frames they hold, with the GIL released.

    PyAV frees a decoder holding the GIL, and the free waits for those threads; one that logs an
    error meanwhile (damaged input) waits for the GIL in PyAV's log callback whenever FFmpeg's log
    is routed to Python (:mod:`vsrgan.io.ffmpeglog`): a deadlock (PyAV #751, #1849). Flushed first,
    the threads are idle when the decoder is freed. Call it before abandoning a decoder mid-stream.
    """
    if stream.codec_context.is_open:
        stream.codec_context.flush_buffers()  # avcodec_flush_buffers, without the GIL
