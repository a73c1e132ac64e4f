"""vsrgan: sharp video upscaling with SRResNet / SRGAN.

The public API::

    from vsrgan import upscale, Upscaler
    upscale("in.mp4", "out.mp4", model="bicubic")
"""

__version__ = "0.1.0"

from .errors import CheckpointError, ConfigError, InputError, VideoError, VsrganError  # noqa: E402
from .infer import Upscaler  # noqa: E402
from .upscale import upscale  # noqa: E402

__all__ = [
    "CheckpointError",
    "ConfigError",
    "InputError",
    "Upscaler",
    "VideoError",
    "VsrganError",
    "upscale",
]
