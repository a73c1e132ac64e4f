"""Test clips written with PyAV: small real encoded files (video, audio, covers, subtitles) whose
content is known (:func:`pattern`), so tests check what vsrgan reads and writes against it."""

import io
import math
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image


def pattern(width: int, height: int, index: int) -> np.ndarray:
    """A moving, textured RGB frame: gradients, a sliding bar and fine stripes."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    r = (x / max(width - 1, 1)) * 255
    g = (y / max(height - 1, 1)) * 255
    b = 127 + 120 * np.sin((x + 3 * index) / 3.0) * np.cos(y / 4.0)
    image = np.stack([r, g, b], axis=-1)
    bar = (x >= (index * 2) % width) & (x < (index * 2) % width + max(width // 8, 2))
    image[bar] = [250, 250, 30]
    return image.clip(0, 255).astype(np.uint8)


def make_clip(
    path: Path,
    *,
    width: int = 48,
    height: int = 32,
    frames: int = 12,
    rate: Fraction = Fraction(25),
    time_base: Fraction | None = None,
    durations: list[int] | None = None,
    audio: bool = False,
    codec: str = "libx264",
    pix_fmt: str = "yuv420p",
    subtitles: bool = False,
    gop: int | None = None,
    options: dict[str, str] | None = None,
    bit_rate: int | None = None,
) -> list[int]:
    """Encode a clip and return the pts of its frames (in ``time_base``).

    ``durations`` (ticks of ``time_base`` per frame, cycled) makes a variable frame rate clip.
    ``audio`` adds a 440 Hz AAC tone lasting as long as the video. ``gop``: a keyframe every
    ``gop`` frames (and no scene-cut keyframes), for clips with several keyframe segments.
    ``options``: the encoder's (``{"crf": "40"}``); ``bit_rate``: its target in bits per second.
    """
    time_base = time_base or 1 / rate
    step = int(round(1 / (rate * time_base)))
    pts, t = [], 0
    for i in range(frames):
        pts.append(t)
        t += durations[i % len(durations)] if durations else step
    end_seconds = float(t * time_base)
    with av.open(str(path), "w") as c:
        v = c.add_stream(codec, rate=rate)
        v.width, v.height, v.pix_fmt = width, height, pix_fmt
        v.codec_context.time_base = time_base
        v.time_base = time_base
        if gop is not None:
            v.codec_context.gop_size = gop
            v.codec_context.options = {"x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0"}
        if options:
            v.codec_context.options = {**v.codec_context.options, **options}
        if bit_rate:
            v.codec_context.bit_rate = bit_rate
        a = None
        if audio:
            a = c.add_stream("aac", rate=48000)
            a.layout = "stereo"
        for i, p in enumerate(pts):
            frame = av.VideoFrame.from_ndarray(pattern(width, height, i), format="rgb24")
            frame.pts, frame.time_base = p, time_base
            c.mux(v.encode(frame))
        c.mux(v.encode(None))
        if a is not None:
            sr, n = 48000, 1024
            total = int(end_seconds * sr)
            for start in range(0, total, n):
                count = min(n, total - start)
                tt = (np.arange(start, start + count) / sr).astype(np.float32)
                tone = (0.3 * np.sin(2 * math.pi * 440 * tt)).astype(np.float32)
                af = av.AudioFrame.from_ndarray(np.stack([tone, tone]), format="fltp", layout="stereo")
                af.sample_rate, af.pts = sr, start
                c.mux(a.encode(af))
            c.mux(a.encode(None))
    if subtitles:
        _add_subtitles(path, end_seconds)
    return pts


def _add_subtitles(path: Path, seconds: float) -> None:
    """Remux ``path`` into itself plus an SRT subtitle track (mkv only)."""
    srt = path.with_suffix(".srt")
    srt.write_text(f"1\n00:00:00,000 --> 00:00:0{min(int(seconds), 9)},000\nhello\n")
    tmp = path.with_name("sub-" + path.name)
    with av.open(str(path)) as src, av.open(str(srt)) as sub, av.open(str(tmp), "w") as out:
        routes = {}
        for s in [*src.streams]:
            routes[(0, s.index)] = out.add_stream_from_template(s)
        routes[(1, 0)] = out.add_stream_from_template(sub.streams[0])
        for key, container in ((1, sub), (0, src)):
            for packet in container.demux():
                if not packet.size:  # the demuxer's empty end-of-stream marker
                    continue
                packet.stream = routes[(key, packet.stream.index)]
                out.mux(packet)
    tmp.replace(path)
    srt.unlink()

def make_anamorphic_clip(path: Path, sample_aspect_ratio: Fraction, *, width: int = 48, height: int = 32, frames: int = 12,
                         gop: int | None = None, hold: int = 1) -> None:
    """A 25 fps libx264 clip whose pixels are ``sample_aspect_ratio`` wide (a DVD's 32:27, HDV's 4:3): in
    the H.264 headers, which an .mkv relies on, and in an .mp4's 'pasp' box. ``gop`` as for :func:`make_clip`;
    ``hold``: the last frame shows for that many frames' time (every frame's duration is written)."""
    with av.open(str(path), "w") as c:
        v = c.add_stream("libx264", rate=25)
        v.width, v.height, v.pix_fmt = width, height, "yuv420p"
        v.codec_context.sample_aspect_ratio = sample_aspect_ratio
        v.codec_context.flags |= av.codec.context.Flags.frame_duration
        if gop is not None:
            v.codec_context.gop_size = gop
            v.codec_context.options = {"x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0"}
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(pattern(width, height, i), format="rgb24")
            frame.pts, frame.time_base, frame.duration = i, Fraction(1, 25), hold if i == frames - 1 else 1
            c.mux(v.encode(frame))
        c.mux(v.encode(None))


def make_late_clip(path: Path, *, start: float = 5.0, frames: int = 16, audio_seconds: float | None = None) -> None:
    """A clip whose timestamps start at ``start`` seconds, with AAC audio lasting ``audio_seconds`` (default: as the video)."""
    time_base = Fraction(1, 1000)
    with av.open(str(path), "w") as c:
        v = c.add_stream("libx264", rate=25)
        v.width, v.height, v.pix_fmt = 48, 32, "yuv420p"
        v.codec_context.time_base = v.time_base = time_base
        a = c.add_stream("aac", rate=48000)
        a.layout = "stereo"
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(pattern(48, 32, i), format="rgb24")
            frame.pts, frame.time_base = int(start * 1000) + 40 * i, time_base
            c.mux(v.encode(frame))
        c.mux(v.encode(None))
        for first in range(0, int((audio_seconds or frames / 25) * 48000), 1024):
            af = av.AudioFrame.from_ndarray(np.zeros((2, 1024), np.float32), format="fltp", layout="stereo")
            af.sample_rate, af.pts = 48000, int(start * 48000) + first
            c.mux(a.encode(af))
        c.mux(a.encode(None))


def make_av_clip(path: Path, audio_codec: str, *, rate: int, layout: str, video_codec: str = "mjpeg", seconds: float = 1.0, fps: int = 8,
                 audio_start: float = 0.0) -> float:
    """A 32x32 clip with a 440 Hz tone in ``audio_codec`` (its first sample format), interleaved,
    from ``audio_start`` seconds to the end; return the audio's length in seconds as decoded."""
    with av.open(str(path), "w") as c:
        v = c.add_stream(video_codec, rate=fps)
        v.width, v.height, v.pix_fmt = 32, 32, "yuvj420p" if video_codec == "mjpeg" else "yuv420p"
        a = c.add_stream(audio_codec, rate=rate)
        a.layout = layout
        a.format = fmt = av.Codec(audio_codec, "w").audio_formats[0].name
        resampler = av.AudioResampler(format=fmt, layout=layout, rate=rate)
        channels, start, done = av.AudioLayout(layout).nb_channels, int(audio_start * rate), 0
        total = int(seconds * rate) - start
        for i in range(int(seconds * fps)):
            frame = av.VideoFrame.from_ndarray(pattern(32, 32, i), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            c.mux(v.encode(frame))
            while done < min(total, (i + 1) * rate // fps - start):
                count = min(1024, total - done)
                tone = (0.3 * np.sin(2 * math.pi * 440 * np.arange(done, done + count) / rate)).astype(np.float32)
                af = av.AudioFrame.from_ndarray(np.repeat(tone[None], channels, 0), format="fltp", layout=layout)
                af.sample_rate, af.pts = rate, start + done
                for converted in resampler.resample(af):
                    c.mux(a.encode(converted))
                done += count
        for converted in resampler.resample(None):
            c.mux(a.encode(converted))
        c.mux(v.encode(None))
        c.mux(a.encode(None))
    return audio_seconds(path)


def audio_seconds(path: Path) -> float:
    """The first audio stream's length, counted in decoded samples."""
    with av.open(str(path)) as c:
        stream = c.streams.audio[0]
        return sum(f.samples for f in c.decode(stream)) / stream.codec_context.sample_rate


def make_audio_only(path: Path) -> Path:
    """An AAC file with no video stream (a bad input for every video command)."""
    with av.open(str(path), "w") as c:
        s = c.add_stream("aac", rate=8000)
        f = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        f.sample_rate, f.pts = 8000, 0
        c.mux(s.encode(f))
        c.mux(s.encode(None))
    return path


def make_alaw_clip(path: Path) -> None:
    """A 1 s .avi (10 fps libx264) with a silent A-law track, an audio codec .mp4 cannot carry."""
    with av.open(str(path), "w") as c:
        v = c.add_stream("libx264", rate=10)
        v.width, v.height, v.pix_fmt = 32, 32, "yuv420p"
        a = c.add_stream("pcm_alaw", rate=8000)
        a.layout = "mono"
        for i in range(10):
            f = av.VideoFrame.from_ndarray(pattern(32, 32, i), format="rgb24")
            f.pts = i
            c.mux(v.encode(f))
        c.mux(v.encode(None))
        for i in range(10):
            af = av.AudioFrame.from_ndarray(np.zeros((1, 800), np.int16), format="s16", layout="mono")
            af.sample_rate, af.pts = 8000, i * 800
            c.mux(a.encode(af))
        c.mux(a.encode(None))


def make_gif(path: Path, durations_ms: list[int], *, width: int = 40, height: int = 30) -> None:
    """An animated GIF whose frames show ``durations_ms`` each, the last one's hold included."""
    images = [Image.fromarray(pattern(width, height, i)) for i in range(len(durations_ms))]
    images[0].save(path, save_all=True, append_images=images[1:], duration=durations_ms, loop=0)


def jpeg(value: int) -> bytes:
    """A 32x32 JPEG of one grey ``value``."""
    buffer = io.BytesIO()
    Image.fromarray(np.full((32, 32, 3), value, np.uint8)).save(buffer, "JPEG")
    return buffer.getvalue()


def with_cover_first(source: Path, path: Path, picture: bytes) -> None:
    """``source``'s streams in the .mp4 ``path`` with the JPEG ``picture`` as its cover, which FFmpeg
    lists as stream #0, before the video: the tags box ('udta', holding the covr) comes ahead of the
    tracks, as some taggers write it. FFmpeg numbers streams in the order it meets them."""
    with av.open(str(source)) as src, av.open(str(path), "w") as out:
        routes = {s.index: out.add_stream_from_template(s) for s in src.streams}
        cover = out.add_stream("mjpeg")
        cover.width, cover.height, cover.pix_fmt = 32, 32, "yuvj420p"
        cover.disposition = av.stream.Disposition.attached_pic
        out.start_encoding()
        packet = av.Packet(picture)
        packet.stream = cover
        out.mux(packet)
        for packet in src.demux():
            if packet.size:
                packet.stream = routes[packet.stream.index]
                out.mux(packet)
    data = path.read_bytes()
    boxes = lambda start, end: list(_boxes(data, start, end))  # noqa: E731
    moov = next((start, size) for kind, start, size in boxes(0, len(data)) if kind == b"moov")  # after 'mdat': no offset moves
    inner = boxes(moov[0] + 8, moov[0] + moov[1])
    order = sorted(inner, key=lambda box: {b"mvhd": 0, b"udta": 1}.get(box[0], 2))
    body = b"".join(data[start:start + size] for _, start, size in order)
    path.write_bytes(data[:moov[0] + 8] + body + data[moov[0] + moov[1]:])


def _boxes(data: bytes, start: int, end: int):
    """(type, offset, size) of each ISO BMFF box between ``start`` and ``end``."""
    while start < end:
        size, kind = int.from_bytes(data[start:start + 4], "big"), data[start + 4:start + 8]
        yield kind, start, size
        start += size
