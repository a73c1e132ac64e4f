"""Decode, compute and encode at the same time: three stages joined by bounded queues.

    reader thread:  read_frames -> batches of frames   --q_in-->
    caller thread:  batch -> Upscaler -> uint8 images  --q_out-->
    writer thread:  images -> VideoWriter.write (in order, with each frame's pts and duration)

FFmpeg's decoders and encoders and PyTorch's kernels all release the GIL, so the three stages
overlap on separate cores (and, with CUDA, the GPU computes while the CPU codes). The queues
are short, so memory stays bounded however long the video. The model runs in the calling
thread, where its CUDA context lives. If any stage fails, or the caller is interrupted, the
others stop at their next frame and the first error is raised in the caller.

Pass a :class:`StageTimes` to learn where the time went: each stage's busy seconds (wall clock
spent working, not waiting on a queue) and the CPU seconds of its own thread (the libraries'
worker threads, x264's or PyTorch's, are not in it).
"""

import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from ..io import events
from ..io import stop as signals
from ..io.video import Frame

_DONE = object()  # end-of-stream marker on a queue
STAGES = ("decode", "model", "encode")


@dataclass
class StageTimes:
    """Seconds per stage (``decode``, ``model``, ``encode``), filled by :func:`run_pipeline`."""

    busy: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))  # wall clock working
    cpu: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))  # the stage thread's CPU time

    def timed(self, stage: str, fn: Callable, *args):
        """``fn(*args)``, its wall and thread CPU time added to ``stage``."""
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            return fn(*args)
        finally:
            self.busy[stage] += time.perf_counter() - wall
            self.cpu[stage] += time.thread_time() - cpu


class _Stage(threading.Thread):
    """A daemon thread that records the exception that ended it."""

    def __init__(self, target: Callable[[], None], name: str):
        super().__init__(name=name, daemon=True)
        self._target_fn = target
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self._target_fn()
        except BaseException as e:  # noqa: BLE001 - handed to the caller, never swallowed
            self.error = e


def _put(q: queue.Queue, item, stop: threading.Event, consumer: threading.Thread | None = None) -> bool:
    """Put unless asked to stop or the consumer has died; False then."""
    while not stop.is_set() and (consumer is None or consumer.is_alive()):
        try:
            q.put(item, timeout=0.05)
            return True
        except queue.Full:
            continue
    return False


def _get(q: queue.Queue, stop: threading.Event, producer: threading.Thread | None = None):
    """The next item; ``_DONE`` when asked to stop or the producer has died with nothing left."""
    while not stop.is_set():
        try:
            return q.get(timeout=0.05)
        except queue.Empty:
            if producer is not None and not producer.is_alive() and q.empty():
                return _DONE
    return _DONE


def run_pipeline(
    frames: Iterable[Frame],
    process: Callable[[np.ndarray], np.ndarray],
    write: Callable[[np.ndarray, int, int], None],
    *,
    batch_size: int = 4,
    depth: int = 3,
    on_batch: Callable[[int], None] | None = None,
    times: StageTimes | None = None,
) -> int:
    """Stream ``frames`` through ``process`` (uint8 (N,H,W,3) -> uint8 (N,sH,sW,3)) into ``write``.

    ``write(image, pts, duration)`` is called once per frame, in input order. ``depth`` batches may wait
    in each queue. ``times``, if given, gets each stage's busy and CPU seconds added. Returns the
    number of frames written.
    """
    times = times or StageTimes()
    stop = threading.Event()
    q_in: queue.Queue = queue.Queue(maxsize=depth)
    q_out: queue.Queue = queue.Queue(maxsize=depth)
    written = 0

    def read() -> None:
        batch: list[Frame] = []
        source = iter(frames)
        while (frame := times.timed("decode", next, source, _DONE)) is not _DONE:
            batch.append(frame)
            if len(batch) == batch_size:
                if not _put(q_in, batch, stop):
                    return
                batch = []
        if batch and not _put(q_in, batch, stop):
            return
        _put(q_in, _DONE, stop)

    def encode() -> None:
        nonlocal written
        while (item := _get(q_out, stop)) is not _DONE:
            timing, images = item
            for (pts, duration), image in zip(timing, images):
                times.timed("encode", write, image, pts, duration)
                written += 1
                if written == 1:
                    events.reached("frame-written")
            if on_batch is not None:
                on_batch(len(timing))

    reader, writer = _Stage(read, "vsrgan-decode"), _Stage(encode, "vsrgan-encode")
    reader.start()
    writer.start()
    try:
        while (batch := _get(q_in, stop, reader)) is not _DONE:
            signals.check()  # a signal whose Stopped an FFmpeg callback dropped
            images = times.timed("model", lambda: process(np.stack([f.image for f in batch])))
            if not _put(q_out, ([(f.pts, f.duration) for f in batch], images), stop, writer):
                break
        _put(q_out, _DONE, stop, writer)
        writer.join()
    except BaseException:
        stop.set()
        raise
    finally:
        stop.set()
        for stage in (reader, writer):
            stage.join(timeout=10)
    for stage in (reader, writer):
        if stage.error is not None:
            raise stage.error
    return written
