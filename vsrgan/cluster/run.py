"""The cluster job: one video, cut at keyframes, upscaled segment by segment on Ray, then joined.

    job.ClusterJob.prepare --Segment--> Ray task: worker.upscale_segment --OUT.parts/part-N.mp4-->
    ClusterJob.finish: join.join_segments (+ the input's audio and subtitles) --atomic rename--> OUT

A job stopped any way but a lost worker (which Ray retries) keeps its finished segments, and the
same command run again makes only the missing ones. Many videos: :mod:`.batch`.
"""

from pathlib import Path

from ..options import JobOptions
from .job import ClusterJob, ClusterOptions


def upscale_on_cluster(
    input: str | Path,
    output: str | Path,
    options: JobOptions | None = None,
    cluster: ClusterOptions | None = None,
) -> Path:
    """Upscale the video ``input`` into ``output`` on Ray, as ``options`` say, in segments of at least
    ``cluster.segment_frames`` frames.

    Each task runs the model on ``options.model.threads`` CPUs of its own, shared by its model and
    its encoder (None: 1, one task per core)."""
    input, output = Path(input), Path(output)
    run = ClusterJob.start(options or JobOptions(), cluster or ClusterOptions())
    job = run.prepare(input, output)
    if job.todo:  # else every segment was kept from an interrupted run: no Ray needed
        with run.running(f"{input.name} ({len(job.todo)} segments)", total=sum(s.frames for s in job.todo)) as (bar, tasks):
            tasks.submit(job)
            while tasks.busy:
                for done in tasks.finished():
                    if done.error is not None:
                        tasks.cancel(job)
                        raise done.error
                    bar.advance(done.segment.frames)
    run.finish(job)
    return output
