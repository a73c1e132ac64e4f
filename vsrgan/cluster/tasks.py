"""Ray, for the segment jobs: connecting, and the tasks of many videos' segments in flight at once.

Ray is imported here, inside the functions, and only when ``--cluster`` is given. The model is
put in the object store once (:func:`open_tasks`); every task gets a reference, not a copy. A
task whose worker dies (a killed process, a lost machine) is run again by Ray, up to
``TASK_RETRIES`` times; the segment it rewrites is written atomically, so a half-written one is
never taken for a finished one. At most ``window`` tasks are submitted at a time, so a batch of
a thousand videos neither floods the scheduler nor waits for every video to be planned.
"""

import contextlib
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from ..errors import ConfigError, VsrganError
from ..options import JobOptions
from .segments import Segment
from .workdir import segment_path
from .worker import task_options, upscale_segment

TASK_RETRIES = 3  # a lost worker's task runs again, up to this many times
WINDOW_PER_CPU = 4  # tasks in flight per CPU of the cluster: enough to keep every worker fed


@dataclass(eq=False)  # compared by identity: each is one video of one job
class VideoJob:
    input: Path
    output: Path
    folder: Path  # the work folder, OUT.parts/
    segments: list[Segment]  # all of them, in order
    todo: list[Segment]  # those not finished yet
    rotation: int
    model: dict | None = None  # its packed model, if not the tasks' own (--denoise auto: a strength per input)


@dataclass(frozen=True)
class Finished:
    job: VideoJob
    segment: Segment
    error: VsrganError | None  # None: the segment is in its file


def connect(address: str, *, num_cpus: int | None = None) -> bool:
    """Join Ray: ``auto`` starts one on this machine, ``ray://host:port`` connects to one; True if we started it.

    A Ray already initialised in this process (a notebook, a test) is used as it is.
    """
    try:
        import ray
    except ImportError:
        raise ConfigError("--cluster needs Ray: pip install 'vsrgan[cluster]' (or pip install 'ray[default]')") from None
    if ray.is_initialized():
        return False
    if address == "auto":
        # Ray starts its workers at niceness +15 below the driver's, so that its own daemons stay
        # responsive; on a machine with other work that starves the job (0.3 of 2 cores, measured
        # beside a training run at nice 10). The segments run at the priority the job was started with.
        ray.init(num_cpus=num_cpus, include_dashboard=False, logging_level="warning", log_to_driver=False,
                 _system_config={"worker_niceness": 0})
        return True
    if not address.startswith("ray://"):
        raise ConfigError(f"--cluster must be 'auto' or 'ray://host:port', got '{address}'")
    ray.init(address=address, logging_level="warning")
    return True


@contextlib.contextmanager
def open_tasks(packed_model: dict, options: JobOptions, *, address: str = "auto", num_cpus: int | None = None,
               segments_per_gpu: int | None = None) -> Iterator["Tasks"]:
    """Connect to Ray at ``address`` (:func:`connect`), hold the model in its object store, shut down
    a Ray we started. Every segment is upscaled as ``options`` say (:func:`worker.upscale_segment`)."""
    started = connect(address, num_cpus=num_cpus)
    try:
        import ray

        yield Tasks(ray, packed_model, options, segments_per_gpu=segments_per_gpu)
    finally:
        if started:
            ray.shutdown()


class Tasks:
    """Segments waiting, tasks in flight, and what finished: ``submit`` a video, then take ``finished`` until not ``busy``."""

    def __init__(self, ray, packed_model: dict, options: JobOptions, *, segments_per_gpu: int | None = None):
        self.ray = ray
        resources = ray.cluster_resources()
        gpu_share, options = gpu_tasks(options, resources, segments_per_gpu or auto_segments_per_gpu(packed_model))
        self.options = task_options(options)  # each task holds the CPUs its thread budget uses
        # max_calls=0: a worker runs any number of tasks, with a GPU too (Ray's default there is 1, a new
        # process, CUDA context and model for every segment: 9 s each at 540p -> 4K on an H200, measured)
        self.task = ray.remote(max_retries=TASK_RETRIES, max_calls=0, num_cpus=self.options.model.threads,
                               num_gpus=gpu_share)(upscale_segment)
        self.model = ray.put(packed_model)  # once: every task gets the reference
        self.blends: dict[int, object] = {}  # id of a video's own packed model -> its reference (--denoise auto)
        self.window = max(int(resources.get("CPU", 1) * WINDOW_PER_CPU), 8)
        self.waiting: deque[tuple[VideoJob, Segment]] = deque()
        self.running: dict = {}  # ObjectRef -> (VideoJob, Segment)

    @property
    def busy(self) -> bool:
        return bool(self.waiting or self.running)

    def submit(self, job: VideoJob) -> None:
        self.waiting.extend((job, s) for s in job.todo)
        self._fill()

    def finished(self, *, block: bool = True) -> list[Finished]:
        """The tasks that finished (at least one if ``block``, else perhaps none); more are started in their place."""
        if not self.running:
            return []
        refs = list(self.running)
        done, _ = self.ray.wait(refs, num_returns=1) if block else self.ray.wait(refs, num_returns=len(refs), timeout=0)
        results = []
        for ref in done:
            job, segment = self.running.pop(ref)
            try:
                self.ray.get(ref)
                results.append(Finished(job, segment, None))
            except self.ray.exceptions.RayError as e:
                results.append(Finished(job, segment, _segment_error(e, job, segment)))
        self._fill()
        return results

    def cancel(self, job: VideoJob) -> int:
        """Drop ``job``'s waiting and running segments (after one failed); return how many frames they held."""
        frames = 0
        for entry in [e for e in self.waiting if e[0] is job]:
            self.waiting.remove(entry)
            frames += entry[1].frames
        for ref in [r for r, (j, _) in self.running.items() if j is job]:
            self.ray.cancel(ref)
            frames += self.running.pop(ref)[1].frames
        return frames

    def _fill(self) -> None:
        while self.waiting and len(self.running) < self.window:
            job, s = self.waiting.popleft()
            ref = self.task.remote(self._model(job), str(job.input.resolve()), s, str(segment_path(job.folder, s).resolve()),
                                   self.options)
            self.running[ref] = (job, s)


    def _model(self, job: VideoJob):
        """The object-store reference to ``job``'s model, each packed model put there once."""
        if job.model is None:
            return self.model
        if id(job.model) not in self.blends:
            self.blends[id(job.model)] = self.ray.put(job.model)
        return self.blends[id(job.model)]


SMALL_MODEL = 2_000_000  # parameters: a smaller model shares each GPU SMALL_MODEL_SHARES ways unless told otherwise
SMALL_MODEL_SHARES = 4


def auto_segments_per_gpu(packed_model: dict) -> int:
    """``--segments-per-gpu auto``: 4 for a model of under 2M parameters, 1 for a larger one.

    Measured on one H200 at 540p -> 4K (BENCHMARKS.md, "Segments sharing the GPU"): x4 (163k
    parameters) ran 1.62x faster shared 4 ways and 1.79x 8 ways, its encoders the bound; an RRDBNet
    of Real-ESRGAN x4plus's size (16.7M) 1.07x shared 2 ways, the GPU itself the bound, so there
    each more worker only holds another copy of the model and its activations."""
    parameters = sum(t.numel() for t in packed_model.get("state", {}).values())  # bicubic: none
    return SMALL_MODEL_SHARES if parameters < SMALL_MODEL else 1


def gpu_tasks(options: JobOptions, resources: dict, segments_per_gpu: int) -> tuple[float, JobOptions]:
    """The share of a GPU each task holds (0 on a cluster without GPUs) and the options it runs with.

    A GPU is shared by ``segments_per_gpu`` tasks at once, each with its own decoder and encoder:
    at 4K one libx264 encoder, not the GPU, is the bound (BENCHMARKS.md). Unless ``--threads`` says
    otherwise, the CPUs are split evenly between the tasks that can run (every core of the cluster
    busy), instead of one per task as without GPUs, where the model needs them."""
    gpus, cpus = resources.get("GPU", 0), resources.get("CPU", 1)
    if gpus < 1:
        return 0, options
    if options.model.threads is None:
        threads = max(1, int(cpus // (int(gpus) * segments_per_gpu)))
        options = replace(options, model=replace(options.model, threads=threads))
    return 1 / segments_per_gpu, options


def _segment_error(error: Exception, job: VideoJob, segment: Segment) -> VsrganError:
    cause = getattr(error, "cause", None)  # a RayTaskError carries what the task raised
    if isinstance(cause, VsrganError):
        return cause
    what = repr(cause) if cause is not None else f"{type(error).__name__} (after {TASK_RETRIES} retries)"
    return VsrganError(f"segment {segment.index} of '{job.input}' failed on the cluster: {what}")
