"""The command line: parse flags, call the Python API, turn a VsrganError into one line and an exit code.

Each subcommand has an ``add_*_parser`` function that builds its parser and sets ``run`` to a
function taking the parsed arguments; nothing else lives here.
"""

import argparse
import logging
import sys

from . import __version__
from .cli_train import add_prepare_parser, add_train_parser
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
    add_model_run_args(p)
    add_video_output_args(p)
    p.set_defaults(run=run_upscale)


def add_model_run_args(p) -> None:
    """How the model runs: tiles, batch, device, precision (upscale and compare)."""
    p.add_argument("--tile", type=int, default=0, help="process frames in tiles of N input pixels to save memory (0: off)")
    p.add_argument("--batch-size", type=int, default=4, help="frames per model call (default: %(default)s)")
    p.add_argument("--device", default="auto", help="auto (cuda, then mps, then cpu), cpu, cuda, cuda:N or mps")
    p.add_argument("--precision", default="auto", choices=["auto", "fp32", "fp16", "bf16"], help="auto: fp16 on GPUs, fp32 on CPU")


def add_video_output_args(p) -> None:
    """How the output video is encoded and written (upscale and compare)."""
    p.add_argument("--codec", default="libx264", help="video encoder (default: %(default)s)")
    p.add_argument("--crf", type=int, default=18, help="constant rate factor, lower is better quality (default: %(default)s)")
    p.add_argument("--preset", default="medium", help="encoder speed preset (default: %(default)s)")
    p.add_argument("--pix-fmt", default="yuv420p", help="output pixel format (default: %(default)s, which every player plays)")
    p.add_argument("--overwrite", action="store_true", help="replace the output if it exists")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def run_upscale(args) -> None:
    from .models import default_model
    from .upscale import upscale

    positionals = [x for x in (args.input_pos, args.output_pos) if x]
    input = args.input or (positionals.pop(0) if positionals else None)
    output = args.output or (positionals.pop(0) if positionals else None)
    if positionals or not input or not output:
        raise VsrganError("upscale needs one input and one output, e.g. 'vsrgan upscale in.mp4 out.mp4'")
    upscale(
        input, output, model=args.model or default_model(), scale=args.scale, tile=args.tile,
        batch_size=args.batch_size, device=args.device, precision=args.precision, codec=args.codec,
        crf=args.crf, preset=args.preset, pix_fmt=args.pix_fmt, overwrite=args.overwrite, progress=not args.quiet,
    )
    print(f"wrote {output}", file=sys.stderr)


def add_models_parser(subparsers) -> None:
    p = subparsers.add_parser("models", help="list the models --model accepts", description="List the models --model accepts.")
    p.set_defaults(run=run_models)


def run_models(args) -> None:
    from .models import available_models, default_model

    for name, description in available_models().items():
        mark = " (default)" if name == default_model() else ""
        print(f"{name:16s} {description}{mark}")
    print(f"{'PATH':16s} a generator .safetensors written by 'vsrgan train'")


def add_compare_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "compare",
        help="make a labelled comparison video: original | downscaled | bicubic | network",
        description="Make the seed's comparison video. A high-resolution input is first shrunk with the training "
        "degradation, then enlarged again by bicubic and by the model; every panel is labelled. Timestamps, "
        "frame rate and audio are the input's.",
        epilog="layouts:\n  grid  2x2: original | downscaled / bicubic | network\n  side  all panels in one row\n"
        "  wipe  bicubic left, network right of a divider sweeping across and back\n\n"
        "examples:\n  vsrgan compare clip.mp4 cmp.mp4 --model x4\n"
        "  vsrgan compare small.mp4 cmp.mp4 --model g.safetensors --input-is-lr --layout wipe",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("input", help="input video (high-resolution, unless --input-is-lr)")
    p.add_argument("output", help="output video, e.g. compare.mp4")
    p.add_argument("-m", "--model", default="bicubic", help="bicubic, a bundled model name or a .safetensors path (default: %(default)s)")
    p.add_argument("-s", "--scale", type=int, default=None, help="upscaling factor; must match the model's (default: the model's)")
    p.add_argument("--layout", default="grid", choices=["grid", "side", "wipe"], help="panel arrangement (default: %(default)s)")
    p.add_argument("--input-is-lr", action="store_true", help="the input is already low-resolution: show input | bicubic | network, no original")
    p.add_argument("--panel-height", type=int, default=None, help="height of each panel in pixels (default: the upscaled height, shrunk to fit 3840x2160)")
    p.add_argument("--wipe-period", type=float, default=6.0, help="seconds for the wipe's divider to sweep across and back (default: %(default)s)")
    p.add_argument("--seconds", type=float, default=0.0, help="only the first S seconds of the input, audio cut to match (0: all)")
    add_model_run_args(p)
    add_video_output_args(p)
    p.set_defaults(run=run_compare)


def run_compare(args) -> None:
    from .compare import compare

    compare(
        args.input, args.output, model=args.model, layout=args.layout, input_is_lr=args.input_is_lr,
        scale=args.scale, panel_height=args.panel_height, wipe_period=args.wipe_period, seconds=args.seconds, tile=args.tile,
        batch_size=args.batch_size, device=args.device, precision=args.precision, codec=args.codec, crf=args.crf,
        preset=args.preset, pix_fmt=args.pix_fmt, overwrite=args.overwrite, progress=not args.quiet,
    )
    print(f"wrote {args.output}", file=sys.stderr)


def add_evaluate_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "evaluate",
        help="measure models against bicubic: PSNR/SSIM (Y), perceptual distance, tOF, flicker; HTML report",
        description="Score each --model, and always bicubic, on high-resolution sources made small with the "
        "training degradation: PSNR and SSIM on the Y channel with a border crop of the scale, RGB PSNR, a VGG "
        "perceptual distance (with --vgg-weights), and for videos tOF and flicker. Prints a table; with --out "
        "also writes metrics.json, frames.csv, plots and report.html (self-contained, works offline).",
        epilog="a SOURCE is one of:\n  a dataset folder written by 'vsrgan prepare' (its test split, stored LR images)\n"
        "  a folder of high-resolution images\n  a video (high-resolution)\n\n"
        "examples:\n  vsrgan evaluate --model g.safetensors photos/ --out report/\n"
        "  vsrgan evaluate -m a.safetensors -m b.safetensors clip.mp4 --max-frames 50 --out report/",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("sources", nargs="+", metavar="SOURCE", help="dataset folder, image folder or video")
    p.add_argument("-m", "--model", action="append", default=[], help="a model to score (repeatable); bicubic is always scored")
    p.add_argument("-o", "--out", default=None, help="folder for metrics.json, frames.csv, plots and report.html")
    p.add_argument("-s", "--scale", type=int, default=None, help="upscaling factor; must match every model's (default: the models', else 4)")
    p.add_argument("--vgg-weights", default=None, help="VGG16 weights for the perceptual distance: a torchvision state dict path, auto or download (default: off)")
    p.add_argument("--max-frames", type=int, default=0, help="score at most N frames or images per source (0: all)")
    p.add_argument("--every", type=int, default=1, help="score every N-th video frame (default: %(default)s)")
    p.add_argument("--split", default="test", choices=["test", "train", "all"], help="which split of a prepared dataset (default: %(default)s)")
    p.add_argument("--tile", type=int, default=0, help="run models in tiles of N input pixels to save memory (0: off)")
    p.add_argument("--device", default="auto", help="auto (cuda, then mps, then cpu), cpu, cuda, cuda:N or mps")
    p.add_argument("--precision", default="fp32", choices=["auto", "fp32", "fp16", "bf16"], help="model precision (default: %(default)s, for exact scores)")
    p.add_argument("--overwrite", action="store_true", help="replace report files in --out if they exist")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run_evaluate)


def run_evaluate(args) -> None:
    from .evaluate import evaluate
    from .report import format_table

    result = evaluate(
        args.sources, args.out, models=args.model, scale=args.scale, vgg_weights=args.vgg_weights,
        max_frames=args.max_frames, every=args.every, split=args.split, tile=args.tile, device=args.device,
        precision=args.precision, overwrite=args.overwrite, progress=not args.quiet,
    )
    print(format_table(result))
    if args.out:
        print(f"wrote {args.out}/report.html", file=sys.stderr)


def add_bench_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "bench",
        help="measure fps: model, decode, encode, end-to-end, and two reference pipelines",
        description="Measure, for one model and input size on this machine: the model alone (fps and TFLOP/s of "
        "counted convolution FLOPs), decoding alone, encoding alone, the real end-to-end job, and two reference "
        "pipelines on the same network: (a) the seed's (JPEG files, one frame at a time, fp32) and (b) the common "
        "tools' (decoder and encoder processes over raw-frame pipes, batch 1, eager). The input clip is generated "
        "first; warm-up is not timed.",
        epilog="models:\n  random-pixelshuffle  16-block SRResNet x4, random weights (the paper's upsampling)\n"
        "  random-nearest       16-block x4, random weights (the seed's upsampling)\n"
        "  bicubic, a bundled name or a .safetensors path\n\n"
        "examples:\n  vsrgan bench --model random-pixelshuffle --size 540p --frames 120 --json bench.json\n"
        "  vsrgan bench --model bicubic --size 480x270 --frames 24 --device cpu",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("-m", "--model", default="random-pixelshuffle", help="random-pixelshuffle, random-nearest, bicubic, a bundled name or a .safetensors path (default: %(default)s)")
    p.add_argument("--size", default="270p", help="input size: WIDTHxHEIGHT, or 270p (480x270), 540p (960x540), 1080p (default: %(default)s)")
    p.add_argument("--frames", type=int, default=120, help="frames per measurement (default: %(default)s)")
    p.add_argument("--batch-size", type=int, default=4, help="frames per model call, for model-only and end-to-end (default: %(default)s)")
    p.add_argument("--device", default="auto", help="auto (cuda, then mps, then cpu), cpu, cuda, cuda:N or mps")
    p.add_argument("--precision", default="auto", choices=["auto", "fp32", "fp16", "bf16"], help="auto: fp16 on GPUs, fp32 on CPU")
    p.add_argument("--compile", action="store_true", help="torch.compile the model (compilation is part of the untimed warm-up)")
    p.add_argument("--codec", default="libx264", help="video encoder (default: %(default)s)")
    p.add_argument("--preset", default="veryfast", help="encoder speed preset (default: %(default)s)")
    p.add_argument("--crf", type=int, default=18, help="constant rate factor (default: %(default)s)")
    p.add_argument("--no-references", dest="references", action="store_false", help="skip the two reference pipelines")
    p.add_argument("--json", default=None, metavar="PATH", help="also write the results as JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    p.set_defaults(run=run_bench)


def run_bench(args) -> None:
    from .bench import bench, format_table

    result = bench(
        model=args.model, size=args.size, frames=args.frames, batch_size=args.batch_size, device=args.device,
        precision=args.precision, compile=args.compile, codec=args.codec, preset=args.preset, crf=args.crf,
        references=args.references, json_path=args.json, progress=not args.quiet,
    )
    print(format_table(result))
    if args.json:
        print(f"wrote {args.json}", file=sys.stderr)


PARSERS = [
    add_upscale_parser,
    add_models_parser,
    add_prepare_parser,
    add_train_parser,
    add_evaluate_parser,
    add_compare_parser,
    add_bench_parser,
]


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
