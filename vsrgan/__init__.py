"""vsrgan: sharp video upscaling with SRResNet / SRGAN.

The public API::

    from vsrgan import upscale, Upscaler, prepare, train, evaluate, compare
    upscale("in.mp4", "out.mp4", model="bicubic")

Names are imported on first use, so ``import vsrgan.train`` works where PyAV is not installed
(a GPU machine that only trains) and ``vsrgan --help`` starts quickly.
"""

import importlib

__version__ = "0.1.0"

# public name -> the module that defines it
_API = {
    "Upscaler": "infer",
    "upscale": "upscale",
    "prepare": "prepare",
    "train": "train",
    "evaluate": "evaluate",
    "compare": "compare",
    "VsrganError": "errors",
    "InputError": "errors",
    "VideoError": "errors",
    "CheckpointError": "errors",
    "ConfigError": "errors",
}

__all__ = sorted(_API)


def __getattr__(name: str):
    if name not in _API:
        raise AttributeError(f"module 'vsrgan' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_API[name]}", __name__), name)
