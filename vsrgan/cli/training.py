"""The ``train`` subcommand: build its parser, hand plain keyword arguments to the API."""

import argparse
import sys


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
    p.add_argument("--cpu-hours", type=float, help="stop once the run has used this much CPU time in all, with a checkpoint (train.cpu_hours)")
    p.add_argument("--stop-at", type=int, metavar="STEP",
                   help="stop after this step with a checkpoint; the learning rate still follows --steps' schedule (train.stop_at)")
    p.add_argument("--init", help="gan: the pretrained generator, .pt checkpoint or .safetensors (train.init)")
    p.add_argument("--vgg-weights", help="VGG weights for the perceptual loss: a .pth/.safetensors path, auto, download or random (loss.vgg_weights)")
    p.add_argument("--device", help="auto, cpu, cuda, cuda:N or mps (train.device)")
    p.add_argument("--resume", nargs="?", const=True, default=False, metavar="CHECKPOINT", help="continue the run in --out from its newest checkpoint, or from CHECKPOINT")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE", help="override any config value, e.g. --set optim.lr=2e-4 (repeatable)")
    p.set_defaults(run=run_train)


# flag -> config key: the flags are shorthands for --set
FLAG_KEYS = {"data": "data.root", "out": "train.out", "stage": "train.stage", "steps": "train.steps", "minutes": "train.minutes", "cpu_hours": "train.cpu_hours", "stop_at": "train.stop_at", "init": "train.init", "vgg_weights": "loss.vgg_weights", "device": "train.device"}


def run_train(args) -> None:
    from ..training.loop import train

    overrides = [f"{key}={getattr(args, flag)}" for flag, key in FLAG_KEYS.items() if getattr(args, flag) is not None] + args.set
    result = train(args.config, overrides=overrides, resume=args.resume)
    if result.model_path is not None:
        print(f"wrote {result.model_path}", file=sys.stderr)
