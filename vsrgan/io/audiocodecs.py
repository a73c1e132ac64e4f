"""Whether an audio stream can be copied into a container as it is, and which settings its encoder opens with.

:func:`copyable` tries the stream's first packets in a trial file in memory (FFmpeg's codec lists
are not enough either way); :func:`encoder_settings` finds the rate, sample format and channel
layout an encoder opens with, as close to the source's as it allows. Used by
:class:`vsrgan.io.passthrough.Passthrough`.
"""

from __future__ import annotations

import io
import itertools
from fractions import Fraction
from pathlib import Path

try:
    import av
except ImportError:  # see vsrgan.io.video: only video I/O needs PyAV
    av = None

from ..errors import VideoError

# The usual layout for each channel count: PCM in AVI or WAV often declares none ("6 channels").
DEFAULT_LAYOUTS = {1: "mono", 2: "stereo", 3: "2.1", 4: "quad", 5: "5.0", 6: "5.1", 7: "6.1", 8: "7.1"}

# Packets a trial file gets (copyable): read back, MPEG-PS tells MP3 from MP2 after a few frames, not after one.
TRIAL_PACKETS = 3


def copyable(source: Path, index: int, output: av.container.OutputContainer) -> bool:
    """Whether ``output``'s muxer takes the packets of stream ``index`` of ``source`` as they are.

    A trial file in memory gets the stream's first packets. FFmpeg's codec list for the container
    is not enough either way: an .mp4 lists PCM, then refuses PCM without a channel layout when it
    writes its index; MPEG-TS and MPEG-PS keep no list (FFmpeg names only their default, MP2), yet
    carry AAC, AC-3 and more. A codec off the list is copied where the trial, read back, shows it
    again: a .ts takes PCM or FLAC too, as private data nothing decodes.
    """
    with av.open(str(source)) as container:
        stream = container.streams[index]
        listed = stream.codec_context.name in output.supported_codecs
        trial = io.BytesIO()
        try:
            with av.open(trial, "w", format=output.format.name) as muxer:
                out = muxer.add_stream_from_template(stream)
                muxer.start_encoding()
                for packet in itertools.islice((p for p in container.demux(stream) if p.size), TRIAL_PACKETS):
                    packet.stream = out
                    muxer.mux(packet)
        except (av.FFmpegError, ValueError):
            return False
        return listed or reads_back(trial, output.format.name, stream)


def reads_back(trial: io.BytesIO, format: str, stream: av.stream.Stream) -> bool:
    """Whether the ``trial`` file shows a stream of ``stream``'s type and codec."""
    trial.seek(0)
    try:
        with av.open(trial, format=format) as written:
            codecs = {s.codec.canonical_name for s in written.streams if s.type == stream.type and s.codec is not None}
    except (av.FFmpegError, ValueError):
        return False
    return stream.codec.canonical_name in codecs


def encodes(codec: str) -> bool:
    """Whether FFmpeg has an encoder for ``codec``."""
    try:
        av.Codec(codec, "w")
    except (av.FFmpegError, ValueError):
        return False
    return True


def opens(codec: str, rate: int, sample_format: str, layout: str) -> bool:
    ctx = av.CodecContext.create(codec, "w")
    ctx.sample_rate, ctx.format, ctx.layout, ctx.time_base = rate, sample_format, layout, Fraction(1, rate)
    try:
        ctx.open()
    except (av.FFmpegError, ValueError):
        return False
    return True


def encoder_settings(codec: str, rate: int, channels: int, layout: str) -> tuple[int, str, str]:
    """(rate, sample format, layout) that ``codec`` opens with, as close to the source's as it allows.

    Rate: the source's, else the nearest the encoder lists at or above it (Opus: 8, 12, 16, 24, 48
    kHz), else its highest. Layout: the source's, else the usual one for its channel count, else
    a downmix to stereo, then mono (MP3 and MP2 hold no more than two channels).
    """
    allowed = av.Codec(codec, "w").audio_rates
    rates = [rate]
    if allowed and rate not in allowed:
        rates = [min((r for r in allowed if r >= rate), default=max(allowed))]
    layouts = list(dict.fromkeys([layout, DEFAULT_LAYOUTS.get(channels, "stereo"), "stereo", "mono"]))
    for r in [*rates, 48000, 44100]:
        for name in layouts:
            for sample_format in av.Codec(codec, "w").audio_formats or ():
                if opens(codec, r, sample_format.name, name):
                    return r, sample_format.name, name
    raise VideoError(f"no settings of the {codec} encoder fit {channels}-channel {rate} Hz audio")
