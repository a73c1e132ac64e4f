"""What the cluster's one-video job (:mod:`.run`) and many-video job (:mod:`.batch`) share.

    ClusterJob.start(JobOptions, ClusterOptions): the model packed once, its settings recorded
      .prepare(input, output) --VideoJob (segments, those still to make, its model)--> .running(): Ray tasks + one bar
      .finish(VideoJob): segments joined with the input's audio --atomic rename--> OUT

A video's work folder (OUT.parts/) records the model's fingerprint and every setting that changes
a segment's pixels or packets, so a job run again keeps only segments made the same way.
"""

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..batch import Progress
from ..errors import ConfigError, InputError
from ..inference.upscaler import ModelOptions
from ..io.atomic import check_output
from ..io.encoding import keeps_rotation
from ..io.images import is_image
from ..io.video import probe
from ..options import JobOptions
from ..upscale import warn_if_interlaced
from .join import join_segments
from .segments import keyframe_index, plan_segments
from .tasks import Tasks, VideoJob, open_tasks
from .workdir import job_manifest, missing, open_work_folder, remove_work_folder, segment_path, work_folder
from .worker import model_digest, pack_model

# Outputs that keep no timestamps (AVI, Y4M: vsrgan.io.writer.CONSTANT_RATE_FORMATS): segments cannot be joined into them.
CONSTANT_RATE_SUFFIXES = (".avi", ".y4m")


@dataclass(frozen=True)
class ClusterOptions:
    """Where the segments run and how long they are: ``--cluster``, ``--num-cpus``, ``--segment-frames``
    and ``--segments-per-gpu``."""

    address: str = "auto"  # auto: a Ray started on this machine; ray://host:port: a running one
    num_cpus: int | None = None  # with auto: segments at once (None: every core)
    segment_frames: int = 120  # at least this many frames per segment (cut at keyframes)
    segments_per_gpu: int | None = None  # on machines with GPUs: segments sharing one GPU at once, each with its
    # own encoder; None: by the model's size (tasks.auto_segments_per_gpu)

    def __post_init__(self):
        if self.segment_frames < 1:
            raise ConfigError(f"--segment-frames must be at least 1, got {self.segment_frames}")
        if self.segments_per_gpu is not None and self.segments_per_gpu < 1:
            raise ConfigError(f"--segments-per-gpu must be at least 1, got {self.segments_per_gpu}")


@dataclass(frozen=True)
class ClusterJob:
    options: JobOptions
    cluster: ClusterOptions
    packed: dict  # the model as plain data (worker.pack_model)
    settings: dict  # what the work folders record besides the model
    blends: dict = field(default_factory=dict)  # --denoise auto: strength -> the model packed at it, as inputs ask

    @classmethod
    def start(cls, options: JobOptions, cluster: ClusterOptions) -> "ClusterJob":
        """Load and pack ``options.model``'s model, its scale checked: the one copy every task reads
        (with ``--denoise auto``, the one of inputs whose compression is unknown)."""
        settings = {"encode": vars(options.encode), "tile": options.model.tile, "precision": options.model.precision}
        return cls(options, cluster, packed_model(options.model), settings)

    def model_for(self, input: Path) -> dict:
        """The packed model that upscales ``input``: the job's, or under ``--denoise auto`` the blend
        at the strength its compression asks for (:meth:`ModelOptions.for_input`)."""
        model = self.options.model.for_input(input)
        if model == self.options.model:
            return self.packed
        if model.denoise not in self.blends:
            self.blends[model.denoise] = packed_model(model)
        return self.blends[model.denoise]

    def prepare(self, input: Path, output: Path) -> VideoJob:
        """Check, probe and cut ``input``, open its work folder (keeping segments made for this same job): what is left to do."""
        check_video_request(input, output, overwrite=self.options.overwrite)
        info = probe(input)
        if info.rotation and not keeps_rotation(output):  # upscale turns the frames upright there; the segments are not turned
            raise InputError(f"--cluster cannot write '{input}' into '{output}': it is tagged to be shown turned {info.rotation} "
                             f"degrees and {output.suffix or 'that container'} records no rotation, so it would play sideways; "
                             "write .mkv or .mp4, or drop --cluster")
        warn_if_interlaced(input, info)
        segments = plan_segments(keyframe_index(input), min_frames=self.cluster.segment_frames)
        folder = work_folder(output)
        packed = self.model_for(input)
        open_work_folder(folder, job_manifest(input, model=model_digest(packed), settings=self.settings, segments=segments))
        return VideoJob(input=input, output=output, folder=folder, segments=segments, todo=missing(folder, segments),
                        rotation=info.rotation, model=None if packed is self.packed else packed)

    @contextlib.contextmanager
    def running(self, desc: str, total: int = 0) -> Iterator[tuple[Progress, Tasks]]:
        """Ray connected with the model in its object store (:func:`.tasks.open_tasks`), and one progress bar of ``total`` frames."""
        with Progress(total=total, desc=desc, enabled=self.options.progress) as bar, \
             open_tasks(self.packed, self.options, address=self.cluster.address, num_cpus=self.cluster.num_cpus,
                        segments_per_gpu=self.cluster.segments_per_gpu) as tasks:
            yield bar, tasks

    def finish(self, job: VideoJob) -> None:
        """Join every segment of ``job`` with the input's audio into the output; remove the work folder."""
        parts = [segment_path(job.folder, s) for s in job.segments]
        join_segments(parts, job.input, job.output, rotation=job.rotation, overwrite=self.options.overwrite)
        remove_work_folder(job.folder)


def packed_model(model: ModelOptions) -> dict:
    """``model``'s network loaded, its scale checked, and packed for the tasks (a blend travels as its own weights)."""
    return pack_model(model.load())


def check_video_request(input: Path, output: Path, *, overwrite: bool) -> None:
    if not input.exists():
        raise InputError(f"'{input}' does not exist; expected a video file")
    if is_image(input) or is_image(output):
        raise InputError(f"--cluster upscales videos; '{input}' -> '{output}' is an image: drop --cluster")
    if output.suffix.lower() in CONSTANT_RATE_SUFFIXES:
        raise InputError(f"--cluster cannot write '{output}': its segments are joined by their timestamps, which "
                         f"{output.suffix} does not keep; write .mkv or .mp4, or drop --cluster")
    check_output(output, overwrite=overwrite, inputs=(input,))
