"""Setting up a training run: its networks, losses and optimizers, a checkpoint restored into them, its data.

:func:`build_nets` creates everything in one fixed order after ``torch.manual_seed``, so every
process and every resumed run draws the same random numbers; :func:`restore` then loads a
checkpoint's weights, optimizer states and random state.
"""

import copy
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch.nn.parallel import DistributedDataParallel

from ..dataset.crops import CropSampler, Split, centre_crop, load_split
from ..errors import ConfigError, InputError
from ..inference.device import autocast_dtype
from ..models import Discriminator, Generator, build_generator
from .checkpoint import initial_generator, latest_checkpoint, set_rng_state
from .config import Config
from .losses import AdversarialLoss, PerceptualLoss, PixelLoss


@dataclass
class Nets:
    """The networks, losses and optimizers of one run (the discriminator's are None when pretraining)."""

    generator: Generator
    ema: Generator  # the exponential moving average of the generator: what is validated and exported
    discriminator: Discriminator | None
    pixel: PixelLoss
    perceptual: PerceptualLoss | None
    adversarial: AdversarialLoss
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer | None
    scaler: torch.amp.GradScaler

    def train(self) -> None:
        self.generator.train()
        if self.discriminator is not None:
            self.discriminator.train()


@dataclass
class Progress:
    """What a checkpoint carries forward besides the weights."""

    step: int = 0
    best: float = -math.inf  # the best validation PSNR so far
    spent: dict[str, float] = field(default_factory=lambda: {"cpu": 0.0, "wall": 0.0})  # CPU and wall seconds of earlier chunks
    metrics: dict[str, float] = field(default_factory=dict)  # the last validation and the bicubic baseline


def check_run_folder(cfg: Config, checkpoint: dict | None, run: Path) -> None:
    if not cfg.data.root:
        raise ConfigError("data.root is empty; pass --data DATASET, a folder written by `vsrgan prepare`")
    if checkpoint is None and latest_checkpoint(run / "checkpoints") is not None:
        raise InputError(f"run folder '{run}' already has checkpoints; pass --resume to continue it, or choose another --out")


def build_nets(cfg: Config, checkpoint: dict | None, device: torch.device, memory_format: torch.memory_format) -> Nets:
    """Networks, losses and optimizers, in an order that draws the same random numbers every run."""
    c, gan = cfg, cfg.train.stage == "gan"
    g_config = c.model.generator()
    generator = build_generator(g_config)
    discriminator = Discriminator(num_features=c.model.disc_features, head=c.model.disc_head) if gan else None
    pixel = PixelLoss(kind=c.loss.pixel, chroma_weight=c.loss.chroma_weight)
    perceptual = None
    if gan and c.loss.perceptual_weight > 0:
        perceptual = PerceptualLoss(layers=c.loss.perceptual_layers, weights=c.loss.vgg_weights, kind=c.loss.perceptual, feature_scale=c.loss.feature_scale)
    adversarial = AdversarialLoss(c.loss.adversarial)
    if checkpoint is None and c.train.init:  # the GAN stage, or a pixel-loss fine-tune (x4-real)
        generator.load_state_dict(initial_generator(c.train.init, g_config))
    ema = copy.deepcopy(generator).requires_grad_(False).eval()
    for net in (generator, ema, discriminator, perceptual):
        if net is not None:
            net.to(device, memory_format=memory_format)
    adam = dict(betas=c.optim.betas, weight_decay=c.optim.weight_decay)
    opt_g = torch.optim.Adam(generator.parameters(), lr=c.optim.lr, **adam)
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=c.optim.lr_d, **adam) if gan else None
    scaler = torch.amp.GradScaler(device.type, enabled=autocast_dtype(c.train.precision, device) is torch.float16)
    return Nets(generator, ema, discriminator, pixel, perceptual, adversarial, opt_g, opt_d, scaler)


def restore(nets: Nets, checkpoint: dict) -> Progress:
    """Load a checkpoint's weights, optimizer states and random state into ``nets``; its progress."""
    nets.generator.load_state_dict(checkpoint["generator"])
    nets.ema.load_state_dict(checkpoint["ema"])
    nets.opt_g.load_state_dict(checkpoint["opt_g"])
    nets.scaler.load_state_dict(checkpoint["scaler"])
    if nets.discriminator is not None:
        nets.discriminator.load_state_dict(checkpoint["discriminator"])
        nets.opt_d.load_state_dict(checkpoint["opt_d"])
    set_rng_state(checkpoint["rng"])
    return Progress(step=checkpoint["step"], best=checkpoint["best_psnr"], spent=dict(checkpoint.get("spent", {"cpu": 0.0, "wall": 0.0})))


def load_data(cfg: Config, rank: int, world: int, device: torch.device) -> tuple[CropSampler, Split | None]:
    """Every image decoded once; validation pairs on rank 0 only."""
    c, scale = cfg, cfg.model.scale
    frames = c.model.in_frames
    temporal = c.loss.temporal_weight > 0
    train_data = load_split(c.data.root, "train", scale, frames=3 if temporal else frames)
    if temporal and not any(train_data.still):
        raise ConfigError(f"loss.temporal_weight needs still samples with their neighbours; '{c.data.root}' has none (make it with vsrgan degrade --context 1)")
    if c.data.small == "skip":
        kept = train_data.at_least(c.data.crop)
        if not kept.hr:
            raise ConfigError(f"every training image of '{c.data.root}' is smaller than the crop {c.data.crop}; lower data.crop")
        if rank == 0 and len(kept.hr) < len(train_data.hr):
            print(f"vsrgan train: left out {len(train_data.hr) - len(kept.hr)} of {len(train_data.hr)} training images, smaller than the crop {c.data.crop} (data.small = \"skip\")", file=sys.stderr)
        train_data = kept
    if c.data.loader == "device" or (c.data.loader == "auto" and device.type == "cuda"):
        train_data = train_data.to(device)
    sampler = CropSampler(
        train_data, crop=c.data.crop, scale=scale, batch_size=c.data.batch_size, augment=c.data.augment, tries=c.data.crop_tries,
        seed=c.train.seed, rank=rank, world_size=world, neighbour=temporal,
    )
    val_data = centre_crop(load_split(c.data.root, "test", scale, limit=c.data.val_images, frames=frames), c.data.val_crop, scale) if rank == 0 else None
    return sampler, val_data


def wrap_for_training(nets: Nets, cfg: Config, world: int, device: torch.device):
    """The generator and discriminator as the step calls them: under DDP and/or torch.compile."""
    g_train, d_train = nets.generator, nets.discriminator
    if world > 1:
        ids = [device.index] if device.type == "cuda" else None
        g_train = DistributedDataParallel(g_train, device_ids=ids)
        d_train = DistributedDataParallel(d_train, device_ids=ids) if d_train is not None else None
    if cfg.train.compile:
        g_train = torch.compile(g_train)
        d_train = torch.compile(d_train) if d_train is not None else None
    return g_train, d_train
