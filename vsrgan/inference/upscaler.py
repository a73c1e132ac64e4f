"""Upscaler: a model on a device at a precision, applied to batches of frames.

The inference contract (everything else calls this): input ``(N, 3, H, W)`` float in ``[0, 1]``
on any device; output ``(N, 3, sH, sW)`` float in ``[0, 1]`` on the upscaler's device. Frames
in and out as uint8 go through :mod:`vsrgan.io.frames`.
"""

import logging
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..errors import ConfigError
from ..io import frames
from ..models import AUTO, DEFAULT_DENOISE, auto_denoise, default_denoise, default_model, load_model
from .backends import build_backend, pick_backend
from .device import pick_device, pick_precision
from .heap import reuse_freed_memory
from .memory import plan
from .threads import ThreadBudget, use_threads
from .tiling import tiled_forward

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelOptions:
    """Which model runs, and how: what every upscaling job takes (``vsrgan upscale``'s -m, -s,
    --tile, --batch-size, --device, --precision, --backend and --threads)."""

    model: str | None = None  # bicubic, a bundled model's name or a weights path (.safetensors, another project's .pth); None: the bundled default
    scale: int | None = None  # must match the model's; None: the model's
    tile: int = 0  # tile size in input pixels; 0: whole frames (tiles anyway if one does not fit in memory)
    batch_size: int | None = None  # frames per model call; None: 1 on the CPU, 4 on a GPU (vsrgan.inference.memory)
    device: str = "auto"  # auto (cuda, then mps, then cpu), cpu, cuda, cuda:N, mps
    precision: str = "auto"  # auto (fp16 on a GPU, fp32 on the CPU), fp32, fp16, bf16
    backend: str = "auto"  # the engine (vsrgan.inference.backends); auto: the measured fastest installed one for the model and frame size
    threads: int | None = None  # the job's thread budget, model + encoder + decoder (vsrgan.inference.threads); None: every core
    denoise: float | str | None = None  # 0 (the clean model) .. 1 (its real-world twin): blended weights (vsrgan.models.blend);
    # "auto": for how hard each input was compressed (for_input); None: off, or, when no model is named either, auto

    def __post_init__(self):
        if self.scale is not None and self.scale < 1:
            raise ConfigError(f"--scale must be a positive whole number, got {self.scale}")
        if self.tile < 0:
            raise ConfigError(f"--tile must be 0 (off) or a positive size in pixels, got {self.tile}")
        if self.batch_size is not None and self.batch_size < 1:
            raise ConfigError(f"--batch-size must be at least 1, got {self.batch_size}")
        if self.threads is not None and self.threads < 1:
            raise ConfigError(f"--threads must be at least 1, got {self.threads}")
        if self.denoise is not None and self.denoise != AUTO and not (isinstance(self.denoise, int | float) and 0 <= self.denoise <= 1):
            raise ConfigError(f"--denoise must be auto or between 0 (the clean model) and 1 (its real-world twin), got '{self.denoise}'")

    @property
    def model_name(self) -> str:
        return self.model or default_model()

    @property
    def denoise_strength(self) -> float | None:
        """The strength the job runs with: ``denoise``, or the default's when no model is named
        (:func:`~vsrgan.models.default_denoise`); ``auto`` with no input to read is
        :data:`~vsrgan.models.DEFAULT_DENOISE` (:meth:`for_input` settles it for an input)."""
        strength = default_denoise(self.model, self.denoise)
        return DEFAULT_DENOISE if strength == AUTO else strength

    def for_input(self, input: str | Path) -> "ModelOptions":
        """These options with ``--denoise auto`` (the default without -m) settled for ``input``: the
        strength for how hard the video was compressed, read from its bitstream
        (:func:`vsrgan.models.auto_denoise`); unchanged for any other setting."""
        if default_denoise(self.model, self.denoise) != AUTO:
            return self
        from ..io.compression import read_quantiser
        from ..io.images import is_image

        quantiser = None if is_image(Path(input)) else read_quantiser(input)
        strength = auto_denoise(quantiser)
        log.info("'%s': %s -> --denoise %g", input, quantiser or "compression unknown", strength)
        return replace(self, denoise=strength)

    def load(self, *, device="cpu") -> nn.Module:
        """The network these options name, blended at :attr:`denoise_strength`; a ``scale`` it does not
        upscale by is one line (:class:`ConfigError`). Every job loads its model here: upscale, the cluster, export."""
        model = load_model(self.model_name, scale=self.scale, denoise=self.denoise_strength, device=device)
        if self.scale is not None and model.scale != self.scale:
            raise ConfigError(f"model '{self.model_name}' upscales x{model.scale}; asked for x{self.scale}")
        return model

    def thread_budget(self) -> ThreadBudget:
        """The job's :class:`ThreadBudget` on this device, with PyTorch's pool sized to it (:mod:`vsrgan.inference.threads`)."""
        return use_threads(self.threads, device=pick_device(self.device))


class Upscaler:
    """Apply an upscaling model to frames, batched, optionally tiled.

    ``tile`` is the tile size in input pixels (0: whole frames); tiles overlap by the model's
    receptive radius so that tiled output equals untiled output. ``backend`` picks the engine
    (:mod:`vsrgan.inference.backends`), run with ``threads`` threads (None: PyTorch's current count).
    ``channels_last`` (default: on CPUs and CUDA) lets oneDNN and cuDNN run the convolutions
    without reordering every activation; on the CPU the contiguous layout falls back to
    im2col, 1.7x slower for the compact x4 net and a 150 MB column buffer per layer.
    ``reuse_memory`` (default: on the CPU) keeps freed activations in the process's heap
    (:mod:`vsrgan.inference.heap`): 1.3-1.9x faster at 540p and larger.
    """

    def __init__(
        self,
        model: nn.Module,
        *,
        device: str | torch.device = "auto",
        precision: str = "auto",
        tile: int = 0,
        channels_last: bool | None = None,
        backend: str = "eager",
        threads: int | None = None,
        reuse_memory: bool | None = None,
    ):
        if tile < 0:
            raise ConfigError(f"--tile must be 0 (off) or a positive size in pixels, got {tile}")
        frames = getattr(getattr(model, "config", None), "in_frames", 1)
        if frames > 1:  # trained with model.in_frames (MODELS.md, x4-real: a screen); the frame path feeds one frame
            raise ConfigError(f"this network takes {frames} frames at once (model.in_frames); upscale, compare and evaluate "
                              "run single-frame networks only: scripts/models/multiframe_table.py scores it")
        self.device = device if isinstance(device, torch.device) else pick_device(device)
        self.dtype = pick_precision(precision, self.device)
        self.scale = int(model.scale)
        self.tile = tile
        self.pad = int(model.receptive_radius)
        if channels_last is None:
            channels_last = self.device.type in ("cuda", "cpu")
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        if reuse_memory is None:
            reuse_memory = self.device.type == "cpu"
        if reuse_memory:
            reuse_freed_memory()
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True  # frame sizes repeat: let cuDNN pick its fastest kernels
        self.model = model.eval().to(self.device, self.dtype, memory_format=self.memory_format)
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.asked_backend, self.threads = backend, threads or torch.get_num_threads()
        self.backend = pick_backend(backend, self.device, self.model, self.dtype, threads=self.threads)  # auto: a guess until the frame size is known
        # auto's engine is built once the size is known (fit() or the first call), not for the guess; any
        # other is built now, so that a missing package is an error before any work
        self.run = None if backend == "auto" else build_backend(self.backend, self.model, device=self.device, threads=self.threads)

    @classmethod
    def from_options(cls, options: ModelOptions, *, model: nn.Module | None = None) -> "Upscaler":
        """Build as ``options`` say, with the model's share of their thread budget; ``model``: one
        already loaded (a cluster task's), else ``options.model`` is loaded."""
        kwargs = dict(device=options.device, precision=options.precision, tile=options.tile, backend=options.backend,
                      threads=options.thread_budget().model)
        if model is not None:
            return cls(model, **kwargs)
        return cls(options.load(), **kwargs)

    @classmethod
    def from_name(cls, name: str, *, scale: int | None = None, denoise: float | None = None, **kwargs) -> "Upscaler":
        """Build from a ``--model`` value: ``bicubic``, a bundled name, or a weights path (``denoise``: see ModelOptions)."""
        return cls(ModelOptions(model=name, scale=scale, denoise=denoise).load(), **kwargs)

    def fit(self, *, width: int, height: int, batch_size: int) -> int:
        """How many ``width x height`` frames to run per call, at most ``batch_size``; if a whole
        frame does not fit in the device's free memory, switch to tiles (see :mod:`vsrgan.inference.memory`).
        With ``backend="auto"`` the engine is then picked for the size the network sees (a tile, when tiled)."""
        batch, self.tile = plan(
            self.model, width=width, height=height, dtype=self.dtype, device=self.device,
            batch_size=batch_size, tile=self.tile, pad=self.pad,
        )
        seen = (min(self.tile + 2 * self.pad, width), min(self.tile + 2 * self.pad, height)) if self.tile else (width, height)
        self._build_engine(*seen)
        return batch

    def _build_engine(self, width: int, height: int) -> None:
        """The engine for inputs of ``width x height`` (auto: picked for that size), unless it is built already."""
        backend = pick_backend(self.asked_backend, self.device, self.model, self.dtype, size=(width, height), threads=self.threads)
        if self.run is None or backend != self.backend:
            self.backend, self.run = backend, build_backend(backend, self.model, device=self.device, threads=self.threads)

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.run is None:  # auto, called without fit(): picked for the input the network sees (a tile, when tiled)
            self._build_engine(x.shape[-1], x.shape[-2])
        x = x.to(self.device, self.dtype, memory_format=self.memory_format)
        return self.run(x)

    @torch.inference_mode()
    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 3, H, W)`` float in [0, 1] -> ``(N, 3, sH, sW)`` float in [0, 1] (upscaler's dtype)."""
        y = tiled_forward(self._forward, x, scale=self.scale, tile=self.tile, pad=self.pad)
        return y.clamp_(0, 1)

    @torch.inference_mode()
    def upscale_frames(self, batch: np.ndarray) -> np.ndarray:
        """``uint8 (N, H, W, 3)`` -> ``uint8 (N, sH, sW, 3)``; conversions run on the device, once each."""
        x = frames.to_tensor(batch, device=self.device, dtype=self.dtype)
        return frames.to_uint8_(self(x)).cpu().numpy()

    @torch.inference_mode()
    def upscale_frames_i420(self, batch: np.ndarray) -> np.ndarray:
        """``uint8 (N, H, W, 3)`` RGB -> ``uint8 (N, 3sH/2, sW)`` yuv420p, converted on the device."""
        x = frames.to_tensor(batch, device=self.device, dtype=self.dtype)
        return frames.to_i420(self(x)).cpu().numpy()
