"""The cluster job: one video, cut at keyframes, upscaled segment by segment on Ray, then joined.

    segments.plan_segments --Segment--> Ray task: worker.upscale_segment --OUT.parts/part-N.mp4-->
    join.join_segments (+ the input's audio and subtitles) --atomic rename--> OUT

:func:`prepare_video` and :func:`finish_video` are the two ends, shared with the batch of many
videos (:mod:`.batch`); :mod:`.tasks` holds Ray. A job stopped any way but a lost worker (which
Ray retries) keeps its finished segments, and the same command run again makes only the missing ones.
"""

from pathlib import Path

from ..batch import Progress
from ..errors import ConfigError, InputError
from ..inference.upscaler import ModelOptions
from ..io.atomic import check_output
from ..io.encoding import EncodeOptions
from ..io.images import is_image
from ..io.video import probe
from ..models import load_model
from .join import join_segments
from .segments import keyframe_index, plan_segments
from .tasks import VideoJob, open_tasks
from .workdir import job_manifest, missing, open_work_folder, remove_work_folder, segment_path, work_folder
from .worker import model_digest, pack_model

# Outputs that keep no timestamps (AVI, Y4M: vsrgan.io.writer.CONSTANT_RATE_FORMATS): segments cannot be joined into them.
CONSTANT_RATE_SUFFIXES = (".avi", ".y4m")


def upscale_on_cluster(
    input: str | Path,
    output: str | Path,
    options: ModelOptions | None = None,
    *,
    cluster: str = "auto",
    num_cpus: int | None = None,
    encode: EncodeOptions | None = None,
    segment_frames: int = 120,
    overwrite: bool = False,
    progress: bool = True,
) -> Path:
    """Upscale the video ``input`` into ``output`` on Ray, in segments of at least ``segment_frames`` frames.

    Each task runs the model as ``options`` say, on ``options.threads`` CPUs of its own, shared by its
    model and its encoder (None: 1, one task per core)."""
    input, output = Path(input), Path(output)
    options, encode = options or ModelOptions(), encode or EncodeOptions()
    if segment_frames < 1:
        raise ConfigError(f"--segment-frames must be at least 1, got {segment_frames}")
    check_video_request(input, output, overwrite=overwrite)
    packed = pack_model_checked(options)
    job = prepare_video(input, output, packed=packed, settings=job_settings(encode, options),
                        segment_frames=segment_frames, overwrite=overwrite)
    if job.todo:
        with Progress(total=sum(s.frames for s in job.todo), desc=f"{input.name} ({len(job.todo)} segments)",
                      enabled=progress) as bar, \
             open_tasks(packed, cluster=cluster, num_cpus=num_cpus, options=options, encode=encode) as tasks:
            tasks.submit(job)
            while tasks.busy:
                for done in tasks.finished():
                    if done.error is not None:
                        tasks.cancel(job)
                        raise done.error
                    bar.advance(done.segment.frames)
    finish_video(job, overwrite=overwrite)
    return output


def check_video_request(input: Path, output: Path, *, overwrite: bool) -> None:
    if not input.exists():
        raise InputError(f"'{input}' does not exist; expected a video file")
    if is_image(input) or is_image(output):
        raise InputError(f"--cluster upscales videos; '{input}' -> '{output}' is an image: drop --cluster")
    if output.suffix.lower() in CONSTANT_RATE_SUFFIXES:
        raise InputError(f"--cluster cannot write '{output}': its segments are joined by their timestamps, which "
                         f"{output.suffix} does not keep; write .mkv or .mp4, or drop --cluster")
    check_output(output, overwrite=overwrite, inputs=(input,))


def pack_model_checked(options: ModelOptions) -> dict:
    """``options``' model as plain data for the object store (:func:`worker.pack_model`), its scale checked."""
    net = load_model(options.model_name, scale=options.scale, denoise=options.denoise)  # a blend travels as its own weights
    if options.scale is not None and net.scale != options.scale:
        raise ConfigError(f"model '{options.model_name}' upscales x{net.scale}; asked for x{options.scale}")
    return pack_model(net)


def job_settings(encode: EncodeOptions, options: ModelOptions) -> dict:
    """Every setting that changes a segment's pixels or packets (the work folder's manifest records them)."""
    return {"encode": vars(encode), "tile": options.tile, "precision": options.precision}


def prepare_video(input: Path, output: Path, *, packed: dict, settings: dict, segment_frames: int, overwrite: bool) -> VideoJob:
    """Probe and cut ``input``, open its work folder (keeping segments made for this same job): what is left to do."""
    info = probe(input)
    segments = plan_segments(keyframe_index(input), min_frames=segment_frames)
    folder = work_folder(output)
    open_work_folder(folder, job_manifest(input, model=model_digest(packed), settings=settings, segments=segments))
    return VideoJob(input=input, output=output, folder=folder, segments=segments, todo=missing(folder, segments),
                    rotation=info.rotation)


def finish_video(job: VideoJob, *, overwrite: bool) -> None:
    """Join every segment of ``job`` with the input's audio into the output; remove the work folder."""
    parts = [segment_path(job.folder, s) for s in job.segments]
    join_segments(parts, job.input, job.output, rotation=job.rotation, overwrite=overwrite)
    remove_work_folder(job.folder)
