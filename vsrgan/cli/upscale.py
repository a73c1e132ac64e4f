"""The ``upscale`` and ``models`` subcommands: build their parsers, hand plain keyword arguments to the API."""

import argparse
import sys

from ..errors import VsrganError
from .options import add_backend_args, add_model_run_args, add_video_output_args


def add_upscale_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "upscale",
        help="upscale a video or an image",
        description="Upscale a video (audio, subtitles and timing kept) or a still image.",
        epilog="examples:\n  vsrgan upscale in.mp4 out.mp4\n  vsrgan upscale -i in.mkv -o out.mkv -m bicubic -s 2\n"
        "  vsrgan upscale photo.png big.png --tile 256",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("input_pos", nargs="?", metavar="INPUT", help="input video or image")
    p.add_argument("output_pos", nargs="?", metavar="OUTPUT", help="output file (suffix picks the container)")
    p.add_argument("-i", "--input", help="input video or image (instead of the positional)")
    p.add_argument("-o", "--output", help="output file (instead of the positional)")
    p.add_argument("-m", "--model", default=None, help="bicubic, a bundled model name (see 'vsrgan models') or a .safetensors path (default: %(default)s -> the bundled default)")
    p.add_argument("-s", "--scale", type=int, default=None, help="upscaling factor; must match the model's (default: the model's, 4 for bicubic)")
    add_model_run_args(p, batch_size=None)
    add_backend_args(p)
    add_video_output_args(p)
    p.add_argument("--cluster", default=None, metavar="auto|ray://HOST:PORT",
                   help="upscale in keyframe segments on Ray: 'auto' starts one on this machine; resumable (needs vsrgan[cluster])")
    p.add_argument("--num-cpus", type=int, default=None, help="with --cluster auto: how many segments run at once (default: every core)")
    p.add_argument("--segment-frames", type=int, default=120, help="with --cluster: at least this many frames per segment (default: %(default)s)")
    p.set_defaults(run=run_upscale)


def run_upscale(args) -> None:
    from ..models import default_model
    from ..upscale import upscale

    positionals = [x for x in (args.input_pos, args.output_pos) if x]
    input = args.input or (positionals.pop(0) if positionals else None)
    output = args.output or (positionals.pop(0) if positionals else None)
    if positionals or not input or not output:
        raise VsrganError("upscale needs one input and one output, e.g. 'vsrgan upscale in.mp4 out.mp4'")
    if args.cluster:
        from ..cluster.run import upscale_on_cluster
        from ..device import pick_device
        from ..memory import default_batch_size
        from ..video import EncodeOptions

        upscale_on_cluster(
            input, output, cluster=args.cluster, num_cpus=args.num_cpus, model=args.model or default_model(), scale=args.scale,
            tile=args.tile, batch_size=args.batch_size or default_batch_size(pick_device(args.device)), device=args.device, precision=args.precision,
            encode=EncodeOptions(codec=args.codec, crf=args.crf, preset=args.preset, pix_fmt=args.pix_fmt),
            segment_frames=args.segment_frames, overwrite=args.overwrite, progress=not args.quiet,
        )
        print(f"wrote {output}", file=sys.stderr)
        return
    upscale(
        input, output, model=args.model or default_model(), scale=args.scale, tile=args.tile,
        batch_size=args.batch_size, device=args.device, precision=args.precision, codec=args.codec,
        crf=args.crf, preset=args.preset, pix_fmt=args.pix_fmt, overwrite=args.overwrite, progress=not args.quiet,
        backend=args.backend, threads=args.threads,
    )
    print(f"wrote {output}", file=sys.stderr)


def add_models_parser(subparsers) -> None:
    p = subparsers.add_parser("models", help="list the models --model accepts", description="List the models --model accepts.")
    p.set_defaults(run=run_models)


def run_models(args) -> None:
    from ..models import available_models, default_model

    for name, description in available_models().items():
        mark = " (default)" if name == default_model() else ""
        print(f"{name:16s} {description}{mark}")
    print(f"{'PATH':16s} a generator .safetensors written by 'vsrgan train'")
