"""Encoder settings and their checks: the ``--codec``, ``--crf``, ``--preset`` and ``--pix-fmt``
flags, refused in one line naming the output before a frame is decoded, and FFmpeg's own error
log collected instead of printed (:class:`vsrgan.io.writer.VideoWriter` uses all of it).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace
from pathlib import Path

try:
    import av
except ImportError:  # a machine that only trains may lack FFmpeg
    av = None

from ..errors import VideoError
from .ffmpeglog import collect


@dataclass(frozen=True)
class EncodeOptions:
    """How the output video is encoded: the ``--codec``, ``--crf``, ``--preset`` and ``--pix-fmt`` flags."""

    codec: str = "libx264"  # any encoder in this FFmpeg build (libx265, ffv1, ...)
    crf: int | None = 18  # constant rate factor, lower is better (None: the encoder's default or a lossless codec)
    preset: str | None = None  # encoder speed preset (None: the encoder's own default; libx264's and libx265's is medium)
    pix_fmt: str | None = None  # None: yuv420p, which every player plays, or 10-bit for an HDR source (for_colour)
    threads: int = 0  # encoder threads (0: FFmpeg's choice; vsrgan.inference.threads sizes it beside the model)

    def with_threads(self, threads: int) -> "EncodeOptions":
        """These options with ``threads`` encoder threads, unless a count is set already."""
        return self if self.threads else replace(self, threads=threads)

    def for_colour(self, wide: bool) -> "EncodeOptions":
        """These options with a ``pix_fmt`` None made concrete: ``yuv420p``, or for a wide-gamut
        or HDR source (``wide``) ``yuv420p10le`` where the codec encodes it (HDR10's 10 bits)."""
        if self.pix_fmt is not None:
            return self
        deep = "yuv420p10le"
        try:
            formats = [f.name for f in av.Codec(self.codec, "w").video_formats or ()]
        except (av.FFmpegError, ValueError):  # check_encoder names the problem
            formats = []
        return replace(self, pix_fmt=deep if wide and deep in formats else "yuv420p")


# x264's and x265's presets: checked here, since x264 prints its refusal of others straight to stderr.
X26X_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow", "placebo")
PREFERRED_FORMATS = ("yuv420p", "yuv444p", "yuv420p10le", "rgb24", "gbrp", "rgb8")  # what to suggest, best first (not pal8: swscale cannot make it)

# Containers that hold only a few video codecs, by a part of the encoder's name (VP9 comes as libvpx-vp9,
# vp9_qsv ..., AV1 as libaom-av1, libsvtav1 ...), and the encoder to offer instead: another --codec is
# refused before the file is opened, naming that one (FFmpeg's own refusal names none).
NARROW_CONTAINERS = {
    ".webm": (("vp8", "vp9", "libvpx", "av1"), "libvpx-vp9"),
    ".y4m": (("rawvideo", "wrapped_avframe"), "rawvideo"),
    ".gif": (("gif",), "gif"),
}


def check_encoder(encode: EncodeOptions, name: Path) -> None:
    """Refuse, naming the output ``name``, a codec that is missing or not a video encoder, one
    the container of ``name``'s suffix cannot hold (:data:`NARROW_CONTAINERS`), or a ``--pix-fmt``
    it cannot encode: cheap checks that need no file."""
    codec, pix_fmt = encode.codec, encode.pix_fmt
    if codec not in av.codecs_available:
        raise VideoError(f"'{name}': video codec '{codec}' is not in this FFmpeg build; try libx264 or libx265")
    try:
        encoder = av.Codec(codec, "w")
    except (av.FFmpegError, ValueError):  # a decoder only
        raise VideoError(f"'{name}': '{codec}' has no encoder in this FFmpeg build; try libx264 or libx265") from None
    if encoder.type != "video":
        raise VideoError(f"'{name}': '{codec}' is not a video codec ({encoder.type}); try libx264 or libx265")
    suffix = name.suffix.lower()
    if suffix in NARROW_CONTAINERS and not any(part in codec for part in NARROW_CONTAINERS[suffix][0]):
        raise VideoError(f"'{name}': a {suffix} container cannot hold {codec} video; {_instead(NARROW_CONTAINERS[suffix][1], pix_fmt)}")
    formats = [f.name for f in encoder.video_formats or ()]
    try:
        av.VideoFormat(pix_fmt)
    except ValueError:
        raise VideoError(f"'{name}': '{pix_fmt}' is not a pixel format; try {_suggest(formats)}") from None
    if formats and pix_fmt not in formats:
        raise VideoError(f"'{name}': {codec} cannot encode pix_fmt {pix_fmt}; try {_suggest(formats)}")
    if codec in ("libx264", "libx265") and encode.preset is not None and encode.preset not in X26X_PRESETS:
        raise VideoError(f"'{name}': unknown preset '{encode.preset}' for {codec}; expected one of {', '.join(X26X_PRESETS)}")


def _instead(codec: str, pix_fmt: str) -> str:
    """What to give instead of a --codec the output's container refuses: ``--codec codec``, with
    the ``--pix-fmt`` it needs where it cannot encode ``pix_fmt`` (gif: rgb8), or another suffix."""
    other_suffix = "another output suffix such as .mkv"
    if codec not in av.codecs_available:
        return f"use {other_suffix}"
    formats = [f.name for f in av.Codec(codec, "w").video_formats or ()]
    flags = f"--codec {codec}" if not formats or pix_fmt in formats else f"--codec {codec} --pix-fmt {_usual(formats)[0]}"
    return f"use {flags}, or {other_suffix}"


def _usual(formats: list[str]) -> list[str]:
    """The pixel formats of ``formats`` to offer the user, best first: the usual ones it holds, else all."""
    return [f for f in PREFERRED_FORMATS if f in formats] or formats or ["yuv420p"]


def _suggest(formats: list[str]) -> str:
    """Two pixel formats to offer the user: the usual ones ``formats`` holds, else its first."""
    return " or ".join(_usual(formats)[:2])


def ffmpeg_errors() -> contextlib.AbstractContextManager[list[str]]:
    """Collect FFmpeg's error messages inside the block instead of printing them: a refusal then
    reaches the person once, in vsrgan's own line. Only this thread's: the encoder and the muxer
    open here (a decoder's worker threads, busy meanwhile, keep theirs)."""
    return collect(other_threads=False)


def encoder_problem(encode: EncodeOptions, stream: av.VideoStream, said: str = "") -> str:
    """Why the encoder of ``stream`` would not open: the one setting that, left out, lets it open,
    found by trial (FFmpeg's own log wording differs from encoder to encoder)."""
    ctx = stream.codec_context

    def opens(**options: str) -> bool:
        trial = av.CodecContext.create(encode.codec, "w")
        trial.width, trial.height, trial.pix_fmt, trial.time_base = ctx.width, ctx.height, ctx.pix_fmt, ctx.time_base
        trial.options = options
        try:
            trial.open()
        except (av.FFmpegError, ValueError):
            return False
        return True

    if encode.preset is not None and not opens(preset=encode.preset) and opens():
        return f"{encode.codec} does not know the preset '{encode.preset}'; give one it lists in 'ffmpeg -h encoder={encode.codec}', or leave --preset out"
    if encode.crf is not None and not opens(crf=str(encode.crf)) and opens():
        return f"{encode.codec} does not take --crf {encode.crf}; try another value"
    return f"{encode.codec} cannot encode {ctx.width}x{ctx.height} {ctx.pix_fmt} video with these settings{said}; try libx264 with --pix-fmt yuv420p"


# Output formats that record a rotation tag (a display matrix): the .mp4/.mov family and Matroska.
# Others (AVI, MPEG-PS/TS, FLV, NUT, MXF, ASF, Y4M, GIF) drop it: the video would play sideways.
ROTATION_FORMATS = ("mov", "mp4", "ipod", "3gp", "3g2", "psp", "ismv", "f4v", "matroska", "webm")


def keeps_rotation(name: Path) -> bool:
    """Whether an output named ``name`` records a rotation tag, by the format FFmpeg picks for its suffix
    (the file is neither created nor touched); True where there is none: the writer refuses that suffix."""
    try:
        with av.open(str(name), mode="w") as container:  # the header is written only by start_encoding
            return container.format.name in ROTATION_FORMATS
    except ValueError:
        return True


def open_output(path: Path, name: Path, muxer_options: dict[str, str]) -> av.container.OutputContainer:
    """The output container at ``path``, its format chosen by the suffix of ``name`` as FFmpeg knows it."""
    try:
        return av.open(str(path), mode="w", options=muxer_options)
    except ValueError:  # "Could not determine output format"
        what = f"the suffix '{name.suffix}'" if name.suffix else "a name without a suffix"
        raise VideoError(f"'{name}': FFmpeg has no video format for {what}; expected a suffix such as .mp4, .mkv or .webm") from None


def start_encoding(container: av.container.OutputContainer, stream: av.VideoStream, encode: EncodeOptions, name: Path) -> None:
    """Open the encoders and write the header now, turning a refusal into one line about the output ``name``."""
    try:
        with ffmpeg_errors() as messages:
            container.start_encoding()
    except av.FFmpegError as e:
        if isinstance(e, OSError):  # a full disk or a permission: vsrgan.io.atomic words those
            raise
        said = f" (FFmpeg: {messages[-1]})" if messages else ""
        if not stream.codec_context.is_open:
            with ffmpeg_errors():
                problem = encoder_problem(encode, stream, said)
            raise VideoError(f"'{name}': {problem}") from None
        raise VideoError(f"'{name}': a {name.suffix or 'file of this'} container cannot hold {encode.codec} video{said}; "
                         "pick another --codec or output suffix") from None
