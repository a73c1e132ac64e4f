"""Many videos on Ray: every video's segments are tasks of one job, each video joined as soon as its last segment is in.

    vsrgan.batch.plan_batch --Item--> run.prepare_video --VideoJob--> tasks.Tasks (all videos' segments,
    a window at a time) --every segment of a video done--> run.finish_video --> BatchReport

A video that cannot be read, or whose segment fails (after Ray's retries), is recorded with its
reason; its other segments are cancelled and the rest of the batch goes on. Its finished
segments stay in its work folder, so running the same command again makes only what is missing.
"""

from ..batch import BatchReport, Item, Progress, stopped_note
from ..errors import ConfigError
from ..inference.upscaler import ModelOptions
from ..io.encoding import EncodeOptions
from ..io.stop import Stopped
from .run import check_video_request, finish_video, job_settings, pack_model_checked, prepare_video
from .tasks import Finished, Tasks, VideoJob, open_tasks


def upscale_batch_on_cluster(
    items: list[Item],
    report: BatchReport,
    options: ModelOptions | None = None,
    *,
    cluster: str = "auto",
    num_cpus: int | None = None,
    encode: EncodeOptions | None = None,
    segment_frames: int = 120,
    overwrite: bool = False,
    progress: bool = True,
) -> BatchReport:
    """Upscale every item's video on Ray; failures go into ``report``, which is returned.

    Each task runs the model as ``options`` say, on ``options.threads`` CPUs of its own, shared by its
    model and its encoder (None: 1, one task per core)."""
    options, encode = options or ModelOptions(), encode or EncodeOptions()
    if segment_frames < 1:
        raise ConfigError(f"--segment-frames must be at least 1, got {segment_frames}")
    packed = pack_model_checked(options)
    settings = job_settings(encode, options)
    left: dict[VideoJob, int] = {}  # segments still to come, per video

    def fail(input, error, bar: Progress) -> None:
        report.fail(input, error)
        bar.note(f"{input}: {report.failed[-1][1]}")

    def finish(job: VideoJob, bar: Progress) -> None:
        try:
            finish_video(job, overwrite=overwrite)
            report.written.append(job.output)
        except Exception as e:
            fail(job.input, e, bar)

    def take(done: Finished, tasks: Tasks, bar: Progress) -> None:
        if done.job not in left:
            return  # a segment of a video that has already failed
        if done.error is not None:
            fail(done.job.input, done.error, bar)
            bar.expect(-done.segment.frames - tasks.cancel(done.job))
            del left[done.job]
            return
        bar.advance(done.segment.frames)
        left[done.job] -= 1
        if not left[done.job]:
            del left[done.job]
            finish(done.job, bar)

    with Progress(desc=f"{len(items)} videos on Ray", enabled=progress) as bar, \
         open_tasks(packed, cluster=cluster, num_cpus=num_cpus, options=options, encode=encode) as tasks:
        try:
            for item in items:  # plan each video and start its segments; take what finished meanwhile
                try:
                    check_video_request(item.input, item.output, overwrite=overwrite)
                    job = prepare_video(item.input, item.output, packed=packed, settings=settings,
                                        segment_frames=segment_frames, overwrite=overwrite)
                except Exception as e:
                    fail(item.input, e, bar)
                    continue
                if not job.todo:  # every segment kept from an interrupted run
                    finish(job, bar)
                    continue
                left[job] = len(job.todo)
                bar.expect(sum(s.frames for s in job.todo))
                tasks.submit(job)
                for done in tasks.finished(block=False):
                    take(done, tasks, bar)
            while tasks.busy:
                for done in tasks.finished():
                    take(done, tasks, bar)
        except Stopped as e:
            raise Stopped(e.signum, note=stopped_note(report, items[0].output.parent) + " (finished segments are kept)") from None
    return report
