"""Cut the first seconds of a video and shrink it by the training degradation (audio kept).

    python scripts/data/make_sample.py data/samples/cockatoo.mp4 data/samples/sample.mp4 --seconds 3
"""

import argparse

from vsrgan.dataset.degrade import downscale
from vsrgan.io import frames
from vsrgan.io.atomic import atomic_path
from vsrgan.io.encoding import EncodeOptions
from vsrgan.io.video import probe, read_frames
from vsrgan.io.writer import VideoWriter


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("input")
    parser.add_argument("output")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--scale", type=int, default=4, help="shrink factor (default: %(default)s)")
    args = parser.parse_args()

    info = probe(args.input)
    width, height = info.width // args.scale, info.height // args.scale
    with atomic_path(args.output, overwrite=True) as tmp:
        with VideoWriter(tmp, width=width, height=height, time_base=info.time_base, frame_rate=info.frame_rate,
                         encode=EncodeOptions(crf=16), source=args.input, source_until=args.seconds, name=args.output) as writer:
            for frame in read_frames(args.input):
                if frame.time >= args.seconds:
                    break
                small = frames.to_numpy(downscale(frames.to_tensor(frame.image), args.scale))[0]
                writer.write(small, frame.pts)
    print(f"wrote {args.output}: {width}x{height}, {args.seconds:g} s")


if __name__ == "__main__":
    main()
