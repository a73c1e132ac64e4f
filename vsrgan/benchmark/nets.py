"""The networks ``vsrgan bench`` measures: any ``--model`` value, or a random 16-block SRResNet."""

import torch
from torch import nn

from ..models import Generator, GeneratorConfig, load_model

RANDOM_MODELS = {"random-pixelshuffle": "pixelshuffle", "random-nearest": "nearest"}  # 16 blocks, x4


def build_model(name: str) -> nn.Module:
    """A ``--model`` value, or ``random-pixelshuffle`` / ``random-nearest`` (fixed seed: speed only)."""
    if name in RANDOM_MODELS:
        torch.manual_seed(0)
        return Generator(GeneratorConfig(upsample=RANDOM_MODELS[name], num_blocks=16, scale=4)).eval()
    return load_model(name)
