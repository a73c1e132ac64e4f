"""Which network a weights file of another project holds, read from its keys and shapes alone.

A ``.pth``/``.pt`` file is opened with ``torch.load(weights_only=True)``: tensors and plain
containers only, no code runs (a file that needs code to load is refused). A ``.safetensors``
file holds tensors only. The state dict may sit inside the wrappers training code writes
(``params_ema``, preferred over ``params``, as Real-ESRGAN's and BasicSR's; ``state_dict``;
``model``) and carry DataParallel's ``module.`` prefix. Each architecture's module reads its
own hyper-parameters from the state (its ``read_state``) and renames its layers to its own;
:data:`ARCHS` is the list, tried in order.
"""

import pickle
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import nn

from ...errors import CheckpointError
from . import msrresnet, rrdb, srvgg

# name -> (class, reader of its state dicts); the readers are tried in this order
ARCHS = {
    "RRDBNet": (rrdb.RRDBNet, rrdb.read_state),
    "MSRResNet": (msrresnet.MSRResNet, msrresnet.read_state),
    "SRVGGNetCompact": (srvgg.SRVGGNetCompact, srvgg.read_state),
}
KNOWN = ("RRDBNet (ESRGAN, Real-ESRGAN x4plus, x2plus, anime_6B), SRVGGNetCompact (realesr-animevideov3, "
         "realesr-general-x4v3), MSRResNet (BasicSR)")
WRAPPERS = ("params_ema", "params", "state_dict", "model")  # where training code puts the weights, preferred first
SUFFIXES = (".pth", ".pt", ".safetensors")


@dataclass(frozen=True)
class Detected:
    """A state dict recognised: its architecture, hyper-parameters, and weights in its module's names."""

    arch: str  # a key of ARCHS
    hparams: dict  # the class's keyword arguments
    state: dict  # name -> tensor


def read_object(path: str | Path):
    """What ``path`` holds (``.pth``, ``.pt``: ``torch.load`` with ``weights_only``, so no code runs;
    ``.safetensors``: its tensors), on the CPU."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"weights file '{path}' does not exist")
    if path.suffix.lower() == ".safetensors":
        try:
            return load_file(str(path))
        except (SafetensorError, OSError, ValueError) as e:
            raise CheckpointError(f"'{path}' is not a readable .safetensors file ({e})") from None
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError, AttributeError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CheckpointError(f"'{path}' is not a plain weights file that loads without running code ({first})") from None


def read_weights(path: str | Path, obj=None) -> dict[str, torch.Tensor]:
    """The state dict in ``path`` (``.pth``, ``.pt`` or ``.safetensors``; ``obj``: what it holds, if
    :func:`read_object` read it already), out of its wrappers and without a ``module.`` prefix, floats
    as float32 on the CPU."""
    obj = read_object(path) if obj is None else obj
    state = unwrap(obj)
    if not state:
        found = ", ".join(map(str, list(obj)[:5])) if isinstance(obj, dict) else type(obj).__name__
        raise CheckpointError(f"'{path}' holds no tensors (found: {found}); expected a state dict, bare or in "
                              f"{', '.join(WRAPPERS)}")
    return {k: v.float() if v.is_floating_point() else v for k, v in state.items()}


def unwrap(obj) -> dict[str, torch.Tensor]:
    """The tensors of ``obj``: inside its first wrapper of :data:`WRAPPERS` that is a dict (again
    and again), with a ``module.`` prefix that every key has removed."""
    while isinstance(obj, dict) and (inner := next((obj[w] for w in WRAPPERS if isinstance(obj.get(w), dict)), None)) is not None:
        obj = inner
    if not isinstance(obj, dict):
        return {}
    state = {str(k): v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    if state and all(k.startswith("module.") for k in state):
        state = {k.removeprefix("module."): v for k, v in state.items()}
    return state


def detect(state: dict[str, torch.Tensor], *, source: str = "the state dict") -> Detected:
    """The architecture of ``state``, tried in :data:`ARCHS`' order; an unknown layout raises
    :class:`CheckpointError` naming ``source``, its first keys and the known architectures."""
    for arch, (_, read_state) in ARCHS.items():
        try:
            found = read_state(state)
        except CheckpointError as e:
            raise CheckpointError(f"'{source}': {e}") from None
        if found is not None:
            hparams, renamed = found
            return Detected(arch=arch, hparams={k: int(v) for k, v in hparams.items()}, state=renamed)
    first = ", ".join(list(state)[:4])
    raise CheckpointError(f"'{source}' is no architecture vsrgan knows ({len(state)} tensors, first: {first}); "
                          f"known: {KNOWN}")


def build(arch: str, hparams: dict, state: dict[str, torch.Tensor], *, source: str = "the state dict") -> nn.Module:
    """The ``arch`` network with ``hparams``, its weights ``state`` loaded, in eval mode."""
    if arch not in ARCHS:
        raise CheckpointError(f"'{source}': unknown architecture '{arch}'; known: {', '.join(ARCHS)}")
    model = ARCHS[arch][0](**hparams)
    try:
        model.load_state_dict(state)
    except RuntimeError as e:
        lines = [line.strip() for line in str(e).strip().splitlines() if line.strip()]
        detail = lines[1] if len(lines) > 1 else lines[0]
        detail = detail if len(detail) <= 200 else detail[:200] + "..."
        raise CheckpointError(f"'{source}' looks like {arch} ({_params(hparams)}) but its weights do not fit it: {detail}") from None
    return model.eval()


def load_foreign(path: str | Path, *, device: torch.device | str = "cpu", obj=None) -> nn.Module:
    """The network in another project's weights file ``path`` (``obj``: what it holds, if read already),
    detected and built (see the module's docstring)."""
    found = detect(read_weights(path, obj), source=str(path))
    return build(found.arch, found.hparams, found.state, source=str(path)).to(device)


def is_foreign(model: nn.Module) -> bool:
    """Whether ``model`` is one of :data:`ARCHS`' networks."""
    return isinstance(model, tuple(cls for cls, _ in ARCHS.values()))


def _params(hparams: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in hparams.items())
