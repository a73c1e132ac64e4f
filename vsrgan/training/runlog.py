"""What a run writes as it goes: ``metrics.jsonl`` (one JSON record a line), TensorBoard, and its clock.

:class:`RunLog` is a context manager: the records file and the TensorBoard writer are closed
when the loop ends, however it ends. Only rank 0 writes; on other ranks every method does nothing.
"""

import json
import logging
import time
from pathlib import Path

import torch
import torch.distributed as dist

from ..io.atomic import atomic_path
from .curve import read_records

log = logging.getLogger(__name__)

TIME_CHECK_EVERY = 20  # under DDP, steps between agreeing to stop (time limit or signal; one all-reduce each)


class Clock:
    """CPU-hours and wall-hours of a run, earlier chunks (``spent``, seconds) included, and its limits:
    ``minutes`` of this chunk's wall time, ``cpu_hours`` of the whole run's CPU time (0: none)."""

    def __init__(self, spent: dict[str, float], *, minutes: float, world: int, device: torch.device, cpu_hours: float = 0.0):
        self.spent = spent
        self.minutes, self.cpu_hours, self.world, self.device = minutes, cpu_hours, world, device
        self.cpu_started, self.wall_started = time.process_time(), time.monotonic()
        self.loop_started = self.wall_started

    def start(self) -> None:
        """The time limit counts from here: the first step (setup and the baseline are not counted)."""
        self.loop_started = time.monotonic()

    def hours(self) -> dict[str, float]:
        """CPU-hours (this process, all threads) and wall-hours of the whole run."""
        return {
            "cpu": (self.spent["cpu"] + time.process_time() - self.cpu_started) / 3600,
            "wall": (self.spent["wall"] + time.monotonic() - self.wall_started) / 3600,
        }

    def seconds(self) -> dict[str, float]:
        """What a checkpoint stores as ``spent``."""
        return {key: value * 3600 for key, value in self.hours().items()}

    def budget_spent(self) -> bool:
        """Whether the run has used its ``train.cpu_hours`` (CPU time is this process's, all threads:
        a budget that other work on the machine does not eat, unlike wall minutes)."""
        return self.cpu_hours > 0 and self.hours()["cpu"] >= self.cpu_hours

    def should_stop(self, step: int, *, signalled: bool = False) -> bool:
        """Whether to stop after ``step``: ``train.minutes`` has passed since this chunk started, the
        run's ``train.cpu_hours`` are spent, or a signal asked to stop (``signalled``, :mod:`vsrgan.io.stop`).

        One process reads the host clock: no device round-trip. Under DDP every process must stop
        at the same step, so every ``TIME_CHECK_EVERY`` steps they agree on rank 0's clock and any
        rank's signal (an all-reduce, the only sync this adds)."""
        late = (self.minutes > 0 and time.monotonic() - self.loop_started > self.minutes * 60) or self.budget_spent()
        if self.world == 1:
            return late or signalled
        if step % TIME_CHECK_EVERY:
            return False
        flag = torch.tensor(float((late and dist.get_rank() == 0) or signalled), device=self.device)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        return bool(flag)


def open_writer(folder: Path, enabled: bool):
    """A TensorBoard SummaryWriter, or None when off or not installed."""
    if not enabled:
        return None
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        log.warning("tensorboard is not installed; training without TensorBoard logs (pip install tensorboard)")
        return None
    return SummaryWriter(str(folder))


class RunLog:
    """``with RunLog(run, clock, tensorboard=..., enabled=rank == 0) as runlog: runlog.record(step, {...})``."""

    def __init__(self, run: Path, clock: Clock, *, tensorboard: bool, enabled: bool, resumed_at: int | None = None):
        self.run, self.clock, self.tensorboard, self.enabled = run, clock, tensorboard, enabled
        self.resumed_at = resumed_at  # the checkpoint's step, when resuming: later records are dropped, the run makes them again
        self.records = None
        self.writer = None

    def __enter__(self) -> "RunLog":
        if self.enabled:
            self.writer = open_writer(self.run / "tb", self.tensorboard)
            path = self.run / "metrics.jsonl"
            if self.resumed_at is not None and path.is_file():
                _cut(path, self.resumed_at)
            self.records = open(path, "a")
        return self

    def __exit__(self, *exc) -> None:
        if self.records is not None:
            self.records.close()
        if self.writer is not None:
            self.writer.close()

    def record(self, step: int, values: dict[str, float]) -> None:
        """One line of metrics.jsonl (with the hours so far), and each value as a TensorBoard scalar."""
        if self.records is None:
            return
        h = self.clock.hours()
        self.records.write(json.dumps({"step": step, **values, "time/cpu_hours": round(h["cpu"], 5), "time/wall_hours": round(h["wall"], 5)}) + "\n")
        self.records.flush()
        for key, value in values.items():
            if self.writer is not None:
                self.writer.add_scalar(key, value, step)

    def image(self, key: str, image: torch.Tensor, step: int) -> None:
        if self.writer is not None:
            self.writer.add_image(key, image, step)


def _cut(path: Path, step: int) -> None:
    """Drop the records of ``path`` after ``step`` (and lines cut short by a crash): a run stopped past
    its last checkpoint logged steps that its resumed run takes again."""
    kept = [r for r in read_records(path) if r.get("step", step + 1) <= step]
    with atomic_path(path, overwrite=True) as tmp:
        tmp.write_text("".join(json.dumps(r) + "\n" for r in kept))
