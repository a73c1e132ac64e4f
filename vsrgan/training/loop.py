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

import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as dist
from tqdm import tqdm

from ..dataset.crops import Split, batches
from ..errors import InputError
from ..inference.device import autocast_dtype, pick_device
from ..io import events
from ..io.stop import Stopped, at_step_boundaries, requested
from ..models import Generator, save_generator
from .checkpoint import latest_checkpoint, load_checkpoint, plain, rng_state, save_checkpoint, write
from .config import Config, OptimConfig, apply_overrides, load_config, to_toml
from .curve import write_curve
from .runlog import Clock, RunLog
from .setup import Nets, Progress, build_nets, check_run_folder, load_data, restore, wrap_for_training
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
    """Setup, then per batch: the step, logging, validation, checkpoint; then the exported EMA generator."""
    run, steps = Path(cfg.train.out), cfg.train.steps
    check_run_folder(cfg, checkpoint, run)
    amp = autocast_dtype(cfg.train.precision, device)
    memory_format = torch.channels_last if device.type == "cuda" else torch.contiguous_format
    torch.backends.cudnn.benchmark = True
    torch.manual_seed(cfg.train.seed)  # the same initial weights in every process
    nets = build_nets(cfg, checkpoint, device, memory_format)
    progress = Progress() if checkpoint is None else restore(nets, checkpoint)
    sampler, val_data = load_data(cfg, rank, world, device)
    g_train, d_train = wrap_for_training(nets, cfg, world, device)
    if rank == 0:
        run.mkdir(parents=True, exist_ok=True)
        (run / "config.toml").write_text(to_toml(cfg))
    clock = Clock(progress.spent, minutes=cfg.train.minutes, cpu_hours=cfg.train.cpu_hours, world=world, device=device)
    bar = tqdm(total=steps, initial=progress.step, unit="step", disable=rank != 0 or not cfg.log.progress, dynamic_ncols=True)
    resumed_at = None if checkpoint is None else progress.step
    with RunLog(run, clock, tensorboard=cfg.log.tensorboard, enabled=rank == 0, resumed_at=resumed_at) as runlog, bar:
        if rank == 0:
            progress.metrics = {f"bicubic_{k}": v for k, v in bicubic_baseline(val_data, scale=cfg.model.scale, device=device).items()}
            runlog.record(progress.step, {"val/bicubic_psnr": progress.metrics["bicubic_psnr"], "val/bicubic_ssim": progress.metrics["bicubic_ssim"]})
        losses = LossMeans()
        nets.train()
        clock.start()
        with at_step_boundaries():  # a signal ends the loop after the step it arrives in, with a checkpoint
            stop = min(steps, cfg.train.stop_at or steps)  # stop_at: the schedule is still that of train.steps
            if checkpoint is not None and (clock.budget_spent() or progress.step >= stop):
                stop = progress.step  # resumed with its CPU-hours spent, or past stop_at: not one step more
            for lr_u8, hr_u8, *pair in batches(sampler, start=progress.step, stop=stop, device=device, num_workers=cfg.data.num_workers):
                lr, hr = to_float(lr_u8, memory_format), to_float(hr_u8, memory_format)  # (B, 3, crop/s, crop/s), (B, 3, crop, crop)
                neighbour = (to_float(pair[0], memory_format), pair[1]) if pair else None  # loss.temporal_weight: (lr_n, which)
                losses.add(train_step(cfg, nets, g_train, d_train, lr, hr, amp=amp, step=progress.step, neighbour=neighbour))
                progress.step += 1
                bar.update()
                last = progress.step == stop or clock.should_stop(progress.step, signalled=requested() is not None)
                if rank == 0:
                    due = {every: progress.step % getattr(cfg.log, every) == 0 or last for every in ("log_every", "val_every", "ckpt_every")}
                    if due["log_every"]:
                        log_losses(runlog, bar, progress.step, losses.take(), lr=nets.opt_g.param_groups[0]["lr"])
                    if due["val_every"]:
                        validate_and_keep_best(cfg, nets, progress, clock, runlog, bar, val_data, device, run)
                    if due["ckpt_every"]:
                        save_checkpoint(checkpoint_state(cfg, nets, progress, clock), run / "checkpoints", keep=cfg.log.keep)
                events.reached("step-done")
                if last:
                    break
            signum = requested() if progress.step < steps else None  # not stopped by a signal after the last step
    model_path = None
    if rank == 0:  # also when stopped by a signal: generator.safetensors is always the checkpoint's EMA
        model_path = save_generator(nets.ema, run / "generator.safetensors", metadata={"vsrgan.step": str(progress.step), "vsrgan.stage": cfg.train.stage})
    if signum is not None:
        where = f"'{run / 'checkpoints'}'" if rank == 0 else "the run folder"
        raise Stopped(signum, note=f"checkpoint of step {progress.step} saved in {where}; --resume continues")
    if progress.step < steps and rank == 0:
        limit = (f"train.stop_at={cfg.train.stop_at}" if progress.step == cfg.train.stop_at
                 else f"train.cpu_hours={cfg.train.cpu_hours:g}" if clock.budget_spent() else f"train.minutes={cfg.train.minutes:g}")
        log.warning("stopped at step %d of %d after %s; --resume continues", progress.step, steps, limit)
    return TrainResult(model_path=model_path, generator=nets.ema, step=progress.step, metrics=progress.metrics)


# ---- the step, logging, validation, checkpoint ---------------------------------------------------


def to_float(images: torch.Tensor, memory_format: torch.memory_format) -> torch.Tensor:
    """uint8 images as floats in [0, 1], laid out for the network."""
    return images.float().div_(255).contiguous(memory_format=memory_format)


def train_step(cfg: Config, nets: Nets, g_train, d_train, lr: torch.Tensor, hr: torch.Tensor, *, amp, step: int, neighbour=None) -> dict[str, torch.Tensor]:
    """Set the learning rates for ``step``, take one optimizer step (pretrain or GAN), update the EMA."""
    c = cfg
    for group in nets.opt_g.param_groups:
        group["lr"] = learning_rate(c.optim, step, c.train.steps, c.optim.lr)
    for group in nets.opt_d.param_groups if nets.opt_d is not None else ():
        group["lr"] = learning_rate(c.optim, step, c.train.steps, c.optim.lr_d)
    if nets.discriminator is not None:
        weights = (c.loss.pixel_weight, c.loss.perceptual_weight, c.loss.adversarial_weight)
        losses = gan_step(generator=g_train, discriminator=d_train, opt_g=nets.opt_g, opt_d=nets.opt_d, scaler=nets.scaler, pixel=nets.pixel,
                          perceptual=nets.perceptual, adversarial=nets.adversarial, lr=lr, hr=hr, amp=amp, weights=weights, clip=c.optim.grad_clip)
    else:
        losses = pretrain_step(generator=g_train, opt_g=nets.opt_g, scaler=nets.scaler, pixel=nets.pixel, lr=lr, hr=hr, amp=amp,
                               weight=c.loss.pixel_weight, clip=c.optim.grad_clip, neighbour=neighbour, temporal_weight=c.loss.temporal_weight)
    update_ema(nets.ema, nets.generator, ema_decay(c.train.ema_decay, step))
    return losses


class LossMeans:
    """Sums of the step losses since the last record; they stay on the device: no sync per step."""

    def __init__(self):
        self.sums: dict[str, torch.Tensor] = {}
        self.count = 0

    def add(self, losses: dict[str, torch.Tensor]) -> None:
        for key, value in losses.items():
            self.sums[key] = self.sums.get(key, 0) + value
        self.count += 1

    def take(self) -> dict[str, float]:
        """The means so far (one device sync), and start again."""
        means = {key: float(total) / self.count for key, total in self.sums.items()}
        self.sums, self.count = {}, 0
        return means


def log_losses(runlog: RunLog, bar, step: int, means: dict[str, float], *, lr: float) -> None:
    runlog.record(step, {**means, "lr": lr})
    bar.set_postfix({k.split("/")[-1]: f"{v:.4g}" for k, v in means.items() if k.startswith("loss/")})


def validate_and_keep_best(cfg: Config, nets: Nets, progress: Progress, clock: Clock, runlog: RunLog, bar, val_data: Split, device, run: Path) -> None:
    """Score the EMA on the held-out pairs, log it, redraw the curve; a new best PSNR is saved as best.pt and best.safetensors."""
    scale, step = cfg.model.scale, progress.step
    m = progress.metrics = {**progress.metrics, **validate(nets.ema, val_data, scale=scale, device=device)}
    runlog.record(step, {"val/psnr": m["psnr"], "val/ssim": m["ssim"]})
    write_curve(run)
    bar.write(f"step {step}: PSNR {m['psnr']:.2f} dB, SSIM {m['ssim']:.4f} (bicubic {m['bicubic_psnr']:.2f} dB, {m['bicubic_ssim']:.4f})")
    if runlog.writer is not None:
        runlog.image("val/lr_bicubic_sr_hr", comparison(nets.ema, val_data, scale=scale, device=device), step)
    if m["psnr"] > progress.best:
        progress.best = m["psnr"]
        write(checkpoint_state(cfg, nets, progress, clock), run / "best.pt")
        save_generator(nets.ema, run / "best.safetensors", metadata={"vsrgan.step": str(step), "vsrgan.psnr": f"{progress.best:.4f}"})


def checkpoint_state(cfg: Config, nets: Nets, progress: Progress, clock: Clock) -> dict:
    """A checkpoint: a plain dict (vsrgan-checkpoint/1; see :mod:`vsrgan.training.checkpoint`)."""
    gan = nets.discriminator is not None
    return {
        "step": progress.step, "config": plain(cfg.to_dict()), "generator": nets.generator.state_dict(),
        "generator_config": cfg.model.generator().to_dict(), "ema": nets.ema.state_dict(),
        "discriminator": nets.discriminator.state_dict() if gan else None, "opt_g": nets.opt_g.state_dict(),
        "opt_d": nets.opt_d.state_dict() if gan else None, "scaler": nets.scaler.state_dict(), "best_psnr": progress.best,
        "rng": rng_state(), "spent": clock.seconds(),
    }
