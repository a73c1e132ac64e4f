"""The cluster job: one video, cut at keyframes, upscaled segment by segment on Ray, then joined.

    segments.plan_segments --Segment--> Ray task: worker.upscale_segment --OUT.parts/part-N.mp4-->
    join.join_segments (+ the input's audio and subtitles) --atomic rename--> OUT

Ray is imported here, inside the functions, and only when ``--cluster`` is given. The model is
put in the object store once (:func:`worker.pack_model`); every task gets a reference. A task
whose worker dies is retried by Ray (``max_retries``); a job stopped any other way keeps its
finished segments, and the same command run again makes only the missing ones.
"""

from pathlib import Path

from tqdm import tqdm

from ..atomic import check_output
from ..errors import ConfigError, InputError, VsrganError
from ..images import is_image
from ..models import default_model, load_model
from ..video import EncodeOptions, probe
from .join import join_segments
from .segments import keyframe_index, plan_segments
from .workdir import job_manifest, missing, open_work_folder, remove_work_folder, segment_path, work_folder
from .worker import model_digest, pack_model, upscale_segment

TASK_RETRIES = 3  # a lost worker's task runs again, up to this many times


def connect(cluster: str, *, num_cpus: int | None = None) -> bool:
    """Join Ray: ``auto`` starts one on this machine, ``ray://host:port`` connects to one; True if we started it.

    A Ray already initialised in this process (a notebook, a test) is used as it is.
    """
    try:
        import ray
    except ImportError:
        raise ConfigError("--cluster needs Ray: pip install 'vsrgan[cluster]' (or pip install 'ray[default]')") from None
    if ray.is_initialized():
        return False
    if cluster == "auto":
        ray.init(num_cpus=num_cpus, include_dashboard=False, logging_level="warning", log_to_driver=False)
        return True
    if not cluster.startswith("ray://"):
        raise ConfigError(f"--cluster must be 'auto' or 'ray://host:port', got '{cluster}'")
    ray.init(address=cluster, logging_level="warning")
    return True


def upscale_on_cluster(
    input: str | Path,
    output: str | Path,
    *,
    cluster: str = "auto",
    num_cpus: int | None = None,
    model: str | None = None,
    scale: int | None = None,
    tile: int = 0,
    batch_size: int = 4,
    device: str = "auto",
    precision: str = "auto",
    encode: EncodeOptions | None = None,
    segment_frames: int = 120,
    overwrite: bool = False,
    progress: bool = True,
) -> Path:
    """Upscale the video ``input`` into ``output`` on Ray, in segments of at least ``segment_frames`` frames."""
    input, output = Path(input), Path(output)
    encode = encode or EncodeOptions()
    if not input.exists():
        raise InputError(f"'{input}' does not exist; expected a video file")
    if is_image(input) or is_image(output):
        raise InputError(f"--cluster upscales videos; '{input}' -> '{output}' is an image: drop --cluster")
    if segment_frames < 1:
        raise ConfigError(f"--segment-frames must be at least 1, got {segment_frames}")
    check_output(output, overwrite=overwrite, inputs=(input,))
    model = model or default_model()
    net = load_model(model, scale=scale)
    if scale is not None and net.scale != scale:
        raise ConfigError(f"model '{model}' upscales x{net.scale}; asked for x{scale}")
    packed = pack_model(net)
    info = probe(input)
    segments = plan_segments(keyframe_index(input), min_frames=segment_frames)
    folder = work_folder(output)
    settings = {"encode": vars(encode), "tile": tile, "precision": precision}
    open_work_folder(folder, job_manifest(input, model=model_digest(packed), settings=settings, segments=segments))
    todo = missing(folder, segments)
    if todo:
        _run_tasks(todo, packed, input, folder, cluster=cluster, num_cpus=num_cpus, encode=encode,
                   device=device, precision=precision, tile=tile, batch_size=batch_size, progress=progress)
    parts = [segment_path(folder, s) for s in segments]
    join_segments(parts, input, output, rotation=info.rotation, overwrite=overwrite)
    remove_work_folder(folder)
    return output


def _run_tasks(todo, packed, input, folder, *, cluster, num_cpus, progress, **options) -> None:
    import ray

    started = connect(cluster, num_cpus=num_cpus)
    try:
        gpus = 1 if ray.cluster_resources().get("GPU", 0) >= 1 else 0  # a GPU per task where the cluster has them
        task = ray.remote(max_retries=TASK_RETRIES, num_cpus=1, num_gpus=gpus)(upscale_segment)
        model_ref = ray.put(packed)  # once: every task gets the reference, not a copy
        pending = {
            task.remote(model_ref, str(input.resolve()), s, str(segment_path(folder, s).resolve()), **options): s
            for s in todo
        }
        with tqdm(total=sum(s.frames for s in todo), unit="frame", disable=not progress,
                  desc=f"{input.name} ({len(todo)} segments)", dynamic_ncols=True, delay=0.5) as bar:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                segment = pending.pop(done[0])
                try:
                    ray.get(done[0])
                except ray.exceptions.RayTaskError as e:
                    for ref in pending:
                        ray.cancel(ref)
                    cause = e.cause
                    if isinstance(cause, VsrganError):
                        raise cause from None
                    raise VsrganError(f"segment {segment.index} of '{input}' failed on the cluster: {cause!r}") from None
                bar.update(segment.frames)
    finally:
        if started:
            ray.shutdown()
