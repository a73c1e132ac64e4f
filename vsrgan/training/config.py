"""Typed training configuration: dataclasses with commented defaults, loaded from TOML.

A TOML file has one table per dataclass (``[data]``, ``[model]``, ``[loss]``, ``[optim]``,
``[train]``, ``[log]``); keys left out keep the defaults below, which are the SRGAN paper's
(Ledig et al. 2017) unless a comment says otherwise. Command-line overrides are
``section.key=value`` strings, parsed by the key's type. Every value is checked in
``__post_init__``; a bad one raises :class:`ConfigError` naming it.
"""

import dataclasses
import math
import sys
import typing
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..errors import ConfigError, InputError
from ..models import GeneratorConfig
from ..models.discriminator import DISCRIMINATOR_HEAD, HEADS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ConfigError(message)


@dataclass
class DataConfig:
    root: str = ""  # a dataset folder written by `vsrgan prepare` (it holds manifest.json)
    crop: int = 96  # HR crop size in pixels, as the paper; the LR crop is crop / scale
    batch_size: int = 16  # crops per step and process, as the paper
    augment: bool = True  # random horizontal flips and 90-degree rotations (8 orientations)
    loader: str = "auto"  # "device": crops cut on the training device from all images held there;
    # "workers": a DataLoader with num_workers processes; "auto": "device" on CUDA, else "workers"
    num_workers: int = 2  # DataLoader processes for loader = "workers" (0: in the main process)
    val_images: int = 8  # held-out images to validate on, evenly spaced through the test split (0: all)
    val_crop: int = 0  # validate on a centred HR crop of this size (0: whole frames)
    crop_tries: int = 1  # texture-aware crops: draw this many positions per image, keep the most textured
    # (highest gradient energy of the LR crop); 1: plain random crops. Photos have large flat areas
    # (sky, blur) that teach a x4 model nothing; 4 makes most crops hold edges and texture.
    small: str = "error"  # training images smaller than the crop: "error" stops the run naming one, "skip"
    # leaves them out (large crops beside a small clip, e.g. 256 and carphone's 176x144)

    def __post_init__(self):
        _check(self.crop > 0 and self.batch_size > 0, "data.crop and data.batch_size must be positive")
        _check(self.crop_tries >= 1, "data.crop_tries must be >= 1")
        _check(self.small in ("error", "skip"), f"data.small must be error or skip, got {self.small!r}")
        _check(self.loader in ("auto", "device", "workers"), f"data.loader must be auto, device or workers, got {self.loader!r}")
        _check(self.num_workers >= 0 and self.val_images >= 0 and self.val_crop >= 0, "data.num_workers, val_images and val_crop must be >= 0")


@dataclass(frozen=True)
class ModelConfig(GeneratorConfig):
    """The ``[model]`` table: the generator's settings (:class:`~vsrgan.models.GeneratorConfig`: scale,
    upsample, num_features, num_blocks, skip, arch, reparam; the dataset must have been prepared at
    ``scale``), then the discriminator's."""

    disc_features: int = 64  # discriminator width of its first layer (64 -> 512)
    disc_head: str = DISCRIMINATOR_HEAD  # "flatten" (paper: dense layers on the whole map) or "patch" (the seed: per position)

    def __post_init__(self):
        super().__post_init__()
        _check(self.disc_features > 0, "model.disc_features must be positive")
        _check(self.disc_head in HEADS, f"model.disc_head must be flatten or patch, got {self.disc_head!r}")

    def generator(self) -> GeneratorConfig:
        """The generator's part alone: what is stored beside its weights."""
        return GeneratorConfig(**{f.name: getattr(self, f.name) for f in dataclasses.fields(GeneratorConfig)})


@dataclass
class LossConfig:
    pixel: str = "mse"  # "mse" (paper's SRResNet) or "l1" (ESRGAN)
    pixel_weight: float = 1.0  # pretrain trains on this alone; SRGAN-VGG54 sets it to 0 in the GAN stage
    chroma_weight: float = 1.0  # 1: the pixel loss on RGB; else on Y, Cb, Cr with colour weighted this against luma (x4-real)
    perceptual_layers: tuple[str, ...] = ("vgg19.relu5_4",)  # paper's VGG54; seed: vgg19.relu3_3; ESRGAN: vgg19.conv5_4
    perceptual: str = "mse"  # distance between feature maps: "mse" (paper) or "l1" (ESRGAN)
    perceptual_weight: float = 1.0  # the paper's content loss, weight 1 (GAN stage only)
    feature_scale: float = 1 / 12.75  # feature maps are multiplied by this first (paper: 1/12.75)
    vgg_weights: str = "auto"  # a .pth/.safetensors path, "auto" (~/.cache/vsrgan), "download" or "random"
    adversarial: str = "bce"  # "bce" (the seed's sigmoid + cross-entropy) or "relativistic" (ESRGAN)
    adversarial_weight: float = 1e-3  # the paper's 10^-3 (GAN stage only)
    temporal_weight: float = 0.0  # > 0 (pretrain, one-frame nets): also the agreement of the outputs for a still sample's
    # two decoded frames (losses.temporal_consistency); needs a pool made with `vsrgan degrade --context 1`. Off: MODELS.md, x4-real

    def __post_init__(self):
        from ..models.vgg import parse_layer
        from .losses import ADVERSARIAL, CRITERIA

        _check(self.pixel in CRITERIA and self.perceptual in CRITERIA, "loss.pixel and loss.perceptual must be l1 or mse")
        _check(self.adversarial in ADVERSARIAL, f"loss.adversarial must be bce or relativistic, got {self.adversarial!r}")
        _check(len(self.perceptual_layers) > 0, "loss.perceptual_layers must name at least one layer")
        for spec in self.perceptual_layers:
            parse_layer(spec)
        for name in ("pixel_weight", "chroma_weight", "perceptual_weight", "adversarial_weight", "feature_scale", "temporal_weight"):
            _check(getattr(self, name) >= 0 and math.isfinite(getattr(self, name)), f"loss.{name} must be a finite number >= 0")


@dataclass
class OptimConfig:
    lr: float = 1e-4  # Adam learning rate of the generator (paper: 1e-4)
    lr_d: float = 1e-4  # of the discriminator
    betas: tuple[float, float] = (0.9, 0.999)  # Adam's (paper: beta1 = 0.9)
    weight_decay: float = 0.0
    schedule: str = "multistep"  # "constant"; "multistep": lr *= gamma at each milestone; "cosine": to min_lr at the end
    milestones: tuple[int, ...] = ()  # steps where multistep multiplies lr by gamma (paper's GAN: (100000,))
    gamma: float = 0.1
    min_lr: float = 1e-7  # where cosine ends
    warmup_steps: int = 0  # linear warm-up from 0 over this many steps
    grad_clip: float = 0.0  # clip the generator's gradient norm to this (0: off)

    def __post_init__(self):
        _check(self.lr > 0 and self.lr_d > 0, "optim.lr and optim.lr_d must be positive")
        _check(len(self.betas) == 2 and all(0 <= b < 1 for b in self.betas), "optim.betas must be two numbers in [0, 1)")
        _check(self.schedule in ("constant", "multistep", "cosine"), f"optim.schedule must be constant, multistep or cosine, got {self.schedule!r}")
        _check(list(self.milestones) == sorted(self.milestones), "optim.milestones must be increasing step numbers")
        _check(0 < self.gamma <= 1 and self.min_lr >= 0, "optim.gamma must be in (0, 1] and optim.min_lr >= 0")
        _check(self.warmup_steps >= 0 and self.grad_clip >= 0 and self.weight_decay >= 0, "optim.warmup_steps, grad_clip and weight_decay must be >= 0")


@dataclass
class TrainConfig:
    stage: str = "pretrain"  # "pretrain": pixel loss alone (SRResNet); "gan": SRGAN from a pretrained generator
    steps: int = 1_000_000  # optimizer steps in total (paper: 10^6 for SRResNet, 2 x 10^5 for SRGAN)
    init: str = ""  # the generator to start from, a pretrain checkpoint (.pt) or weights (.safetensors);
    # gan needs one, pretrain fine-tunes from it when given (x4-real from x4)
    out: str = "runs/vsrgan"  # the run folder: config, checkpoints, TensorBoard logs, exported weights
    seed: int = 0  # seeds the networks' init and every crop; with it, a run is reproducible
    device: str = "auto"  # auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N, mps
    precision: str = "auto"  # fp32, bf16 or fp16 autocast (CUDA only); auto: bf16 on CUDA, else fp32
    compile: bool = False  # torch.compile the generator and discriminator
    ema_decay: float = 0.999  # exponential moving average of the generator (0: off); the exported weights
    minutes: float = 0.0  # stop after this many minutes, checkpointed (--resume continues); 0: no limit
    cpu_hours: float = 0.0  # stop once the whole run (earlier chunks too) has used this much CPU time; 0: no limit
    stop_at: int = 0  # stop after this step, checkpointed, the schedule still that of train.steps (runs compared at equal steps); 0: none

    def __post_init__(self):
        _check(self.stage in ("pretrain", "gan"), f"train.stage must be pretrain or gan, got {self.stage!r}")
        _check(self.steps > 0, "train.steps must be positive")
        _check(
            self.stage != "gan" or bool(self.init),
            "train.stage = gan needs train.init (--init): a pretrain checkpoint (.pt) or generator (.safetensors)",
        )
        _check(self.precision in ("auto", "fp32", "bf16", "fp16"), f"train.precision must be auto, fp32, bf16 or fp16, got {self.precision!r}")
        _check(0 <= self.ema_decay < 1, "train.ema_decay must be in [0, 1)")
        _check(self.minutes >= 0, "train.minutes must be >= 0 (0: no limit)")
        _check(self.cpu_hours >= 0, "train.cpu_hours must be >= 0 (0: no limit)")
        _check(self.stop_at >= 0, "train.stop_at must be >= 0 (0: none)")


@dataclass
class LogConfig:
    log_every: int = 100  # steps between loss/lr records
    val_every: int = 1000  # steps between validations (PSNR/SSIM on held-out images, image grid)
    ckpt_every: int = 1000  # steps between checkpoints
    keep: int = 3  # checkpoints kept besides best.pt
    tensorboard: bool = True  # write TensorBoard logs to OUT/tb (skipped with a warning if not installed)
    progress: bool = True  # a tqdm bar with it/s and ETA

    def __post_init__(self):
        _check(min(self.log_every, self.val_every, self.ckpt_every, self.keep) > 0, "log.*_every and log.keep must be positive")


@dataclass
class Config:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    log: LogConfig = field(default_factory=LogConfig)

    def __post_init__(self):
        _check(self.data.crop % self.model.scale == 0, f"data.crop ({self.data.crop}) must be a multiple of model.scale ({self.model.scale})")
        _check(
            self.loss.temporal_weight == 0 or (self.train.stage == "pretrain" and self.model.in_frames == 1),
            "loss.temporal_weight > 0 is for train.stage = pretrain and model.in_frames = 1",
        )

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict, *, source: str = "config") -> "Config":
        """Build from nested plain values, as TOML or a checkpoint holds them; unknown keys are errors."""
        sections = [f.name for f in dataclasses.fields(cls)]
        for name in d:
            _check(name in sections, f"{source}: unknown section [{name}]; expected one of {', '.join(sections)}")
        built = {}
        for name, section_type in typing.get_type_hints(cls).items():
            values = d.get(name, {})
            _check(isinstance(values, dict), f"{source}: [{name}] must be a table")
            hints = typing.get_type_hints(section_type)
            for key in values:
                _check(key in hints, f"{source}: unknown key {name}.{key}; expected one of {', '.join(hints)}")
            built[name] = section_type(**{k: _coerce(v, hints[k], f"{name}.{k}") for k, v in values.items()})
        return cls(**built)


def _coerce(value, kind, key: str):
    """``value`` (from TOML or a checkpoint) as the field's type, or ConfigError."""
    if typing.get_origin(kind) is tuple:
        _check(isinstance(value, (list, tuple)), f"{key} must be a list, got {value!r}")
        args = typing.get_args(kind)
        item = args[0]
        _check(args[-1] is Ellipsis or len(value) == len(args), f"{key} must have {len(args)} items, got {value!r}")
        return tuple(_coerce(v, item, key) for v in value)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    _check(isinstance(value, kind) and not (kind is int and isinstance(value, bool)), f"{key} must be {kind.__name__}, got {value!r}")
    return value


def parse_override(text: str) -> tuple[str, str, str]:
    """``"optim.lr=2e-4"`` -> ``("optim", "lr", "2e-4")``."""
    key, eq, value = text.partition("=")
    section, dot, name = key.strip().partition(".")
    _check(bool(eq and dot and section and name), f"override {text!r} must look like section.key=value, e.g. optim.lr=2e-4")
    return section, name, value.strip()


def _parse_value(text: str, kind, key: str):
    """A command-line string as the field's type: TOML syntax for lists, bare words for strings."""
    if kind is str:
        return text
    if kind == tuple[str, ...] and not text.startswith("["):
        return [item.strip() for item in text.split(",")]  # loss.perceptual_layers=vgg19.relu5_4,vgg19.relu3_3
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        raise ConfigError(f"{key}={text!r} is not a valid {getattr(kind, '__name__', 'list')}; e.g. 1e-4, 100, true, [1, 2]") from None


def load_config(path: str | Path | None = None, overrides: typing.Sequence[str] = ()) -> Config:
    """Defaults, then the TOML file at ``path`` (if any), then ``overrides`` (``section.key=value``)."""
    data: dict = {}
    source = "defaults"
    if path is not None:
        path, source = Path(path), str(path)
        if not path.is_file():
            raise InputError(f"config file '{path}' does not exist; expected a TOML file such as configs/pretrain.toml")
        try:
            data = tomllib.loads(path.read_text())
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise ConfigError(f"'{path}' is not valid TOML: {e}") from None
    return Config.from_dict(_merge(data, overrides), source=source)


def apply_overrides(config: Config, overrides: typing.Sequence[str]) -> Config:
    """A copy of ``config`` with ``overrides`` (``section.key=value``) applied and checked."""
    return Config.from_dict(_merge(config.to_dict(), overrides))


def _merge(data: dict, overrides: typing.Sequence[str]) -> dict:
    hints = typing.get_type_hints(Config)
    for text in overrides:
        section, name, value = parse_override(text)
        _check(section in hints, f"override {text!r}: unknown section {section!r}; expected one of {', '.join(hints)}")
        fields = typing.get_type_hints(hints[section])
        _check(name in fields, f"override {text!r}: unknown key {section}.{name}; expected one of {', '.join(fields)}")
        data.setdefault(section, {})[name] = _parse_value(value, fields[name], f"{section}.{name}")
    return data


def to_toml(config: Config) -> str:
    """The resolved config as TOML (every key, defaults included), readable by :func:`load_config`."""
    lines = []
    for section, values in config.to_dict().items():
        lines.append(f"[{section}]")
        lines += [f"{key} = {_toml_value(value)}" for key, value in values.items()]
        lines.append("")
    return "\n".join(lines)


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return "[" + ", ".join(_toml_value(v) for v in value) + "]"
