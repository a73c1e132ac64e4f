"""The command line: parse flags, call the Python API, turn a VsrganError into one line and an exit code.

Each subcommand has an ``add_*_parser`` function that builds its parser and sets ``run`` to a
function taking the parsed arguments; nothing else lives here.
"""

import argparse
import logging
import sys

from . import __version__
from .errors import VsrganError


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
    p.add_argument("--tile", type=int, default=0, help="process frames in tiles of N input pixels to save memory (0: off)")
    p.add_argument("--batch-size", type=int, default=4, help="frames per model call (default: %(default)s)")
    p.add_argument("--device", default="auto", help="auto (cuda, then mps, then cpu), cpu, cuda, cuda:N or mps")
    p.add_argument("--precision", default="auto", choices=["auto", "fp32", "fp16", "bf16"], help="auto: fp16 on GPUs, fp32 on CPU")
    p.add_argument("--codec", default="libx264", help="video encoder (default: %(default)s)")
    p.add_argument("--crf", type=int, default=18, help="constant rate factor, lower is better quality (default: %(default)s)")
    p.add_argument("--preset", default="medium", help="encoder speed preset (default: %(default)s)")
    p.add_argument("--overwrite", action="store_true", help="replace the output if it exists")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run_upscale)


def run_upscale(args) -> None:
    from .models import DEFAULT_MODEL
    from .upscale import upscale

    positionals = [x for x in (args.input_pos, args.output_pos) if x]
    input = args.input or (positionals.pop(0) if positionals else None)
    output = args.output or (positionals.pop(0) if positionals else None)
    if positionals or not input or not output:
        raise VsrganError("upscale needs one input and one output, e.g. 'vsrgan upscale in.mp4 out.mp4'")
    upscale(
        input, output, model=args.model or DEFAULT_MODEL, scale=args.scale, tile=args.tile,
        batch_size=args.batch_size, device=args.device, precision=args.precision, codec=args.codec,
        crf=args.crf, preset=args.preset, overwrite=args.overwrite, progress=not args.quiet,
    )
    print(f"wrote {output}", file=sys.stderr)


def add_models_parser(subparsers) -> None:
    p = subparsers.add_parser("models", help="list the models --model accepts", description="List the models --model accepts.")
    p.set_defaults(run=run_models)


def run_models(args) -> None:
    from .models import DEFAULT_MODEL, available_models

    for name, description in available_models().items():
        mark = " (default)" if name == DEFAULT_MODEL else ""
        print(f"{name:16s} {description}{mark}")
    print(f"{'PATH':16s} a generator .safetensors written by 'vsrgan train'")


PARSERS = [add_upscale_parser, add_models_parser]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vsrgan", description="Sharp video upscaling with SRResNet / SRGAN.")
    parser.add_argument("--version", action="version", version=f"vsrgan {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more detail")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add in PARSERS:
        add(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="vsrgan: %(message)s")
    try:
        args.run(args)
    except VsrganError as e:
        print(f"vsrgan: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("vsrgan: interrupted; no output was written", file=sys.stderr)
        return 130
    return 0
