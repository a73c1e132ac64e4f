"""Stand-ins for the ``ffmpeg`` processes that common upscaling tools pipe raw frames through.

Tools such as Real-ESRGAN's video script and video2x start one ``ffmpeg`` that decodes to raw
RGB on its stdout and another that encodes raw RGB from its stdin, and run the model in
between, a frame at a time. The GPU machine has no ffmpeg binary, so :mod:`vsrgan.benchmark.bench`
starts these two PyAV programs in its place (same libraries, same protocol)::

    python -m vsrgan.benchmark.pipes decode IN                  > frames.rgb
    python -m vsrgan.benchmark.pipes encode OUT W H RATE        < frames.rgb

A frame on the pipe is ``H * W * 3`` bytes of rgb24, rows top to bottom, no header; the
reader learns ``W`` and ``H`` beforehand (as the tools do with ffprobe).

From vsrgan this file takes only what makes its frames the ones ``read_frames`` reads: the
stream (:func:`vsrgan.io.video.video_stream`: not a cover image listed first) and the colour
conversion. The bench runs it as a script path, as the tools run an ffmpeg binary (those imports
still load ``vsrgan/__init__.py``, and PyTorch with it).
"""

import argparse
import sys
from fractions import Fraction

import av
import numpy as np

from vsrgan.io.colour import to_rgb  # absolute: the reference runs this file as a script too
from vsrgan.io.video import video_stream


def decode(path: str) -> int:
    """Write every frame of ``path`` to stdout as rgb24; return the count."""
    out = sys.stdout.buffer
    count = 0
    with av.open(path) as container:
        stream = video_stream(container)
        stream.thread_type = "AUTO"  # ffmpeg's default: frame and slice threads
        for frame in container.decode(stream):
            image = np.ascontiguousarray(to_rgb(frame))  # (H, W, 3), converted as read_frames converts
            out.write(memoryview(image).cast("B"))
            count += 1
    out.flush()
    return count


def read_exactly(stream, buffer: memoryview) -> bool:
    """Fill ``buffer`` from ``stream``; False at a clean end of stream, an error mid-frame."""
    filled = 0
    while filled < len(buffer):
        n = stream.readinto(buffer[filled:])
        if not n:
            if filled == 0:
                return False
            raise EOFError(f"stdin ended {filled} bytes into a {len(buffer)}-byte frame")
        filled += n
    return True


def encode(path: str, width: int, height: int, rate: Fraction, *, codec: str, preset: str, crf: int, pix_fmt: str) -> int:
    """Encode rgb24 frames from stdin into ``path`` at a constant ``rate``; return the count."""
    image = np.empty((height, width, 3), np.uint8)
    buffer = memoryview(image).cast("B")
    count = 0
    with av.open(path, mode="w") as container:
        stream = container.add_stream(codec, rate=rate)
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        stream.codec_context.options = {"preset": preset, "crf": str(crf)}
        while read_exactly(sys.stdin.buffer, buffer):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = count  # in 1/rate, the stream's time base: one tick per frame
            container.mux(stream.encode(frame))
            count += 1
        container.mux(stream.encode(None))
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vsrgan.benchmark.pipes", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("decode", help="decode IN to raw rgb24 frames on stdout")
    d.add_argument("input")
    e = sub.add_parser("encode", help="encode raw rgb24 frames from stdin into OUT")
    e.add_argument("output")
    e.add_argument("width", type=int)
    e.add_argument("height", type=int)
    e.add_argument("rate", type=Fraction, help="frames per second, e.g. 25 or 30000/1001")
    e.add_argument("--codec", default="libx264")
    e.add_argument("--preset", default="veryfast")
    e.add_argument("--crf", type=int, default=18)
    e.add_argument("--pix-fmt", default="yuv420p")
    args = parser.parse_args(argv)
    if args.command == "decode":
        decode(args.input)
    else:
        encode(args.output, args.width, args.height, args.rate, codec=args.codec, preset=args.preset, crf=args.crf, pix_fmt=args.pix_fmt)
    return 0


if __name__ == "__main__":
    sys.exit(main())
