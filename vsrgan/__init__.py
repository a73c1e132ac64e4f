"""vsrgan: sharp video upscaling with SRResNet / SRGAN.

The public API::

    from vsrgan import upscale, upscale_video, Upscaler, JobOptions, ModelOptions, prepare, train, evaluate, compare
    upscale("in.mp4", "out.mp4")  # the bundled default model; model="bicubic", a name or a .safetensors path
    upscale("in.mp4", "out.mkv", JobOptions.of(model="x4-real", crf=20))  # one options object for every job

The package map is in ARCHITECTURE.md. Everything imports without PyAV (a GPU machine that only
trains may lack FFmpeg); reading or writing video then raises a VideoError saying so.
"""

from .dataset.prepare import prepare
from .errors import CheckpointError, ConfigError, InputError, VideoError, VsrganError
from .evaluation.compare import compare
from .evaluation.evaluate import evaluate
from .inference.upscaler import ModelOptions, Upscaler
from .options import JobOptions
from .training.loop import train
from .upscale import upscale, upscale_video
from .version import __version__

__all__ = [
    "CheckpointError",
    "ConfigError",
    "InputError",
    "JobOptions",
    "ModelOptions",
    "Upscaler",
    "VideoError",
    "VsrganError",
    "__version__",
    "compare",
    "evaluate",
    "prepare",
    "train",
    "upscale",
    "upscale_video",
]
