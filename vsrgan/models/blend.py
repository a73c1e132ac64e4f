"""Two networks of one architecture blended weight by weight: ``--denoise``'s knob.

As Real-ESRGAN's ``-dn`` between realesr-general-x4v3 and its "wdn" twin: a clean model (trained
on bicubic downscaling) and its real-world twin (fine-tuned from it on compressed, blurred and
noisy input) share every tensor's shape, and a network whose weights lie on the line between
theirs behaves in between (the twin is a fine-tune, so the two sit in one basin of the loss).
"""

import copy

import torch
from torch import nn

from ..errors import CheckpointError, ConfigError


def blend(clean: nn.Module, real: nn.Module, strength: float) -> nn.Module:
    """``(1 - strength) * clean + strength * real``, tensor by tensor; the endpoints are the models themselves."""
    if not 0 <= strength <= 1:
        raise ConfigError(f"--denoise must be between 0 (the clean model) and 1 (its real-world twin), got {strength}")
    a, b = clean.state_dict(), real.state_dict()
    if getattr(clean, "config", None) != getattr(real, "config", None) or a.keys() != b.keys():
        raise CheckpointError("the clean model and its real-world twin differ in architecture; they cannot be blended")
    if strength == 0:
        return clean
    if strength == 1:
        return real
    mixed = copy.deepcopy(clean)
    with torch.no_grad():
        mixed.load_state_dict({name: torch.lerp(a[name].float(), b[name].float(), strength).to(a[name].dtype) for name in a})
    return mixed
