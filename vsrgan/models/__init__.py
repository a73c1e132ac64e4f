"""The networks, and :func:`load_model`, which turns a ``--model`` value into one of them: ours,
or another project's weights file (:mod:`.foreign`: ESRGAN, Real-ESRGAN, BasicSR; Real-ESRGAN's ncnn
``.param`` + ``.bin`` pairs too)."""

from pathlib import Path

from torch import nn

from ..errors import CheckpointError, ConfigError
from .bicubic import Bicubic
from .blend import blend
from .compact import CompactGenerator
from .discriminator import Discriminator
from .foreign import is_foreign, load_foreign, load_ncnn, read_object
from .generator import Generator, GeneratorConfig, build_generator
from .weights import CONFIG_KEY, checkpoint_generator, is_checkpoint, load_generator, read_metadata, save_generator

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"

# name -> (file inside vsrgan/weights, one-line description). A literal table: grep finds it.
# Each file's metadata holds its model card in one line ("vsrgan.card"): what `vsrgan models` prints.
BUNDLED = {
    "x4": ("x4.safetensors", "compact CPU network x4, pixel loss: highest fidelity"),
    "x4-gan": ("x4-gan.safetensors", "compact CPU network x4, perceptual + adversarial: crisper edges, lowest VGG distance"),
    "x4-real": ("x4-real.safetensors", "x4 fine-tuned on compressed, blurred and noisy input (H.264, MPEG-2/4, JPEG): for real video"),
}
CARD_KEY = "vsrgan.card"
WEIGHT_SUFFIXES = (".safetensors", ".pth", ".pt", ".param")  # a --model value ending so is a weights file (.param: ncnn's)
# --denoise S blends a model's clean and real-world weights: name -> (clean at S = 0, twin at S = 1)
DENOISE_PAIRS = {"x4": ("x4", "x4-real"), "x4-real": ("x4", "x4-real")}


def available_models() -> dict[str, str]:
    """Model names usable with ``--model`` now, with a one-line description each (and its measured numbers)."""
    names = {"bicubic": "bicubic interpolation (any scale; no network)"}
    for name, (file, description) in BUNDLED.items():
        path = WEIGHTS_DIR / file
        if path.is_file():
            card = read_metadata(path).get(CARD_KEY)
            names[name] = f"{description}; {card}" if card else description
    return names


# --denoise where how hard the input was compressed is unknown (see AUTO), decided by issue 27's rule
# (MODELS.md, x4-real): on the held-out clips encoded as real video is (every frame), x4 blended halfway
# with x4-real gains +1.88 dB over bicubic on clean + CRF 23 + CRF 28 against x4's +1.76, and loses
# 0.16 dB on clean input (the rule allows 0.3).
DEFAULT_DENOISE = 0.5


def default_model() -> str:
    """What `vsrgan upscale` uses when no --model is given: ``x4`` where its weights are installed."""
    return "x4" if (WEIGHTS_DIR / BUNDLED["x4"][0]).is_file() else "bicubic"


AUTO = "auto"  # --denoise auto: the strength for how hard the input was compressed (auto_denoise)

# --denoise auto, the default where no -m is given: per kind of quantiser a video's decoder reports
# (vsrgan.io.compression), the ramp from (lo: strength 0, x4 exactly) to (hi: 1, x4-real), fitted on the
# held-out clips encoded at 30 settings (scripts/models/denoise_calibration.py; MODELS.md, x4-real). Most
# start below 0: the lightest lossy encode measured (x264 CRF 8, QP 11) already wants strength 0.5. HEVC
# (its slice QP, on H.264's scale) wants less than H.264 at the same QP: its coding tools lose less.
AUTO_DENOISE = {"h264": (-3.5, 27.0), "mpeg": (-12.5, 11.5), "vp9": (-20.0, 116.0), "hevc": (5.5, 33.0), "av1": (-20.0, 147.5)}


def default_denoise(model: str | None, denoise: float | str | None) -> float | str | None:
    """The ``--denoise`` a job runs with: ``denoise`` as given; with neither a model nor a strength
    given, :data:`AUTO` where the default's real-world twin is installed (``-m x4`` alone is the
    clean x4 exactly)."""
    if denoise is not None or model is not None or default_model() not in DENOISE_PAIRS:
        return denoise
    installed = all((WEIGHTS_DIR / BUNDLED[name][0]).is_file() for name in DENOISE_PAIRS[default_model()])
    return AUTO if installed else None


def auto_denoise(quantiser) -> float:
    """``--denoise auto``'s strength for a video whose encoder chose ``quantiser`` (a
    :class:`vsrgan.io.compression.Quantiser`): on its kind's ramp in :data:`AUTO_DENOISE`, to 0.01;
    :data:`DEFAULT_DENOISE` where it is unknown (None: an image, an intra codec, no file)."""
    if quantiser is None or quantiser.kind not in AUTO_DENOISE:
        return DEFAULT_DENOISE
    if quantiser.value == 0:  # lossless (x264 at QP 0): nothing to undo
        return 0.0
    lo, hi = AUTO_DENOISE[quantiser.kind]
    return round(min(max((quantiser.value - lo) / (hi - lo), 0.0), 1.0), 2)


def model_label(model: str) -> str:
    """``--model`` as a label: a weights path (.safetensors, .pth, .pt) is shortened to its file stem."""
    return Path(model).stem if Path(model).suffix.lower() in WEIGHT_SUFFIXES else model


def load_model(name: str, *, scale: int | None = None, device="cpu", denoise: float | None = None) -> nn.Module:
    """``"bicubic"``, a bundled model's name, or a weights path (:func:`load_weights`); with
    ``denoise`` (0..1), the blend of the model's pair in :data:`DENOISE_PAIRS` at that strength."""
    if denoise is not None:
        if name not in DENOISE_PAIRS:
            raise ConfigError(f"--denoise needs a model with a real-world twin ({', '.join(DENOISE_PAIRS)}); '{name}' has none")
        clean, real = DENOISE_PAIRS[name]
        for twin in (clean, real):
            if not (WEIGHTS_DIR / BUNDLED[twin][0]).is_file():
                raise CheckpointError(f"--denoise blends {clean} and {real}, but {twin} is not installed "
                                      f"(no '{WEIGHTS_DIR / BUNDLED[twin][0]}'); drop --denoise")
        return blend(load_model(clean, device=device), load_model(real, device=device), denoise)
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
    return load_weights(path, device=device)


def load_weights(path: Path, *, device="cpu") -> nn.Module:
    """A weights file: ours (a ``.safetensors`` with vsrgan's config in its metadata, or a training
    checkpoint ``.pt``: its EMA generator) or another project's (``.pth``, ``.pt``, a ``.safetensors``
    without it: its architecture detected; an ncnn ``.param``, its ``.bin`` beside it: converted)."""
    suffix = path.suffix.lower()
    if suffix == ".param":
        return load_ncnn(path, device=device)
    if suffix in (".pth", ".pt"):
        obj = read_object(path)
        if is_checkpoint(obj):  # a run's checkpoints/step_N.pt: its EMA generator
            return checkpoint_generator(obj, source=str(path)).to(device)
        return load_foreign(path, device=device, obj=obj)
    if suffix == ".safetensors" and CONFIG_KEY not in read_metadata(path):
        return load_foreign(path, device=device)
    return load_generator(path, device=device)


def describe_model(name: str) -> dict[str, str]:
    """What ``vsrgan models --inspect`` prints about a ``--model`` value: the architecture, its
    hyper-parameters, the scale, the parameter count and the receptive radius (tiles' overlap)."""
    model = load_model(name)
    if is_foreign(model):
        arch, hparams = model.arch, model.hparams
    elif isinstance(model, Bicubic):
        arch, hparams = "bicubic", {}
    else:
        arch, hparams = f"vsrgan {model.config.arch}", model.config.to_dict()
    return {
        "architecture": arch,
        "hyper-parameters": ", ".join(f"{k}={v}" for k, v in hparams.items()) or "none",
        "scale": f"x{model.scale}",
        "parameters": f"{sum(p.numel() for p in model.parameters()):,}",
        "receptive radius": f"{model.receptive_radius} input pixels",
    }


__all__ = [
    "BUNDLED",
    "CARD_KEY",
    "DENOISE_PAIRS",
    "Bicubic",
    "CompactGenerator",
    "Discriminator",
    "Generator",
    "GeneratorConfig",
    "available_models",
    "blend",
    "build_generator",
    "default_model",
    "describe_model",
    "is_foreign",
    "load_generator",
    "load_model",
    "load_weights",
    "model_label",
    "save_generator",
]
