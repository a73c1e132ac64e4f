"""The ``prepare`` subcommand: build its parser, hand plain keyword arguments to the API."""

import argparse
import sys

from ..dataset.degrade import DEGRADATIONS
from ..dataset.realistic import CRF, KINDS


def add_prepare_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "prepare",
        help="make a training dataset from videos or image folders",
        description="Make a training dataset: high-resolution PNG frames, their low-resolution versions (antialiased "
        "bicubic, optionally degraded) and a manifest.json recording each frame's source, index, timestamp and split. "
        "Videos keep every Nth frame and hold out their last seconds as the test split; image folders hold out a "
        "fraction of their files, chosen by a hash of the names.",
        epilog="examples:\n  vsrgan prepare clip.mp4 -o data/clip\n  vsrgan prepare short.mp4 -o data/short --test-fraction 0.2\n"
        "  vsrgan prepare DIV2K_train_HR/ -o data/div2k --every 1 --degrade blur noise jpeg",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="videos and/or folders of images")
    p.add_argument("-o", "--out", required=True, help="dataset folder to write")
    p.add_argument("-s", "--scale", type=int, default=4, help="downscaling factor of the LR images (default: %(default)s)")
    p.add_argument("--every", type=int, default=5, help="keep every Nth video frame, as the seed (default: %(default)s)")
    p.add_argument("--test-seconds", type=float, default=25.0, help="hold out each video's last N seconds as the test split (default: %(default)s)")
    p.add_argument("--test-fraction", type=float, default=None, help="hold out this fraction instead: the end of each video, a hashed choice of images (default for folders: 0.1)")
    p.add_argument("--degrade", nargs="+", default=[], choices=DEGRADATIONS, metavar="KIND", help=f"real-world degradations of the LR images, any of: {', '.join(DEGRADATIONS)} (default: none)")
    p.add_argument("--max-short-side", type=int, default=0, metavar="N", help="first shrink larger frames and photos (antialiased bicubic) to a short side of N pixels: "
                   "large soft photos then hold detail worth learning (default: 0, never)")
    p.add_argument("--seed", type=int, default=0, help="seeds the degradations' random parameters (default: %(default)s)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing dataset folder")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run_prepare)


def run_prepare(args) -> None:
    from ..dataset.prepare import prepare

    manifest = prepare(
        args.inputs, args.out, scale=args.scale, every=args.every, test_seconds=args.test_seconds, test_fraction=args.test_fraction,
        degrade=args.degrade, max_short_side=args.max_short_side, seed=args.seed, overwrite=args.overwrite, progress=not args.quiet,
    )
    print(f"wrote {manifest}", file=sys.stderr)


def add_degrade_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "degrade",
        help="make a pool of real-world LR samples (codecs, blur, noise) from a prepared dataset",
        description="Make the training data of a real-world model from a dataset written by 'vsrgan prepare': "
        "VARIANTS samples of every image, each a square region whose LR version went through a random "
        "second-order chain (anisotropic blur, resizes with random kernels, Gaussian/Poisson noise, JPEG) and "
        "a real video codec (libx264 at CRF 18-35, MPEG-2 and MPEG-4 at DVD-like bitrates) on a short panning "
        "sequence. Every recipe is recorded in the manifest; the splits are the source dataset's.",
        epilog="example:\n  vsrgan degrade data/train-x4 -o data/train-x4-real --variants 16",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("source", help="a dataset folder written by 'vsrgan prepare'")
    p.add_argument("-o", "--out", required=True, help="dataset folder to write")
    p.add_argument("--variants", type=int, default=16, help="degraded samples per image (default: %(default)s)")
    p.add_argument("--region", type=int, default=384, help="HR side of each sample's square region (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="seeds every random choice (default: %(default)s)")
    p.add_argument("--crf", type=crf_range, default=CRF, metavar="MIN-MAX", help=f"libx264's CRF range, uniform (default: {CRF[0]}-{CRF[1]}; higher: stronger artifacts)")
    p.add_argument("--clean-share", type=float, default=KINDS["clean"], metavar="F", help="share of clean bicubic samples; "
                   "the degraded kinds keep their proportions in the rest (default: %(default)s)")
    p.add_argument("--clip-motion", action="store_true", help="a clip's frames take their sequences from the clip itself (80%% of them), "
                   "so the codec sees the scene's own motion; the clips must be where 'vsrgan prepare' read them (default: every sequence pans)")
    p.add_argument("--context", type=int, default=0, metavar="K", help="also keep the K decoded LR frames before and after each sample, "
                   "for models that take neighbouring frames (model.in_frames = 2K+1; default: %(default)s)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing dataset folder")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run_degrade)


def crf_range(text: str) -> tuple[int, int]:
    """``"22-38"`` -> (22, 38); one number is a range of one."""
    try:
        low, _, high = text.partition("-")
        return int(low), int(high or low)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected MIN-MAX, e.g. 18-35; got '{text}'") from None


def run_degrade(args) -> None:
    from ..dataset.pool import make_pool

    manifest = make_pool(
        args.source, args.out, variants=args.variants, region=args.region, seed=args.seed, crf=args.crf, clean_share=args.clean_share, clip_motion=args.clip_motion, context=args.context,
        overwrite=args.overwrite, progress=not args.quiet,
    )
    print(f"wrote {manifest}", file=sys.stderr)
