"""One optimisation step of each stage, and the generator's moving average.

- :func:`pretrain_step`: SRResNet, the pixel loss alone (and, for x4-real, a temporal one).
- :func:`gan_step`: SRGAN, textbook order (BasicSR ``SRGANModel.optimize_parameters``): freeze D,
  step G on pixel + perceptual + adversarial; unfreeze D, step it on real crops and ``sr.detach()``.

Both take the networks as the training loop wraps them (DistributedDataParallel, compiled), run
the forward passes under ``amp`` autocast (None: fp32) and return detached losses, which stay
on the device so that logging needs no synchronisation per step.
"""

import torch
from torch import nn

from .losses import temporal_consistency


def pretrain_step(*, generator, opt_g, scaler, pixel, lr, hr, amp, weight: float, clip: float, neighbour=None, temporal_weight: float = 0.0) -> dict[str, torch.Tensor]:
    """``neighbour``: ``(lr_n, which)`` (CropSampler with ``neighbour=True``): the neighbouring
    frames go through the generator in one batch with the frames, and the temporal consistency of
    their outputs with those of frames ``which`` is added."""
    with torch.autocast(lr.device.type, dtype=amp, enabled=amp is not None):
        sr = generator(lr if neighbour is None else torch.cat([lr, neighbour[0]]))
    sr = sr.float()
    sr, sr_n = sr[: len(lr)], sr[len(lr) :]  # sr_n: the neighbours' outputs, if any
    l_pixel = weight * pixel(sr, hr)
    l_temporal = temporal_weight * temporal_consistency(sr, sr_n, neighbour[1]) if neighbour is not None else None
    loss = l_pixel if l_temporal is None else l_pixel + l_temporal
    opt_g.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    _clip(generator, opt_g, scaler, clip)
    scaler.step(opt_g)
    scaler.update()
    return {"loss/pixel": l_pixel.detach()} | ({} if l_temporal is None else {"loss/temporal": l_temporal.detach()})


def gan_step(*, generator, discriminator, opt_g, opt_d, scaler, pixel, perceptual, adversarial, lr, hr, amp, weights: tuple[float, float, float], clip: float) -> dict[str, torch.Tensor]:
    w_pixel, w_perceptual, w_adversarial = weights
    d_raw = getattr(discriminator, "module", discriminator)  # G's step needs no gradient sync of D

    # 1. Generator: D frozen.
    d_raw.requires_grad_(False)
    with torch.autocast(lr.device.type, dtype=amp, enabled=amp is not None):
        sr = generator(lr)
        l_perceptual = w_perceptual * perceptual(sr, hr) if perceptual is not None else sr.new_zeros(())
        fake_logits = d_raw(sr)
        real_logits = d_raw(hr).detach() if adversarial.needs_real_logits_for_generator else None
    l_pixel = w_pixel * pixel(sr.float(), hr)
    l_adversarial = w_adversarial * adversarial.generator(real_logits, fake_logits)
    l_g = l_pixel + l_perceptual.float() + l_adversarial
    opt_g.zero_grad(set_to_none=True)
    scaler.scale(l_g).backward()
    _clip(generator, opt_g, scaler, clip)
    scaler.step(opt_g)

    # 2. Discriminator: real crops against the generator's detached output.
    d_raw.requires_grad_(True)
    with torch.autocast(lr.device.type, dtype=amp, enabled=amp is not None):
        real_logits = discriminator(hr)
        fake_logits = discriminator(sr.detach())
    l_d = adversarial.discriminator(real_logits, fake_logits)
    opt_d.zero_grad(set_to_none=True)
    scaler.scale(l_d).backward()
    scaler.step(opt_d)
    scaler.update()
    return {
        "loss/pixel": l_pixel.detach(),
        "loss/perceptual": l_perceptual.detach().float(),
        "loss/adversarial": l_adversarial.detach(),
        "loss/generator": l_g.detach(),
        "loss/discriminator": l_d.detach(),
        "d/real_probability": torch.sigmoid(real_logits.detach().float()).mean(),
        "d/fake_probability": torch.sigmoid(fake_logits.detach().float()).mean(),
    }


def _clip(model: nn.Module, optimizer, scaler, max_norm: float) -> None:
    if max_norm > 0:
        scaler.unscale_(optimizer)
        nn.utils.clip_grad_norm_(model.parameters(), max_norm)


def ema_decay(decay: float, step: int) -> float:
    """The EMA's decay at ``step`` (0-based): ``decay``, but at most ``(1 + step) / (10 + step)``, so
    that early on the average follows the network instead of remembering its random init (with
    0.999 alone, half of the average would still be the init after 700 steps)."""
    return min(decay, (1 + step) / (10 + step))


@torch.no_grad()
def update_ema(ema: nn.Module, model: nn.Module, decay: float) -> None:
    for e, p in zip(ema.parameters(), model.parameters()):
        e.lerp_(p, 1 - decay)
    for e, b in zip(ema.buffers(), model.buffers()):
        e.copy_(b)  # BatchNorm running statistics are followed, not averaged
