"""Video out through PyAV (FFmpeg): :class:`VideoWriter` encodes RGB frames at the timestamps and
with the durations :func:`vsrgan.io.video.read_frames` gave them, keeps the source's pixel shape
(sample aspect ratio), and carries its audio, subtitles, tags and chapters across (:mod:`vsrgan.io.passthrough`).
"""

from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path

import numpy as np

try:
    import av
except ImportError:  # a machine that only trains may lack FFmpeg: video I/O then says so
    av = None

from ..errors import VideoError
from . import colour
from .encoding import EncodeOptions, check_encoder, open_output, start_encoding
from .passthrough import Passthrough
from .video import VideoInfo, average_rate, pixel_shape, require_pyav, step_rate

log = logging.getLogger(__name__)

# Codecs whose pixel format subsamples chroma need even width and height.
SUBSAMPLED_FORMATS = ("yuv420p", "yuv422p", "yuv420p10le", "yuv422p10le", "nv12")

# Containers that store one frame rate rather than a timestamp per frame (AVI, YUV4MPEG): they
# count ticks of a constant rate. Given the source's fine time base, they announce it as the rate
# (AVI: 600 fps of mostly empty frames; Y4M: 30000 fps). AVI ticks at the source's base rate, the
# rate its timestamps step at (a variable-rate clip's gaps become empty frames, so the sound stays
# in step), or faster where its frames step faster (avi_rate); Y4M, which has no empty frames, at
# the average rate, counted from the source's packets (video.average_rate: a Matroska header's is
# nominal), so that it lasts as long.
CONSTANT_RATE_FORMATS = ("avi", "yuv4mpegpipe")
MAX_TICK_DENOMINATOR = 65535  # MPEG-4 part 2's limit on its time base: 1/65535 s is still < 1 frame
# MPEG-1/2 video store one frame rate in the sequence header, from a short table (MPEG-2 scales it by
# (n + 1) / (d + 1), n < 4, d < 32: 15 and 12 fps too), and their encoders refuse any other time base,
# so they tick at the video's rate whatever the container.
FIXED_RATE_CODECS = ("mpeg1video", "mpeg2video")
MPEG_RATES = (Fraction(24000, 1001), Fraction(24), Fraction(25), Fraction(30000, 1001), Fraction(30), Fraction(50), Fraction(60000, 1001), Fraction(60))
RATE_SLACK = Fraction(5, 1000)  # rates this close are one: millisecond stamps count 29.97 fps as 29.94-30.0
# Raw elementary streams keep no timestamps: FFmpeg reads them back at 25 fps (HEVC and AV1 at best
# from the codec's own timing header), so a video at any other rate plays at the wrong speed.
RAW_STREAM_FORMATS = ("h264", "hevc", "obu")


def tick_rate(format_name: str, codec: str, frame_rate: Fraction, base_rate: Fraction | None, source: str | Path | None,
              time_base: Fraction) -> Fraction:
    """The one rate a constant-rate output counts its frames in (the comment above :data:`CONSTANT_RATE_FORMATS`)."""
    if format_name == "avi":
        return avi_rate(base_rate or frame_rate, source, time_base)
    counted = average_rate(source) if source is not None else None
    if codec in FIXED_RATE_CODECS:
        return mpeg_rate(codec, Fraction(frame_rate), counted)
    return counted or frame_rate


def mpeg_rate(codec: str, header: Fraction, counted: Fraction | None) -> Fraction:
    """The frame rate an MPEG-1/2 ``codec`` can store for a video whose header says ``header`` and
    whose packets step at ``counted`` on average: the header's where the two agree (it is exact, the
    count rounded), the nearest the codec can store to that if close, else it unchanged (the
    encoder then refuses it, and the job says so)."""
    rate = header if counted is None or abs(counted - header) <= header * RATE_SLACK else counted
    ratios = [Fraction(n + 1, d + 1) for n in range(4) for d in range(32)] if codec == "mpeg2video" else [Fraction(1)]
    near = min((r * k for r in MPEG_RATES for k in ratios), key=lambda r: abs(r - rate))
    return near if abs(near - rate) <= rate * RATE_SLACK else rate


def avi_rate(base_rate: Fraction, source: str | Path | None, time_base: Fraction) -> Fraction:
    """An AVI's tick rate: the source's ``base_rate``, unless its frames step faster than that by more
    than a tick of ``time_base`` (:func:`vsrgan.io.video.step_rate`): a Matroska header's rate is
    nominal, and frames crowded onto its later ticks drift from the sound for good (30 fps stepping
    at a nominal 25 fps played 2.01 s as 2.4 s)."""
    counted = step_rate(source) if source is not None else None
    if counted and 1 / counted < 1 / Fraction(base_rate) - time_base:
        return counted
    return base_rate


def like_source(info: VideoInfo) -> dict:
    """The :class:`VideoWriter` arguments that carry a source's clock and colours over: what every
    writer of an upscaled (or compared) video passes, so none forgets one."""
    return dict(time_base=info.time_base, frame_rate=info.frame_rate, base_rate=info.base_rate, wide_colour=info.wide_colour,
                sample_aspect_ratio=info.sample_aspect_ratio)


def check_pixel_shape(path: Path, sample_aspect_ratio: Fraction, *, name: Path) -> None:
    """Warn where the finished file ``path`` does not say its pixels are ``sample_aspect_ratio`` wide,
    read back as players read it: a codec with no aspect ratio of its own (VP9, AV1, FFV1, raw) in
    Matroska, or any in Y4M, plays with square pixels. ``name``: the output as the person knows it."""
    with av.open(str(path)) as written:
        stream = written.streams.video[0]
        if pixel_shape(stream) == sample_aspect_ratio:
            return
        codec = stream.codec_context.name
    log.warning("'%s': %s video in %s does not record the source's pixel shape (sample aspect ratio %d:%d), so it "
                "plays stretched, as square pixels; libx264 or libx265, or an .mp4 output, keep it", name, codec,
                name.suffix or "this container", sample_aspect_ratio.numerator, sample_aspect_ratio.denominator)


class VideoWriter:
    """Encode RGB frames at given timestamps into ``path``, carrying audio from ``source``.

    ``source_until`` (seconds) cuts the carried audio and subtitles, for clips cut short.
    ``muxer_options`` go to FFmpeg's muxer (e.g. ``movie_timescale`` for .mp4).
    ``wide_colour``: the source's, where it is BT.2020 or HDR (:attr:`vsrgan.io.video.VideoInfo.wide_colour`):
    the output keeps those colours (:mod:`vsrgan.io.colour`), and an ``encode.pix_fmt`` None
    becomes 10-bit. ``base_rate`` (:attr:`vsrgan.io.video.VideoInfo.base_rate`; default
    ``frame_rate``) is an AVI's tick (:data:`CONSTANT_RATE_FORMATS`). ``sample_aspect_ratio``: the
    source's, where its pixels are not square (:attr:`vsrgan.io.video.VideoInfo.sample_aspect_ratio`);
    an upscale scales both axes alike, so the output's pixels have the same shape.

    Use as a context manager; the file is complete only after a clean exit. Callers that must
    not leave partial files write to a temporary path (see :mod:`vsrgan.io.atomic`) and pass the
    user's own path as ``name``: errors name that, never the hidden temporary file.

    Every setting is tried here, before a frame is decoded: the encoder is opened and the
    header written in ``__init__``, so a bad ``--preset`` or a codec the container refuses
    fails at once, in one line, not after minutes of upscaling.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        width: int,
        height: int,
        time_base: Fraction,
        frame_rate: Fraction,
        encode: EncodeOptions | None = None,
        rotation: int = 0,
        source: str | Path | None = None,
        source_until: float = float("inf"),
        muxer_options: dict[str, str] | None = None,
        name: str | Path | None = None,
        wide_colour: colour.WideColour | None = None,
        base_rate: Fraction | None = None,
        sample_aspect_ratio: Fraction | None = None,
    ):
        require_pyav()
        self.path = Path(path)
        self.name = Path(name) if name is not None else self.path
        encode = (encode or EncodeOptions()).for_colour(wide_colour is not None)
        self.encode = encode
        codec, pix_fmt = encode.codec, encode.pix_fmt
        check_encoder(encode, self.name)
        self.pad_to_even = pix_fmt in SUBSAMPLED_FORMATS
        self.size = (width, height)
        self.container = open_output(self.path, self.name, muxer_options or {})
        self.source = None
        try:
            try:
                self.stream = self.container.add_stream(codec, rate=frame_rate)
            except ValueError:
                raise VideoError(f"'{self.name}': a {self.name.suffix or 'file of this'} container cannot hold {codec} video; "
                                 "pick another --codec or output suffix") from None
            self.stream.width = width + (width % 2 if self.pad_to_even else 0)
            self.stream.height = height + (height % 2 if self.pad_to_even else 0)
            self.stream.pix_fmt = pix_fmt
            self.colour = colour.OutputColour(self.stream.codec_context, wide_colour)  # YUV output: BT.709 (HD), tagged
            # write_i420's planes fit: yuv420p by the matrix of its size, the one frames.to_i420 uses
            # (not a JPEG codec's BT.601, nor a wide source's BT.2020)
            self.takes_i420 = pix_fmt == "yuv420p" and self.colour.matrix is colour.output_matrix(self.stream.width, self.stream.height)
            no_times = self.container.format.name in CONSTANT_RATE_FORMATS
            self.constant_rate = constant_rate = no_times or codec in FIXED_RATE_CODECS
            if self.container.format.name in RAW_STREAM_FORMATS and Fraction(frame_rate) != 25:
                log.warning("'%s': a raw %s stream keeps no timestamps, and players read it at 25 fps: this video is %.3g fps "
                            "and would play at the wrong speed; write .mkv or .mp4 to keep its timing", self.name, self.path.suffix, float(frame_rate))
            # Encode in the source's time base, so every input pts is representable as it was;
            # a constant-rate container counts ticks instead.
            self.out_time_base = time_base
            if constant_rate:
                rate = tick_rate(self.container.format.name, codec, frame_rate, base_rate, source, time_base)
                self.out_time_base = (1 / Fraction(rate)).limit_denominator(MAX_TICK_DENOMINATOR)
            self.stream.codec_context.time_base = self.out_time_base
            self.stream.time_base = self.out_time_base
            options = {"bf": "0"} if no_times else {}  # AVI keeps no presentation times: B-frames would play out of order
            if encode.crf is not None:
                options["crf"] = str(encode.crf)
            if encode.preset is not None:
                options["preset"] = encode.preset
            if codec == "libx265":
                options["x265-params"] = "log-level=error"  # x265 prints a banner per stream otherwise
            self.stream.codec_context.options = options
            self.stream.codec_context.thread_count = encode.threads
            # Frames carry their durations to their packets: the muxer ends the video where the last frame
            # ends (without a duration it guesses one from the frame rate, cutting a GIF's final pause short).
            self.stream.codec_context.flags |= av.codec.context.Flags.frame_duration
            if sample_aspect_ratio:
                # The encoder writes it in the bitstream (H.264/HEVC VUI, MPEG-4, JPEG) and .mp4/.mov in 'pasp'.
                # Matroska's display size needs the AVStream's own, which PyAV cannot set: close() says where it is lost.
                self.stream.codec_context.sample_aspect_ratio = sample_aspect_ratio
            if rotation:
                self.stream.set_display_rotation(rotation)
            if source is not None:
                self.source = Passthrough(Path(source), self.container, until=source_until)
            start_encoding(self.container, self.stream, encode, self.name)
        except BaseException:
            self.close_without_flush()
            raise
        self.time_base = time_base
        self.source_until = source_until
        self.sample_aspect_ratio = sample_aspect_ratio
        self.count = 0
        self.last_pts = None  # in out_time_base

    def _even(self, image: np.ndarray) -> np.ndarray:
        """Repeat the last row/column where a subsampled pixel format needs even dimensions."""
        h, w = image.shape[:2]
        if self.pad_to_even and (h % 2 or w % 2):
            image = np.pad(image, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
        return image

    def write(self, image: np.ndarray, pts: int, duration: int = 0) -> None:
        """Encode one ``(H, W, 3)`` uint8 RGB frame shown at ``pts`` for ``duration`` (both in ``time_base``;
        a duration of 0: unknown, the muxer guesses)."""
        if image.shape[1::-1] != self.size:
            raise VideoError(f"frame of size {image.shape[1]}x{image.shape[0]} written to a {self.size[0]}x{self.size[1]} video '{self.name}'")
        self._encode(self.colour.frame(self._even(image)), pts, duration)

    def write_i420(self, planes: np.ndarray, pts: int, duration: int = 0) -> None:
        """Encode one frame already converted to yuv420p: ``uint8 (3H/2, W)`` as made by
        :func:`vsrgan.io.frames.to_i420` (H and W padded to even, :func:`vsrgan.io.colour.output_matrix`'s
        matrix); saves the encoder's CPU the colour conversion."""
        expected = (self.stream.height * 3 // 2, self.stream.width)
        if planes.shape != expected or not self.takes_i420:
            raise VideoError(f"I420 planes of shape {planes.shape} written to '{self.name}', expected {expected} and yuv420p")
        self._encode(av.VideoFrame.from_ndarray(planes, format="yuv420p"), pts, duration)

    def _encode(self, frame: av.VideoFrame, pts: int, duration: int) -> None:
        frame.pts = self._out_pts(pts)
        frame.duration = round(duration * self.time_base / self.out_time_base)
        frame.time_base = self.out_time_base
        if self.source is not None:
            self.source.feed_until(self.container, min(float(pts * self.time_base), self.source_until))
        self.container.mux(self.stream.encode(frame))
        self.count += 1

    def _out_pts(self, pts: int) -> int:
        """``pts`` (in ``time_base``) in the stream's own time base; where that is coarser (a
        constant-rate container), rounded to the nearest tick and kept increasing."""
        if not self.constant_rate:
            return pts
        out = round(pts * self.time_base / self.out_time_base)
        if self.last_pts is not None and out <= self.last_pts:
            out = self.last_pts + 1
        self.last_pts = out
        return out

    def close(self) -> None:
        """Flush the encoder and the rest of the audio, then close the file."""
        self.container.mux(self.stream.encode(None))
        if self.source is not None:
            self.source.finish(self.container, self.source_until)
        self.close_without_flush()
        if self.sample_aspect_ratio:
            check_pixel_shape(self.path, self.sample_aspect_ratio, name=self.name)

    def close_without_flush(self) -> None:
        if self.source is not None:
            self.source.close()
        self.container.close()

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
            return
        try:
            self.close_without_flush()
        except av.FFmpegError:  # closing writes the trailer, which fails again on a full disk: keep the first error
            pass
