"""Keep freed memory in the process's heap, so that each frame's activations reuse pages.

glibc's malloc hands every block above its mmap threshold (which adapts, up to 32 MB) to the
kernel as a fresh mapping and unmaps it on free. The next frame's layer then maps new pages and
faults every 4 KB page in again, zero-filled by the kernel. In the compact x4 net a 960x540
frame's feature maps are 66 MB each, so every layer of every frame paid that: measured here, 400k
page faults and 45% of the model's time a frame at 540p, 2.7 million and 40% at 1080p
(BENCHMARKS.md). With mappings off and trimming off, freed blocks stay in the heap and the next
frame reuses them: 16k page faults a frame at 540p, 1.3-1.9x faster.

The cost: memory freed at the peak stays with the process until it exits (its peak resident
size, not more). The setting is process-wide and cannot be undone, so it is made once, by the
first CPU :class:`~vsrgan.inference.upscaler.Upscaler`; ``VSRGAN_HEAP=system`` leaves malloc alone.
"""

import ctypes
import logging
import os

log = logging.getLogger(__name__)

M_TRIM_THRESHOLD = -1  # glibc's mallopt parameters (malloc.h)
M_MMAP_MAX = -4
NEVER_TRIM = 2**31 - 1  # the largest value mallopt takes (an int)

_state = {"reusing": False}


def reusing() -> bool:
    """Whether this process keeps freed memory (:func:`reuse_freed_memory` took effect)."""
    return _state["reusing"]


def reuse_freed_memory() -> bool:
    """Turn off glibc malloc's mmap for large blocks and its heap trimming, once per process.

    Returns whether freed memory is now kept: False where the C library is not glibc or
    ``VSRGAN_HEAP=system`` asks to leave it alone.
    """
    if _state["reusing"]:
        return True
    if os.environ.get("VSRGAN_HEAP", "reuse") == "system":
        return False
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
        libc.gnu_get_libc_version  # noqa: B018 (only glibc has it; musl's mallopt does nothing)
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    if mallopt(M_MMAP_MAX, 0) != 1 or mallopt(M_TRIM_THRESHOLD, NEVER_TRIM) != 1:
        log.debug("glibc refused the heap settings; large blocks stay mapped per allocation")
        return False
    _state["reusing"] = True
    return True
