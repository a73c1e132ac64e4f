"""Streams made with PyAV's own encoders for the stream-layout tests, and `vsrgan upscale` run as a
user runs it (test_stream_layouts.py, test_field_order_and_rotation.py)."""

import math
import subprocess
import sys

import av
import numpy as np
from clips import pattern

CLI = [sys.executable, "-m", "vsrgan", "upscale"]
W, H, FRAMES = 64, 48, 6


def upscale(src, dst, *flags):
    """``vsrgan upscale`` x2 with bicubic, fast: (exit code, stderr lines without the progress bar)."""
    result = subprocess.run([*CLI, str(src), "-o", str(dst), "-m", "bicubic", "-s", "2", "--preset", "ultrafast", *map(str, flags)],
                            capture_output=True, text=True, timeout=300)
    return result.returncode, [line for line in result.stderr.splitlines() if "frame/s" not in line and line.strip()]


def add_video(container, codec="libx264", *, width=W, height=H, pix_fmt="yuv420p", options=None, flags=0, rotation=0):
    v = container.add_stream(codec, rate=25)
    v.width, v.height, v.pix_fmt = width, height, pix_fmt
    v.codec_context.options = options or {}
    v.codec_context.flags |= flags
    if rotation:
        v.set_display_rotation(rotation)
    return v


def encode_video(container, stream, frames=FRAMES, images=None):
    for i in range(frames):
        image = images[i] if images is not None else pattern(stream.width, stream.height, i)
        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts = i
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))


def add_tone(container, codec, *, language=None, title=None):
    a = container.add_stream(codec, rate=48000)
    a.layout = "stereo"
    if language:
        a.metadata["language"] = language
    if title:
        a.metadata["title"] = title
    return a


def encode_tone(container, stream, seconds, freq):
    """``seconds`` of a ``freq`` Hz stereo tone, converted to what the encoder takes."""
    ctx = stream.codec_context
    resampler = av.AudioResampler(format=ctx.format.name, layout="stereo", rate=ctx.sample_rate)
    size, total = ctx.frame_size or 1024, int(seconds * ctx.sample_rate)
    for start in range(0, total, size):
        t = np.arange(start, min(start + size, total)) / ctx.sample_rate
        wave = (0.3 * np.sin(2 * math.pi * freq * t)).astype(np.float32)
        frame = av.AudioFrame.from_ndarray(np.stack([wave, wave]), format="fltp", layout="stereo")
        frame.sample_rate, frame.pts = ctx.sample_rate, start
        for converted in resampler.resample(frame):
            container.mux(stream.encode(converted))
    for converted in resampler.resample(None):
        container.mux(stream.encode(converted))
    container.mux(stream.encode(None))


def streams(path):
    """(type, codec, language, title) of every stream, and the container's title."""
    with av.open(str(path)) as c:
        return [(s.type, s.codec_context.name, s.metadata.get("language"), s.metadata.get("title") or s.metadata.get("name"))
                for s in c.streams], c.metadata.get("title")


def ends(path):
    """Where each stream's last packet ends (s), by stream index."""
    out = {}
    with av.open(str(path)) as c:
        for p in c.demux():
            if p.size and p.pts is not None:
                out[p.stream.index] = max(out.get(p.stream.index, 0.0), float((p.pts + (p.duration or 0)) * p.time_base))
    return out
