"""The networks, and :func:`load_model`, which turns a ``--model`` value into one of them."""

from pathlib import Path

from torch import nn

from ..errors import CheckpointError
from .bicubic import Bicubic
from .discriminator import Discriminator
from .generator import Generator, GeneratorConfig
from .weights import load_generator, save_generator

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"

# name -> (file inside vsrgan/weights, one-line description). A literal table: grep finds it.
BUNDLED = {
    "vsrgan-x4": ("vsrgan-x4.safetensors", "SRResNet x4, pixel loss: highest fidelity"),
    "vsrgan-x4-gan": ("vsrgan-x4-gan.safetensors", "SRGAN x4, perceptual + adversarial: sharper texture"),
}


# What `vsrgan upscale` uses when no --model is given. Bicubic until trained weights ship
# inside the package (issue 5 switches this to "vsrgan-x4").
DEFAULT_MODEL = "bicubic"


def available_models() -> dict[str, str]:
    """Model names usable with ``--model`` now, with a one-line description each."""
    names = {"bicubic": "bicubic interpolation (any scale; no network)"}
    for name, (file, description) in BUNDLED.items():
        if (WEIGHTS_DIR / file).is_file():
            names[name] = description
    return names


def load_model(name: str, *, scale: int | None = None, device="cpu") -> nn.Module:
    """``"bicubic"``, a bundled model's name, or a path to a ``.safetensors`` generator."""
    if name == "bicubic":
        return Bicubic(scale=scale or 4).to(device)
    if name in BUNDLED:
        path = WEIGHTS_DIR / BUNDLED[name][0]
        if not path.is_file():
            raise CheckpointError(
                f"bundled model '{name}' is not installed (no '{path}'); "
                f"use --model bicubic or --model PATH.safetensors"
            )
    else:
        path = Path(name)
        if not path.exists():
            known = ", ".join(available_models())
            raise CheckpointError(f"model '{name}' is neither a file nor a known model ({known})")
    return load_generator(path, device=device)


__all__ = [
    "BUNDLED",
    "DEFAULT_MODEL",
    "Bicubic",
    "Discriminator",
    "Generator",
    "GeneratorConfig",
    "available_models",
    "load_generator",
    "load_model",
    "save_generator",
]
