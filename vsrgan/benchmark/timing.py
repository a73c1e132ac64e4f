"""Clocks for the bench: wall seconds with GPU work included, warm-up, and the model alone."""

import resource
import time
from collections.abc import Callable

import torch

from ..inference.upscaler import Upscaler


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn: Callable[[], object], device: torch.device) -> float:
    """Seconds ``fn()`` takes, work queued on the GPU included."""
    sync(device)
    start = time.perf_counter()
    fn()
    sync(device)
    return time.perf_counter() - start


def batch_sizes(frames: int, batch_size: int) -> list[int]:
    """The batch sizes a ``frames``-long video is cut into: full ones, then the remainder."""
    return [batch_size] * (frames // batch_size) + ([frames % batch_size] if frames % batch_size else [])


def warm_up(upscaler: Upscaler, *, width: int, height: int, sizes: list[int]) -> float:
    """One call per distinct batch shape (torch.compile compiles each); seconds taken."""
    def run():
        for n in sorted(set(sizes)):
            upscaler(torch.rand(n, 3, height, width, device=upscaler.device))
    return timed(run, upscaler.device)


def time_model(upscaler: Upscaler, *, width: int, height: int, sizes: list[int]) -> float:
    """Seconds for the network alone on device-resident batches of the given sizes."""
    inputs = {
        n: torch.rand(n, 3, height, width, device=upscaler.device, dtype=upscaler.dtype).contiguous(memory_format=upscaler.memory_format)
        for n in set(sizes)
    }

    def run():
        for n in sizes:
            upscaler(inputs[n])
    return timed(run, upscaler.device)


def cpu_seconds() -> float:
    """CPU seconds (user + system) used so far by this process and its waited-for children.

    On a shared machine wall-clock fps depend on the other work; CPU seconds per frame depend on
    it much less, so they show what a change saves even when the clocks are noisy."""
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def clocked(fn: Callable[[], float]) -> tuple[float, float]:
    """``(fn(), CPU seconds it used)`` for an ``fn`` that returns its own wall seconds."""
    start = cpu_seconds()
    wall = fn()
    return wall, cpu_seconds() - start
