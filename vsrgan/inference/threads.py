"""One thread budget for a job, shared by the model's kernels, the encoder and the decoder.

Left alone, each library sizes its thread pool to the whole machine: PyTorch's intra-op pool
(one thread per core), x264 (1.5 threads per core, plus lookahead threads) and FFmpeg's decoder
(one per core, plus one). On a CPU that runs the model too, they then fight for the same cores:
every time the encoder preempts one of PyTorch's threads, the others wait for it at the end of
the convolution, and the model, the slowest stage, slows down. The budget decides once:

    model on the CPU:   model = all the cores; encoder = half of them; decoder = 1
                        (the encoder runs about a tenth of the time and is never the bound)
    model on a GPU:     model = 1 (host-side work only); encoder = all the cores; decoder = 2

``--threads N`` sets the budget's size (default: the cores this process may run on).
"""

import os
from dataclasses import dataclass

import torch

from ..errors import ConfigError


@dataclass(frozen=True)
class ThreadBudget:
    """Threads per stage. 0 for a codec means FFmpeg's own choice."""

    model: int  # PyTorch intra-op threads (and ONNX Runtime's / OpenVINO's, for those backends)
    encoder: int  # the video encoder's threads (x264: frame threads)
    decoder: int  # the video decoder's threads

    def __post_init__(self):
        if min(self.model, self.encoder, self.decoder) < 0 or self.model < 1:
            raise ConfigError(f"a thread budget needs at least one model thread and no negative counts, got {self}")


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity, as taskset or a container limits it)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


def plan_threads(threads: int | None = None, *, device: torch.device | str = "cpu") -> ThreadBudget:
    """The budget for ``threads`` threads (None: :func:`available_cores`) with the model on ``device``."""
    if threads is not None and threads < 1:
        raise ConfigError(f"--threads must be at least 1, got {threads}")
    n = threads or available_cores()
    if torch.device(device).type == "cpu":
        return ThreadBudget(model=n, encoder=max(1, n // 2), decoder=1)
    return ThreadBudget(model=1, encoder=n, decoder=min(n, 2))


def use_threads(threads: int | None = None, *, device: torch.device | str = "cpu") -> ThreadBudget:
    """:func:`plan_threads`, with PyTorch's intra-op pool sized to the budget's model share
    (process-wide: the last job's budget holds). A job calls this once, at its start."""
    budget = plan_threads(threads, device=device)
    if torch.get_num_threads() != budget.model:
        torch.set_num_threads(budget.model)
    return budget
