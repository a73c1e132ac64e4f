"""Generator weights as ``.safetensors`` whose metadata rebuilds the model.

The file holds the state dict and, under the metadata key ``vsrgan.generator``, the
:class:`GeneratorConfig` as JSON. Loading parses JSON and tensors only: no code runs. A training
checkpoint (``RUN/checkpoints/step_N.pt``, read with ``weights_only``) yields its EMA generator too
(:func:`checkpoint_generator`), so a run can be looked at while it trains.
"""

import json
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, safe_open, save_file
from torch import nn

from ..errors import CheckpointError, ConfigError
from ..io.atomic import atomic_path
from .generator import GeneratorConfig, build_generator

CONFIG_KEY = "vsrgan.generator"
CHECKPOINT_FORMAT = "vsrgan-checkpoint/1"  # the "format" of vsrgan.training.checkpoint's files


def save_generator(
    model: nn.Module,
    path: str | Path,
    *,
    dtype: torch.dtype | None = None,
    metadata: dict[str, str] | None = None,
    overwrite: bool = True,
) -> Path:
    """Write ``model``'s weights and config; ``dtype=torch.float16`` halves the file.

    A generator trained with re-parameterisable branches is written folded (``model.fused()``).
    """
    if model.config.reparam:
        model = model.fused()
    state = {k: v.detach().to("cpu", dtype or v.dtype).contiguous() for k, v in model.state_dict().items()}
    state = {k: (v if v.is_floating_point() else v.to(torch.int64)) for k, v in state.items()}
    meta = {CONFIG_KEY: json.dumps(model.config.to_dict()), **(metadata or {})}
    path = Path(path)
    with atomic_path(path, overwrite=overwrite) as tmp:
        save_file(state, str(tmp), metadata=meta)
    return path


def read_metadata(path: str | Path) -> dict[str, str]:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"weights file '{path}' does not exist; expected a .safetensors file")
    try:
        with safe_open(str(path), framework="pt") as f:
            return f.metadata() or {}
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"'{path}' is not a readable .safetensors file ({e})") from None


def load_generator(path: str | Path, *, device: torch.device | str = "cpu") -> nn.Module:
    """Rebuild the generator stored in ``path`` (as written by :func:`save_generator`)."""
    path = Path(path)
    meta = read_metadata(path)
    if CONFIG_KEY not in meta:
        raise CheckpointError(f"'{path}' has no '{CONFIG_KEY}' metadata; expected weights saved by vsrgan")
    try:
        config = GeneratorConfig(**json.loads(meta[CONFIG_KEY]))
    except (TypeError, ValueError, ConfigError) as e:
        raise CheckpointError(f"'{path}' has an invalid generator config: {e}") from None
    model = build_generator(config)
    state = load_file(str(path), device=str(device))
    try:
        model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    except RuntimeError as e:
        first = str(e).strip().splitlines()[0]
        raise CheckpointError(f"'{path}' does not match its own config: {first}") from None
    return model.to(device).eval()


def is_checkpoint(obj) -> bool:
    """Whether ``obj``, a file's ``torch.load``, is a vsrgan training checkpoint."""
    return isinstance(obj, dict) and obj.get("format") == CHECKPOINT_FORMAT


def checkpoint_generator(obj: dict, *, source: str = "the checkpoint") -> nn.Module:
    """The EMA generator of a training checkpoint ``obj`` (what the run validates and exports), folded
    as :func:`save_generator` writes it, in eval mode on the CPU."""
    try:
        model = build_generator(GeneratorConfig(**obj["generator_config"]))
        model.load_state_dict(obj["ema"])
    except (KeyError, TypeError, ValueError, ConfigError, RuntimeError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CheckpointError(f"'{source}' is a vsrgan training checkpoint whose EMA generator does not load ({first})") from None
    return (model.fused() if model.config.reparam else model).eval()
