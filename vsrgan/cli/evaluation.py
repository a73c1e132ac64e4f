"""The ``evaluate`` and ``compare`` subcommands: build their parsers, hand plain keyword arguments to the API."""

import argparse
import sys

from .options import add_denoise_arg, add_model_run_args, add_scale_arg, add_video_output_args, job_options


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
        "  vsrgan evaluate -m a.safetensors -m b.safetensors clip.mp4 --max-frames 50 --out report/\n"
        "  vsrgan evaluate -m x4 clip.mp4 --every 5 --degrade clean x264:crf=23 x264:crf=33 mpeg2:bpp=0.4 --out report/\n\n"
        "--degrade SPEC forms (one condition each; SOURCEs go before --degrade, or end its list with --):\n"
        "  clean                    no codec: the LR input as made\n"
        "  x264:crf=N[,preset=P]    libx264 at CRF N (18: near transparent, 35: blocky), preset ultrafast..slow\n"
        "  mpeg2:bpp=X              MPEG-2 at X bits per pixel per frame (a DVD: 0.4-0.8)\n"
        "  mpeg4:bpp=X              MPEG-4 Part 2 (Xvid/DivX) at X bits per pixel per frame\n"
        "  vp9:crf=N                libvpx-vp9 at CRF N (0-63), as web video is served\n"
        "  x265:crf=N               HEVC (libx265) at CRF N (0-51), as phones record\n"
        "  av1:crf=N                AV1 (SVT-AV1) at CRF N (0-63)\n"
        "  jpeg:q=N                 JPEG at quality N (1-95)\n"
        "A video's scored frames (every --every-th, in order) are encoded as one sequence, with P- and B-frames;\n"
        "each image of an image folder or a dataset is encoded alone, as a 1-frame sequence (an intra frame).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("sources", nargs="+", metavar="SOURCE", help="dataset folder, image folder or video")
    p.add_argument("-m", "--model", action="append", default=[], help="a model to score (repeatable); bicubic is always scored")
    p.add_argument("-o", "--out", default=None, help="folder for metrics.json, frames.csv, plots and report.html")
    p.add_argument("-s", "--scale", type=int, default=None, help="upscaling factor; must match every model's (default: the models', else 4)")
    p.add_argument("--vgg-weights", default=None, help="VGG16 weights for the perceptual distance: a torchvision state dict path, auto or download (default: off)")
    p.add_argument("--max-frames", type=int, default=0, help="score at most N frames or images per source (0: all)")
    p.add_argument("--every", type=int, default=1, help="score every N-th video frame (default: %(default)s)")
    p.add_argument("--held-out", type=float, default=0.0, metavar="FRACTION", help="score only the last FRACTION of each video: the frames 'vsrgan prepare --test-fraction FRACTION' held out (default: all)")
    p.add_argument(
        "--degrade", nargs="+", action="extend", default=[], metavar="SPEC",
        help="score under each codec SPEC (clean, x264:crf=N[,preset=P], mpeg2:bpp=X, mpeg4:bpp=X, vp9:crf=N, x265:crf=N, av1:crf=N, jpeg:q=N; see below): "
        "every LR input is encoded and decoded that way, then bicubic and every model upscale the same degraded input, "
        "scored against the original; one condition per SPEC in the table and the report",
    )
    p.add_argument("--split", default="test", choices=["test", "train", "all"], help="which split of a prepared dataset (default: %(default)s)")
    p.add_argument("--tile", type=int, default=0, help="run models in tiles of N input pixels to save memory (0: off)")
    p.add_argument("--device", default="auto", help="auto (cuda, then mps, then cpu), cpu, cuda, cuda:N or mps")
    p.add_argument("--precision", default="fp32", choices=["auto", "fp32", "fp16", "bf16"], help="model precision (default: %(default)s, for exact scores)")
    p.add_argument("--overwrite", action="store_true", help="replace report files in --out if they exist")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run_evaluate)


def run_evaluate(args) -> None:
    from ..evaluation.evaluate import evaluate
    from ..evaluation.report import format_table

    result = evaluate(
        args.sources, args.out, models=args.model, scale=args.scale, vgg_weights=args.vgg_weights,
        max_frames=args.max_frames, every=args.every, held_out=args.held_out, split=args.split, degrade=args.degrade, tile=args.tile, device=args.device,
        precision=args.precision, overwrite=args.overwrite, progress=not args.quiet,
    )
    print(format_table(result))
    if args.out:
        print(f"wrote {args.out}/report.html", file=sys.stderr)


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
    p.add_argument("-m", "--model", default=None, help="bicubic, a bundled model name or a weights file (.safetensors, or another project's .pth/.pt or ncnn .param) (default: the bundled default, see 'vsrgan models')")
    add_scale_arg(p)
    p.add_argument("--layout", default="grid", choices=["grid", "side", "wipe"], help="panel arrangement (default: %(default)s)")
    p.add_argument("--input-is-lr", action="store_true", help="the input is already low-resolution: show input | bicubic | network, no original")
    p.add_argument("--panel-height", type=int, default=None, help="height of each panel in pixels (default: the upscaled height, shrunk to fit 3840x2160)")
    p.add_argument("--wipe-period", type=float, default=6.0, help="seconds for the wipe's divider to sweep across and back (default: %(default)s)")
    p.add_argument("--seconds", type=float, default=0.0, help="only the first S seconds of the input, audio cut to match (0: all)")
    add_denoise_arg(p)
    add_model_run_args(p)
    add_video_output_args(p)
    p.set_defaults(run=run_compare)


def run_compare(args) -> None:
    from ..evaluation.compare import compare

    compare(args.input, args.output, job_options(args), layout=args.layout, input_is_lr=args.input_is_lr,
            panel_height=args.panel_height, wipe_period=args.wipe_period, seconds=args.seconds)
    print(f"wrote {args.output}", file=sys.stderr)
