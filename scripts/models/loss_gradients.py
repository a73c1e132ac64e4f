"""How hard each loss of the GAN stage pulls on the output image: for choosing the loss weights.

    python scripts/models/loss_gradients.py -c configs/x4-gan.toml --data data/train-x4 [--checkpoint RUN/checkpoints/step_N.pt]

Runs the config's generator (its ``train.init``, or a checkpoint's EMA generator) on one batch of
the config's crops and prints, for the pixel, perceptual and adversarial losses unweighted, the value
and the norm of its gradient with respect to the generated image, then the same times the config's
weights. A weighted norm far below the others means that loss does nothing (issue 10: L1 at 0.01
pulled 1/58,000 as hard as the perceptual loss, and held nothing). The discriminator is the checkpoint's, or a
fresh one: a fresh one says little about the adversarial term's later strength.
"""

import argparse

import torch

from vsrgan.dataset.crops import CropSampler, load_split
from vsrgan.training.config import load_config
from vsrgan.training.setup import build_nets


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("-c", "--config", required=True, help="a GAN-stage TOML config")
    p.add_argument("--data", required=True, help="a dataset folder written by vsrgan prepare")
    p.add_argument("--checkpoint", default=None, help="take the generator (EMA) and discriminator from this .pt")
    p.add_argument("--images", type=int, default=64, help="training images to decode (evenly spaced)")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE", help="config override (repeatable)")
    args = p.parse_args()

    cfg = load_config(args.config, [f"data.root={args.data}", "train.device=cpu", *args.set])
    torch.manual_seed(cfg.train.seed)
    nets = build_nets(cfg, None, torch.device("cpu"), torch.contiguous_format)
    if args.checkpoint:
        state = torch.load(args.checkpoint, map_location="cpu", weights_only=True)
        if state.get("discriminator") is None:
            raise SystemExit(f"{args.checkpoint} holds no discriminator; expected a checkpoint of the GAN stage")
        nets.generator.load_state_dict(state["ema"])
        nets.discriminator.load_state_dict(state["discriminator"])
    data = load_split(args.data, "train", cfg.model.scale, limit=args.images)
    sampler = CropSampler(
        data, crop=cfg.data.crop, scale=cfg.model.scale, batch_size=cfg.data.batch_size, augment=False, seed=cfg.train.seed, tries=cfg.data.crop_tries
    )
    lr_u8, hr_u8 = sampler(0)
    lr, hr = lr_u8.float() / 255, hr_u8.float() / 255
    with torch.no_grad():
        sr = nets.generator(lr)
    sr.requires_grad_(True)
    real_logits = nets.discriminator(hr).detach()
    losses = {
        "pixel": (nets.pixel(sr, hr), cfg.loss.pixel_weight),
        "perceptual": (nets.perceptual(sr, hr), cfg.loss.perceptual_weight),
        "adversarial": (nets.adversarial.generator(real_logits, nets.discriminator(sr)), cfg.loss.adversarial_weight),
    }
    print(f"{'loss':<12} {'value':>10} {'grad norm':>10} {'weight':>8} {'weighted norm':>14}")
    for name, (value, weight) in losses.items():
        (grad,) = torch.autograd.grad(value, sr)
        print(f"{name:<12} {value.item():>10.4g} {grad.norm().item():>10.4g} {weight:>8.3g} {weight * grad.norm().item():>14.4g}")


if __name__ == "__main__":
    main()
