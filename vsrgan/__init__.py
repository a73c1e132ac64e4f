"""vsrgan: sharp video upscaling with SRResNet / SRGAN.

The public API::

    from vsrgan import upscale, Upscaler, prepare, train, evaluate, compare
    upscale("in.mp4", "out.mp4", model="bicubic")

Everything imports without PyAV (a GPU machine that only trains may lack FFmpeg); reading or
writing video then raises a VideoError saying so.
"""

__version__ = "0.1.0"

from .compare import compare  # noqa: E402
from .errors import CheckpointError, ConfigError, InputError, VideoError, VsrganError  # noqa: E402
from .evaluate import evaluate  # noqa: E402
from .infer import Upscaler  # noqa: E402
from .prepare import prepare  # noqa: E402
from .train import train  # noqa: E402
from .upscale import upscale  # noqa: E402

__all__ = [
    "CheckpointError",
    "ConfigError",
    "InputError",
    "Upscaler",
    "VideoError",
    "VsrganError",
    "compare",
    "evaluate",
    "prepare",
    "train",
    "upscale",
]
