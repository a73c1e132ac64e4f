"""The ``upscale`` and ``models`` subcommands: build their parsers, hand the API one
:class:`~vsrgan.options.JobOptions` (and, with ``--cluster``, a :class:`~vsrgan.cluster.job.ClusterOptions`)."""

import argparse
import os
import sys
from pathlib import Path

from ..errors import VsrganError
from .options import add_backend_args, add_denoise_arg, add_model_run_args, add_scale_arg, add_video_output_args, job_options


def add_upscale_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "upscale",
        help="upscale a video or an image",
        description="Upscale a video (audio, subtitles and timing kept) or a still image.",
        epilog="examples:\n  vsrgan upscale in.mp4 out.mp4\n  vsrgan upscale -i in.mkv -o out.mkv -m bicubic -s 2\n"
        "  vsrgan upscale photo.png big.png --tile 256\n"
        "  vsrgan upscale videos/ big/               every video in videos/ into big/, same names\n"
        "  vsrgan upscale 'in/**/*.mkv' list.txt big/ --cluster auto\n"
        "many inputs: one progress bar for all; an output that exists is skipped (--overwrite redoes it);\n"
        "a file that fails is listed at the end with its reason, the others are done, and the exit code is 1",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("paths", nargs="*", metavar="INPUT... OUTPUT",
                   help="input video or image, then the output file (its suffix picks the container); or many inputs "
                        "(files, a folder, a quoted glob, a .txt list of paths) and an output folder")
    p.add_argument("-i", "--input", help="input (instead of the first positional)")
    p.add_argument("-o", "--output", help="output file or folder (instead of the last positional)")
    p.add_argument("-m", "--model", default=None, help="bicubic, a bundled model name (see 'vsrgan models') or a weights file: ours (.safetensors) or ESRGAN / Real-ESRGAN / BasicSR (.pth, .pt, or ncnn's .param with its .bin; see 'vsrgan models --inspect FILE') (default: the bundled default)")
    add_scale_arg(p)
    add_denoise_arg(p)
    add_model_run_args(p, batch_size=None)
    add_backend_args(p)
    add_video_output_args(p)
    p.add_argument("--cluster", default=None, metavar="auto|ray://HOST:PORT",
                   help="upscale in keyframe segments on Ray: 'auto' starts one on this machine; resumable (needs vsrgan[cluster])")
    p.add_argument("--num-cpus", type=int, default=None, help="with --cluster auto: how many segments run at once (default: every core)")
    p.add_argument("--segments-per-gpu", type=segments_per_gpu, default=None, metavar="N|auto",
                   help="with --cluster on GPU machines: segments sharing each GPU at once, each with its own encoder "
                        "(the encoder, not the GPU, bounds 4K output of a small model; default: auto, 4 for models "
                        "under 2M parameters, 1 for larger ones)")
    p.add_argument("--segment-frames", type=int, default=120, help="with --cluster: at least this many frames per segment (default: %(default)s)")
    p.intermixed = True  # paths after options: 'vsrgan upscale in.mp4 -m bicubic out.mp4' (with SubcommandParser)
    p.set_defaults(run=run_upscale)


def segments_per_gpu(text: str) -> int | None:
    """``"auto"`` -> None (by the model's size); else a count."""
    if text == "auto":
        return None
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a count or auto, got '{text}'") from None


def run_upscale(args) -> None:
    from ..batch import is_batch
    from ..upscale import upscale

    paths = list(args.paths)
    output = args.output or (paths.pop() if paths else None)
    inputs = ([args.input] if args.input else []) + paths
    if not inputs or not output:
        raise VsrganError("upscale needs an input and an output, e.g. 'vsrgan upscale in.mp4 out.mp4' "
                          "or 'vsrgan upscale videos/ out/'")
    options = job_options(args)
    if len(inputs) > 1 or is_batch(inputs[0]) or Path(output).is_dir() or output.endswith(("/", os.sep)):
        run_batch(args, options, inputs, output)  # many inputs, or one into a folder
        return
    if args.cluster:
        from ..cluster.run import upscale_on_cluster

        upscale_on_cluster(inputs[0], output, options, cluster_options(args))
    else:
        upscale(inputs[0], output, options)
    print(f"wrote {output}", file=sys.stderr)


def run_batch(args, options, sources: list[str], folder: str) -> None:
    from ..batch import gather_inputs, plan_batch, upscale_batch

    items, report = plan_batch(gather_inputs(sources), folder, codec=options.encode.codec, overwrite=options.overwrite)
    for output in report.skipped:
        print(f"vsrgan: skipping '{output}': it exists (--overwrite redoes it)", file=sys.stderr)
    if items and args.cluster:
        from ..cluster.batch import upscale_batch_on_cluster

        upscale_batch_on_cluster(items, report, options, cluster_options(args))
    elif items:
        upscale_batch(items, report, options)
    for line in report.summary():
        print(f"vsrgan: {line}", file=sys.stderr)
    if report.failed:
        total = len(report.written) + len(report.skipped) + len(report.failed)
        raise VsrganError(f"{len(report.failed)} of {total} inputs failed (listed above); the others are in '{folder}'")


def cluster_options(args):
    from ..cluster.job import ClusterOptions

    return ClusterOptions(address=args.cluster, num_cpus=args.num_cpus, segment_frames=args.segment_frames,
                          segments_per_gpu=args.segments_per_gpu)


def add_models_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "models", help="list the models --model accepts, or inspect a weights file",
        description="List the models --model accepts; with --inspect, what a weights file holds.",
        epilog="examples:\n  vsrgan models\n  vsrgan models --inspect RealESRGAN_x4plus.pth",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--inspect", metavar="FILE", default=None,
                   help="print the architecture detected in FILE (.pth, .pt, .safetensors, ncnn .param), its hyper-parameters, scale and parameter count")
    p.set_defaults(run=run_models)


def run_models(args) -> None:
    from ..models import available_models, default_denoise, default_model, describe_model

    if args.inspect is not None:
        for key, value in describe_model(args.inspect).items():
            print(f"{key + ':':18s} {value}")
        return
    strength = default_denoise(None, None)
    default = " (default)" if strength is None else f" (default, at --denoise {strength} when no -m is given)"
    for name, description in available_models().items():
        print(f"{name:16s} {description}{default if name == default_model() else ''}")
    print(f"{'PATH':16s} a generator .safetensors written by 'vsrgan train'")
    print(f"{'PATH':16s} another project's .pth, .pt or .safetensors: RRDBNet (ESRGAN, Real-ESRGAN), SRVGGNetCompact "
          "(realesr-animevideov3, realesr-general-x4v3), MSRResNet (BasicSR); see 'vsrgan models --inspect FILE'")
    print(f"{'PATH.param':16s} Real-ESRGAN's ncnn files (.param, the .bin beside it), as realesrgan-ncnn-vulkan ships "
          "them: realesr-animevideov3 (x2, x3, x4), realesrgan-x4plus, realesrgan-x4plus-anime")
