"""Training checkpoints: plain dicts of tensors and plain values.

Written with ``torch.save`` through :func:`vsrgan.io.atomic.atomic_path` (a crash never leaves a
half file) and read with ``torch.load(weights_only=True)``, which unpickles tensors, numbers,
strings, lists and dicts only: no code in a checkpoint can run. So the config is stored as a
plain dict and RNG states as tensors. Keys::

    format, step, config, generator, generator_config, ema, discriminator,
    opt_g, opt_d, scaler, best_psnr, rng
"""

import json
from dataclasses import replace
from pathlib import Path

import torch

from ..errors import CheckpointError
from ..io.atomic import atomic_path
from ..models import GeneratorConfig, load_generator
from ..models.compact import with_frames
from ..models.weights import CHECKPOINT_FORMAT as FORMAT
from ..models.weights import checkpoint_generator


def rng_state() -> dict:
    """The global RNG states of this process (the data order needs none: it is keyed by step)."""
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []
    return {"torch": torch.get_rng_state(), "cuda": cuda}


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def plain(value):
    """Tuples to lists, so a config survives ``weights_only`` loading and JSON alike."""
    return json.loads(json.dumps(value))


def save_checkpoint(state: dict, folder: Path, *, keep: int) -> Path:
    """Write ``folder/step_NNNNNNNN.pt`` and delete all but the newest ``keep`` of them."""
    path = folder / f"step_{state['step']:08d}.pt"
    write(state, path)
    for old in sorted(folder.glob("step_*.pt"))[:-keep]:
        old.unlink()
    return path


def write(state: dict, path: Path) -> None:
    with atomic_path(path, overwrite=True) as tmp:
        torch.save({"format": FORMAT, **state}, tmp)


def latest_checkpoint(folder: Path) -> Path | None:
    found = sorted(folder.glob("step_*.pt"))
    return found[-1] if found else None


def load_checkpoint(path: str | Path) -> dict:
    """Read a checkpoint written by :func:`save_checkpoint` onto the CPU."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint '{path}' does not exist; expected a .pt file from a vsrgan run's checkpoints folder")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - pickle, zip and I/O errors all mean "not a checkpoint"
        raise CheckpointError(f"'{path}' is not a readable checkpoint ({type(e).__name__}: {e}); expected a .pt file from a vsrgan run") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"'{path}' is not a vsrgan training checkpoint; expected format {FORMAT!r}")
    return state


def initial_generator(path: str | Path, config: GeneratorConfig) -> dict[str, torch.Tensor]:
    """The weights the GAN stage starts from: a pretrain checkpoint's EMA generator, or a
    ``.safetensors`` generator. Its architecture must equal ``config``, or be the same single-frame
    compact net where ``config`` takes several frames (:func:`~vsrgan.models.compact.with_frames`)."""
    path = Path(path)
    if path.suffix == ".safetensors":
        model = load_generator(path)
        found, state = model.config, model.state_dict()
    else:
        checkpoint = load_checkpoint(path)
        found, state = GeneratorConfig(**checkpoint["generator_config"]), checkpoint["ema"]
        if found.reparam and not config.reparam:  # a pretrain with branches, continued folded
            model = checkpoint_generator(checkpoint, source=str(path))
            found, state = model.config, model.state_dict()
    if found.in_frames == 1 < config.in_frames and replace(found, in_frames=config.in_frames) == config:
        found, state = config, with_frames(state, config.in_frames)  # a single-frame net starts a multi-frame one
    if found != config:
        differ = ", ".join(f"{k}={v} (config: {getattr(config, k)})" for k, v in found.to_dict().items() if getattr(config, k) != v)
        raise CheckpointError(f"'{path}' holds a generator with {differ}; set model.* to match it")
    return state
