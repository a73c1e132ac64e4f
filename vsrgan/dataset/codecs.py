"""Real codecs on short LR sequences: what web video, DVDs and phone recordings do to a picture.

A :class:`Codec` names one lossy round trip: ``x264`` (libx264 at a CRF and preset), ``mpeg2``
(MPEG-2 at a DVD-like bitrate), ``mpeg4`` (MPEG-4 Part 2, as Xvid/DivX, at a bitrate), ``vp9``
(libvpx-vp9 at a CRF, as web video is served), ``x265`` (HEVC, libx265 at a CRF, as phones record),
``av1`` (SVT-AV1 at a CRF), ``jpeg`` (Pillow, one image at a time) or ``clean`` (none). :func:`round_trip` sends a whole sequence of
frames through it, always in yuv420p, so a frame in the middle of the sequence carries what real
video carries: chroma subsampling, motion-compensated prediction from its neighbours, blocks and
ringing that move with the picture.

Bitrates are stated in bits per pixel per frame (``bpp``) so that one setting means the same
quality at any frame size: a DVD (720x480 MPEG-2 at 4-8 Mb/s, 30 fps) runs at 0.4-0.8 bpp.

A stored LR sample must be remade bit for bit from its recorded parameters, so every encoder
runs single-threaded, and the RGB <-> YUV conversions are done here (:func:`vsrgan.io.frames.to_i420`
and :func:`from_i420`) rather than by swscale, whose SIMD paths depend on how a buffer happens to
be aligned in memory: one grey level of difference in the input changes libx264's decisions. And
frames are padded (edge repeated, cut off again after decoding) to a width that is a multiple of
128 and a height that is a multiple of 16: at other widths the rows of a frame's planes (chroma at
half the width) carry unset alignment bytes that libx264's SIMD reads, and the same input gave
different bitstreams from run to run (seen at 112 and 64 pixels wide, never at 128 or 256).

:func:`parse_codec` reads the spec strings of ``vsrgan evaluate --degrade``: ``clean``,
``x264:crf=28``, ``x264:crf=23,preset=fast``, ``mpeg2:bpp=0.5``, ``mpeg4:bpp=0.3``, ``vp9:crf=35``, ``x265:crf=28``,
``av1:crf=40``, ``jpeg:q=60``.
"""

import io
import os
from dataclasses import dataclass

import numpy as np
from PIL import Image

from ..errors import ConfigError
from ..io import frames as frames_

CODECS = ("clean", "x264", "mpeg2", "mpeg4", "vp9", "x265", "av1", "jpeg")
MAX_CRF = {"vp9": 63, "av1": 63}  # the others': 51
X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow")
FPS = 25  # the rate the sequences are encoded at: it sets the bit budget per frame with bpp
_PARAMS = {"x264": ("crf", "preset"), "mpeg2": ("bpp",), "mpeg4": ("bpp",), "vp9": ("crf",), "x265": ("crf",), "av1": ("crf",),
           "jpeg": ("q",), "clean": ()}


@dataclass(frozen=True)
class Codec:
    """One lossy round trip; the fields that its ``name`` does not use stay at their defaults."""

    name: str = "clean"  # one of CODECS
    crf: int = 23  # x264, x265: constant rate factor (18: near transparent, 35: blocky); vp9, av1: their CRF, 0-63
    preset: str = "medium"  # x264: speed preset (slower presets spend bits better)
    bpp: float = 0.5  # mpeg2, mpeg4: bits per pixel per frame (a DVD: 0.4-0.8)
    q: int = 75  # jpeg: Pillow quality 1-95

    def __post_init__(self):
        if self.name not in CODECS:
            raise ConfigError(f"unknown codec {self.name!r}; expected one of {', '.join(CODECS)}")
        if not 0 <= self.crf <= MAX_CRF.get(self.name, 51):
            raise ConfigError(f"{self.name} crf must be 0-{MAX_CRF.get(self.name, 51)}, got {self.crf}")
        if self.preset not in X264_PRESETS:
            raise ConfigError(f"x264 preset must be one of {', '.join(X264_PRESETS)}, got {self.preset!r}")
        if not 0.01 <= self.bpp <= 24:
            raise ConfigError(f"bpp (bits per pixel per frame) must be 0.01-24, got {self.bpp}")
        if not 1 <= self.q <= 95:
            raise ConfigError(f"jpeg q must be 1-95, got {self.q}")

    @property
    def label(self) -> str:
        """The spec string that :func:`parse_codec` reads back into this codec."""
        values = {"crf": self.crf, "preset": self.preset, "bpp": self.bpp, "q": self.q}
        params = _PARAMS[self.name]
        if self.name == "x264" and self.preset == "medium":
            params = ("crf",)
        return self.name + (":" + ",".join(f"{k}={values[k]}" for k in params) if params else "")


def parse_codec(text: str) -> Codec:
    """``"x264:crf=28"`` -> ``Codec("x264", crf=28)``; a ConfigError naming what was expected otherwise."""
    name, _, rest = text.strip().partition(":")
    if name not in CODECS:
        raise ConfigError(f"--degrade {text!r}: unknown codec {name!r}; expected one of {', '.join(CODECS)} (e.g. x264:crf=28)")
    fields: dict = {}
    for part in filter(None, rest.split(",")):
        key, eq, value = part.partition("=")
        if not eq or key not in _PARAMS[name]:
            expected = ", ".join(f"{k}=..." for k in _PARAMS[name]) or "no parameters"
            raise ConfigError(f"--degrade {text!r}: {name} takes {expected}")
        try:
            fields[key] = value if key == "preset" else float(value) if key == "bpp" else int(value)
        except ValueError:
            raise ConfigError(f"--degrade {text!r}: {key} must be a number, got {value!r}") from None
    return Codec(name, **fields)


def round_trip(frames: list[np.ndarray], codec: Codec) -> list[np.ndarray]:
    """``uint8 (h, w, 3)`` frames of one sequence, encoded and decoded by ``codec``, same sizes."""
    if codec.name == "clean":
        return [f.copy() for f in frames]
    if codec.name == "jpeg":
        return [jpeg(f, codec.q) for f in frames]
    return _video(frames, codec)


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    """``uint8 (H, W, 3)`` through a Pillow JPEG encode/decode at ``quality`` (4:2:0 chroma, as video)."""
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="JPEG", quality=quality)
    buf.seek(0)
    with Image.open(buf) as im:
        return np.asarray(im.convert("RGB")).copy()


def sequence_quantiser(frames: list[np.ndarray], codec: Codec):
    """The :class:`vsrgan.io.compression.Quantiser` that ``codec`` chose for this sequence, as the
    decoder of a file so encoded reports it (None for clean and jpeg)."""
    from ..io.compression import mean_quantiser, read_quantiser

    if codec.name in ("clean", "jpeg"):
        return None
    if codec.name in RAW_FORMATS:  # the quantiser is in the headers (io.compression): parse the stream itself
        stream = io.BytesIO(b"".join(bytes(p) for p in _encoded(frames, codec)[0]))
        return read_quantiser(stream, len(frames), format=RAW_FORMATS[codec.name])
    return mean_quantiser(_decoded(frames, codec, export_quantiser=True))


def _video(frames: list[np.ndarray], codec: Codec) -> list[np.ndarray]:
    h, w = frames[0].shape[:2]
    return [frames_.from_i420(f.to_ndarray(format="yuv420p"))[:h, :w] for f in _decoded(frames, codec)]


def _decoded(frames: list[np.ndarray], codec: Codec, *, export_quantiser: bool = False) -> list:
    """The ``av.VideoFrame`` s of ``frames`` encoded and decoded, in display order, padded (module
    docstring). Bare codec contexts: no container is needed for a round trip."""
    import av  # PyAV only where asked for

    packets, count = _encoded(frames, codec)
    decoder = av.CodecContext.create(DECODERS.get(codec.name, codec.name), "r")  # parameter sets travel in-band
    decoder.thread_count = 1
    if export_quantiser:
        decoder.options = {"export_side_data": "venc_params"}
    decoded = [f for packet in packets for f in decoder.decode(packet)] + list(decoder.decode(None))
    if len(decoded) != count:
        raise RuntimeError(f"{codec.label} returned {len(decoded)} of {count} frames")  # an FFmpeg defect, not input
    decoded.sort(key=lambda f: f.pts)  # decoders return display order; sorted to be sure
    return decoded


ENCODERS = {"x264": "libx264", "mpeg2": "mpeg2video", "mpeg4": "mpeg4", "vp9": "libvpx-vp9", "x265": "libx265", "av1": "libsvtav1"}
DECODERS = {"x264": "h264", "mpeg2": "mpeg2video", "vp9": "vp9", "x265": "hevc", "av1": "libdav1d"}  # else the codec's name
RAW_FORMATS = {"x265": "hevc", "av1": "obu"}  # their elementary streams, as FFmpeg's demuxers name them


def _encoded(frames: list[np.ndarray], codec: Codec) -> tuple[list, int]:
    """The packets of ``frames`` (padded: module docstring) encoded by ``codec``, and the frame count."""
    from fractions import Fraction

    import av

    h, w = frames[0].shape[:2]
    ph, pw = -(-h // 16) * 16, -(-w // 128) * 128  # module docstring: deterministic only at such sizes
    frames = [np.pad(f, ((0, ph - h), (0, pw - w), (0, 0)), mode="edge") for f in frames]
    encoder = av.CodecContext.create(ENCODERS[codec.name], "w")
    encoder.width, encoder.height, encoder.pix_fmt = pw, ph, "yuv420p"
    encoder.time_base, encoder.framerate = Fraction(1, FPS), Fraction(FPS)
    encoder.thread_count = 1  # deterministic output (module docstring)
    if codec.name == "x264":
        encoder.options = {"crf": str(codec.crf), "preset": codec.preset, "threads": "1"}
    elif codec.name == "vp9":  # constant quality (b=0), libvpx's default speed for files, no row threads
        encoder.options = {"crf": str(codec.crf), "b": "0", "deadline": "good", "cpu-used": "2", "row-mt": "0", "threads": "1"}
    elif codec.name == "x265":  # its default preset (medium), no thread pool or frame threads
        encoder.options = {"crf": str(codec.crf), "x265-params": "pools=none:frame-threads=1:log-level=error"}
    elif codec.name == "av1":  # SVT-AV1's default preset for files, one logical processor
        os.environ.setdefault("SVT_LOG", "1")  # SVT-AV1 prints a banner per encoder to stderr below error level 1
        encoder.options = {"crf": str(codec.crf), "preset": "8", "svtav1-params": "lp=1"}
    else:
        encoder.bit_rate = max(8000, int(codec.bpp * encoder.width * encoder.height * FPS))
        encoder.gop_size = 12  # a DVD's GOP is 12-18 frames: I, then P and B frames
        encoder.max_b_frames = 2
    packets = []
    for index, plane in enumerate(frames_.to_i420(frames_.to_tensor(np.stack(frames))).numpy()):
        frame = av.VideoFrame.from_ndarray(plane, format="yuv420p")
        frame.pts = index
        packets += encoder.encode(frame)
    packets += encoder.encode(None)  # flush the frames the encoder holds back (B-frames, lookahead)
    return packets, len(frames)
