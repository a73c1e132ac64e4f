"""``vsrgan train``: one visible training loop for both stages.

- ``pretrain``: SRResNet, the pixel loss alone (the paper's MSE-trained network).
- ``gan``: SRGAN, from a pretrained generator: each step first trains the generator on
  pixel + perceptual + adversarial losses with the discriminator frozen, then the discriminator
  on real crops and the generator's detached output (BasicSR's ``optimize_parameters``).

Every step also updates an exponential moving average (EMA) of the generator; the EMA is what
validation scores and what is exported. A run folder (``train.out``) holds ``config.toml``
(the resolved config), ``checkpoints/step_*.pt`` (the last ``log.keep``), ``best.pt`` and
``best.safetensors`` (highest validation PSNR), ``metrics.jsonl``, ``tb/`` (TensorBoard) and
finally ``generator.safetensors``, which ``vsrgan upscale --model PATH`` loads directly.

Several GPUs: ``torchrun --nproc_per_node N -m vsrgan train ...``. Each process takes its own
share of every batch; DistributedDataParallel averages the gradients; only rank 0 writes.
"""

import copy
import json
import logging
import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from ..dataset.crops import CropSampler, batches, centre_crop, load_split
from ..device import autocast_dtype, pick_device
from ..errors import ConfigError, InputError
from ..models import Discriminator, Generator, build_generator, save_generator
from .checkpoint import initial_generator, latest_checkpoint, load_checkpoint, plain, rng_state, save_checkpoint, set_rng_state, write
from .config import Config, OptimConfig, apply_overrides, load_config, to_toml
from .curve import write_curve
from .losses import AdversarialLoss, PerceptualLoss, PixelLoss
from .steps import ema_decay, gan_step, pretrain_step, update_ema
from .validate import bicubic_baseline, comparison, validate

log = logging.getLogger(__name__)


@dataclass
class TrainResult:
    model_path: Path | None  # the exported EMA generator; None on ranks other than 0
    generator: Generator  # the EMA generator itself, in eval mode
    step: int
    metrics: dict[str, float]  # the last validation ("psnr", "ssim") and the bicubic baseline


def learning_rate(o: OptimConfig, step: int, steps: int, base: float) -> float:
    """``base`` times the schedule's factor at ``step`` (a pure function: nothing to checkpoint)."""
    warmup = min(1.0, (step + 1) / o.warmup_steps) if o.warmup_steps else 1.0
    if o.schedule == "multistep":
        factor = o.gamma ** sum(step >= m for m in o.milestones)
    elif o.schedule == "cosine":
        floor = min(o.min_lr / base, 1.0)
        factor = floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(step / steps, 1.0)))
    else:
        factor = 1.0
    return base * factor * warmup


def out_of_time(started: float, minutes: float, world: int, device: torch.device) -> bool:
    """Whether the time limit has passed; under DDP every process gets rank 0's answer."""
    if minutes <= 0:
        return False
    flag = torch.tensor(float(time.monotonic() - started > minutes * 60), device=device)
    if world > 1:
        dist.broadcast(flag, src=0)
    return bool(flag)


def setup_distributed(device_name: str) -> tuple[int, int, torch.device]:
    """(rank, world size, device); joins the process group that torchrun describes in the environment."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    device = pick_device(device_name)
    if world == 1:
        return 0, 1, device
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return dist.get_rank(), world, device


def open_writer(folder: Path, enabled: bool):
    if not enabled:
        return None
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        log.warning("tensorboard is not installed; training without TensorBoard logs (pip install tensorboard)")
        return None
    return SummaryWriter(str(folder))


def train(config: Config | str | Path | None = None, *, overrides: Sequence[str] = (), resume: bool | str | Path = False) -> TrainResult:
    """Train as ``config`` (a :class:`Config`, or a TOML path) with ``overrides`` (``section.key=value``) says.

    ``resume``: True continues from the newest checkpoint in the run folder, a path from that
    checkpoint; the checkpoint's own config is used, with ``overrides`` applied on top (e.g.
    ``train.steps`` to train longer).
    """
    cfg = apply_overrides(config, overrides) if isinstance(config, Config) else load_config(config, overrides)
    checkpoint = None
    if resume:
        path = latest_checkpoint(Path(cfg.train.out) / "checkpoints") if resume is True else Path(resume)
        if path is None:
            raise InputError(f"nothing to resume: '{cfg.train.out}/checkpoints' holds no checkpoint; expected a run folder with step_*.pt")
        checkpoint = load_checkpoint(path)
        cfg = apply_overrides(Config.from_dict(checkpoint["config"], source=str(path)), overrides)
    rank, world, device = setup_distributed(cfg.train.device)
    try:
        return _run(cfg, checkpoint, rank, world, device)
    finally:
        if world > 1:
            dist.destroy_process_group()


def _run(cfg: Config, checkpoint: dict | None, rank: int, world: int, device: torch.device) -> TrainResult:
    c, scale, gan = cfg, cfg.model.scale, cfg.train.stage == "gan"
    run = Path(c.train.out)
    if not c.data.root:
        raise ConfigError("data.root is empty; pass --data DATASET, a folder written by `vsrgan prepare`")
    if checkpoint is None and latest_checkpoint(run / "checkpoints") is not None:
        raise InputError(f"run folder '{run}' already has checkpoints; pass --resume to continue it, or choose another --out")
    amp = autocast_dtype(c.train.precision, device)
    memory_format = torch.channels_last if device.type == "cuda" else torch.contiguous_format
    torch.backends.cudnn.benchmark = True
    torch.manual_seed(c.train.seed)  # the same initial weights in every process

    # Networks, losses, optimizers.
    g_config = c.model.generator()
    generator = build_generator(g_config)
    discriminator = Discriminator(num_features=c.model.disc_features, head=c.model.disc_head) if gan else None
    pixel = PixelLoss(kind=c.loss.pixel)
    perceptual = None
    if gan and c.loss.perceptual_weight > 0:
        perceptual = PerceptualLoss(layers=c.loss.perceptual_layers, weights=c.loss.vgg_weights, kind=c.loss.perceptual, feature_scale=c.loss.feature_scale)
    adversarial = AdversarialLoss(c.loss.adversarial)
    if checkpoint is None and gan:
        generator.load_state_dict(initial_generator(c.train.init, g_config))
    ema = copy.deepcopy(generator).requires_grad_(False).eval()
    for net in (generator, ema, discriminator, perceptual):
        if net is not None:
            net.to(device, memory_format=memory_format)
    adam = dict(betas=c.optim.betas, weight_decay=c.optim.weight_decay)
    opt_g = torch.optim.Adam(generator.parameters(), lr=c.optim.lr, **adam)
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=c.optim.lr_d, **adam) if gan else None
    scaler = torch.amp.GradScaler(device.type, enabled=amp is torch.float16)
    step, best, metrics, spent = 0, -math.inf, {}, {"cpu": 0.0, "wall": 0.0}
    if checkpoint is not None:
        step, best = checkpoint["step"], checkpoint["best_psnr"]
        spent = dict(checkpoint.get("spent", spent))  # CPU and wall seconds of the earlier chunks
        generator.load_state_dict(checkpoint["generator"])
        ema.load_state_dict(checkpoint["ema"])
        opt_g.load_state_dict(checkpoint["opt_g"])
        scaler.load_state_dict(checkpoint["scaler"])
        if gan:
            discriminator.load_state_dict(checkpoint["discriminator"])
            opt_d.load_state_dict(checkpoint["opt_d"])
        set_rng_state(checkpoint["rng"])

    # Data: every image decoded once; validation pairs on rank 0 only.
    train_data = load_split(c.data.root, "train", scale)
    if c.data.loader == "device" or (c.data.loader == "auto" and device.type == "cuda"):
        train_data = train_data.to(device)
    sampler = CropSampler(
        train_data, crop=c.data.crop, scale=scale, batch_size=c.data.batch_size, augment=c.data.augment, tries=c.data.crop_tries,
        seed=c.train.seed, rank=rank, world_size=world,
    )
    val_data = centre_crop(load_split(c.data.root, "test", scale, limit=c.data.val_images), c.data.val_crop, scale) if rank == 0 else None

    g_train, d_train = generator, discriminator
    if world > 1:
        ids = [device.index] if device.type == "cuda" else None
        g_train = DistributedDataParallel(generator, device_ids=ids)
        d_train = DistributedDataParallel(discriminator, device_ids=ids) if gan else None
    if c.train.compile:
        g_train = torch.compile(g_train)
        d_train = torch.compile(d_train) if gan else None

    writer = None
    if rank == 0:
        run.mkdir(parents=True, exist_ok=True)
        (run / "config.toml").write_text(to_toml(cfg))
        writer = open_writer(run / "tb", c.log.tensorboard)
        baseline = bicubic_baseline(val_data, scale=scale, device=device)
        metrics = {f"bicubic_{k}": v for k, v in baseline.items()}
    records = open(run / "metrics.jsonl", "a") if rank == 0 else None

    cpu_started, wall_started = time.process_time(), time.monotonic()

    def hours() -> dict[str, float]:
        """CPU-hours (this process, all threads) and wall-hours of the whole run, earlier chunks included."""
        return {
            "cpu": (spent["cpu"] + time.process_time() - cpu_started) / 3600,
            "wall": (spent["wall"] + time.monotonic() - wall_started) / 3600,
        }

    def record(values: dict[str, float]) -> None:
        h = hours()
        records.write(json.dumps({"step": step, **values, "time/cpu_hours": round(h["cpu"], 5), "time/wall_hours": round(h["wall"], 5)}) + "\n")
        records.flush()
        for key, value in values.items():
            if writer is not None:
                writer.add_scalar(key, value, step)

    if rank == 0:
        record({"val/bicubic_psnr": metrics["bicubic_psnr"], "val/bicubic_ssim": metrics["bicubic_ssim"]})

    def state() -> dict:
        return {
            "step": step, "config": plain(cfg.to_dict()), "generator": generator.state_dict(), "generator_config": g_config.to_dict(),
            "ema": ema.state_dict(), "discriminator": discriminator.state_dict() if gan else None, "opt_g": opt_g.state_dict(),
            "opt_d": opt_d.state_dict() if gan else None, "scaler": scaler.state_dict(), "best_psnr": best, "rng": rng_state(),
            "spent": {key: value * 3600 for key, value in hours().items()},
        }

    bar = tqdm(total=c.train.steps, initial=step, unit="step", disable=rank != 0 or not c.log.progress, dynamic_ncols=True)
    sums: dict[str, torch.Tensor] = {}
    summed = 0
    generator.train()
    if gan:
        discriminator.train()
    started = time.monotonic()
    for lr_u8, hr_u8 in batches(sampler, start=step, stop=c.train.steps, device=device, num_workers=c.data.num_workers):
        for group in opt_g.param_groups:
            group["lr"] = learning_rate(c.optim, step, c.train.steps, c.optim.lr)
        for group in opt_d.param_groups if gan else ():
            group["lr"] = learning_rate(c.optim, step, c.train.steps, c.optim.lr_d)
        lr = lr_u8.float().div_(255).contiguous(memory_format=memory_format)  # (B, 3, crop/s, crop/s)
        hr = hr_u8.float().div_(255).contiguous(memory_format=memory_format)  # (B, 3, crop, crop)
        if gan:
            weights = (c.loss.pixel_weight, c.loss.perceptual_weight, c.loss.adversarial_weight)
            losses = gan_step(generator=g_train, discriminator=d_train, opt_g=opt_g, opt_d=opt_d, scaler=scaler, pixel=pixel, perceptual=perceptual,
                              adversarial=adversarial, lr=lr, hr=hr, amp=amp, weights=weights, clip=c.optim.grad_clip)
        else:
            losses = pretrain_step(generator=g_train, opt_g=opt_g, scaler=scaler, pixel=pixel, lr=lr, hr=hr, amp=amp, weight=c.loss.pixel_weight, clip=c.optim.grad_clip)
        update_ema(ema, generator, ema_decay(c.train.ema_decay, step))
        step += 1
        bar.update()
        for key, value in losses.items():
            sums[key] = sums.get(key, 0) + value  # stays on the device: no sync per step
        summed += 1
        last = step == c.train.steps or out_of_time(started, c.train.minutes, world, device)
        if rank != 0:
            if last:
                break
            continue
        if step % c.log.log_every == 0 or last:
            means = {key: float(total) / summed for key, total in sums.items()}
            sums, summed = {}, 0
            record({**means, "lr": opt_g.param_groups[0]["lr"]})
            bar.set_postfix({k.split("/")[-1]: f"{v:.4g}" for k, v in means.items() if k.startswith("loss/")})
        if step % c.log.val_every == 0 or last:
            metrics = {**metrics, **validate(ema, val_data, scale=scale, device=device)}
            record({"val/psnr": metrics["psnr"], "val/ssim": metrics["ssim"]})
            write_curve(run)
            bar.write(f"step {step}: PSNR {metrics['psnr']:.2f} dB, SSIM {metrics['ssim']:.4f} (bicubic {metrics['bicubic_psnr']:.2f} dB, {metrics['bicubic_ssim']:.4f})")
            if writer is not None:
                writer.add_image("val/lr_bicubic_sr_hr", comparison(ema, val_data, scale=scale, device=device), step)
            if metrics["psnr"] > best:
                best = metrics["psnr"]
                write(state(), run / "best.pt")
                save_generator(ema, run / "best.safetensors", metadata={"vsrgan.step": str(step), "vsrgan.psnr": f"{best:.4f}"})
        if step % c.log.ckpt_every == 0 or last:
            save_checkpoint(state(), run / "checkpoints", keep=c.log.keep)
        if last:
            break
    bar.close()
    if step < c.train.steps and rank == 0:
        log.warning("stopped at step %d of %d after train.minutes=%g; --resume continues", step, c.train.steps, c.train.minutes)

    model_path = None
    if rank == 0:
        records.close()
        if writer is not None:
            writer.close()
        model_path = save_generator(ema, run / "generator.safetensors", metadata={"vsrgan.step": str(step), "vsrgan.stage": c.train.stage})
    return TrainResult(model_path=model_path, generator=ema, step=step, metrics=metrics)
