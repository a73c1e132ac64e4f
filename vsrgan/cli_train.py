"""The ``prepare`` and ``train`` subcommands: build their parsers, hand plain keyword arguments to the API.

:mod:`vsrgan.cli` registers them with :func:`add_prepare_parser` and :func:`add_train_parser`;
each sets ``run`` to a function taking the parsed arguments.
"""

import argparse
import sys

from .degrade import DEGRADATIONS


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
    from .prepare import prepare

    manifest = prepare(
        args.inputs, args.out, scale=args.scale, every=args.every, test_seconds=args.test_seconds, test_fraction=args.test_fraction,
        degrade=args.degrade, max_short_side=args.max_short_side, seed=args.seed, overwrite=args.overwrite, progress=not args.quiet,
    )
    print(f"wrote {manifest}", file=sys.stderr)


def add_train_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "train",
        help="train SRResNet (pretrain) or SRGAN (gan) on a prepared dataset",
        description="Train the generator. Stage 'pretrain' uses the pixel loss alone (SRResNet); stage 'gan' starts from a "
        "pretrained generator and adds the VGG perceptual and adversarial losses (SRGAN). Settings come from a TOML "
        "config (see configs/), then these flags, then --set overrides. The run folder gets the resolved config, "
        "checkpoints, TensorBoard logs and generator.safetensors for 'vsrgan upscale --model'.",
        epilog="examples:\n  vsrgan train -c configs/pretrain.toml --data data/clip --out runs/pre\n"
        "  vsrgan train -c configs/gan.toml --data data/clip --out runs/gan --init runs/pre/generator.safetensors\n"
        "  vsrgan train --out runs/pre --resume --set train.steps=200000\n"
        "  torchrun --nproc_per_node 4 -m vsrgan train -c configs/pretrain.toml --data data/div2k",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("-c", "--config", default=None, help="TOML config file (default: built-in defaults, the paper's)")
    p.add_argument("--data", help="dataset folder written by 'vsrgan prepare' (data.root)")
    p.add_argument("--out", help="run folder (train.out)")
    p.add_argument("--stage", choices=["pretrain", "gan"], help="pretrain (pixel loss) or gan (train.stage)")
    p.add_argument("--steps", type=int, help="optimizer steps in total (train.steps)")
    p.add_argument("--minutes", type=float, help="stop after this many minutes with a checkpoint; --resume continues (train.minutes)")
    p.add_argument("--init", help="gan: the pretrained generator, .pt checkpoint or .safetensors (train.init)")
    p.add_argument("--vgg-weights", help="VGG weights for the perceptual loss: a .pth/.safetensors path, auto, download or random (loss.vgg_weights)")
    p.add_argument("--device", help="auto, cpu, cuda, cuda:N or mps (train.device)")
    p.add_argument("--resume", nargs="?", const=True, default=False, metavar="CHECKPOINT", help="continue the run in --out from its newest checkpoint, or from CHECKPOINT")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE", help="override any config value, e.g. --set optim.lr=2e-4 (repeatable)")
    p.set_defaults(run=run_train)


# flag -> config key: the flags are shorthands for --set
FLAG_KEYS = {"data": "data.root", "out": "train.out", "stage": "train.stage", "steps": "train.steps", "minutes": "train.minutes", "init": "train.init", "vgg_weights": "loss.vgg_weights", "device": "train.device"}


def run_train(args) -> None:
    from .train import train

    overrides = [f"{key}={getattr(args, flag)}" for flag, key in FLAG_KEYS.items() if getattr(args, flag) is not None] + args.set
    result = train(args.config, overrides=overrides, resume=args.resume)
    if result.model_path is not None:
        print(f"wrote {result.model_path}", file=sys.stderr)
