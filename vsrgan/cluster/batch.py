"""Many videos on Ray: every video's segments are tasks of one job, each video joined as soon as its last segment is in.

    vsrgan.batch.plan_batch --Item--> job.ClusterJob.prepare --VideoJob--> tasks.Tasks (all videos'
    segments, a window at a time) --every segment of a video done--> ClusterJob.finish --> BatchReport

A video that cannot be read, or whose segment fails (after Ray's retries), is recorded with its
reason; its other segments are cancelled and the rest of the batch goes on. Its finished
segments stay in its work folder, so running the same command again makes only what is missing.
"""

from ..batch import BatchReport, Item, Progress, stopped_note
from ..io.stop import Stopped
from ..options import JobOptions
from .job import ClusterJob, ClusterOptions
from .tasks import Finished, Tasks, VideoJob


def upscale_batch_on_cluster(
    items: list[Item],
    report: BatchReport,
    options: JobOptions | None = None,
    cluster: ClusterOptions | None = None,
) -> BatchReport:
    """Upscale every item's video on Ray, as ``options`` say; failures go into ``report``, which is returned.

    Each task runs the model on ``options.model.threads`` CPUs of its own, shared by its model and
    its encoder (None: 1, one task per core)."""
    run = ClusterJob.start(options or JobOptions(), cluster or ClusterOptions())
    left: dict[VideoJob, int] = {}  # segments still to come, per video

    def fail(input, error, bar: Progress) -> None:
        report.fail(input, error)
        bar.note(f"{input}: {report.failed[-1][1]}")

    def finish(job: VideoJob, bar: Progress) -> None:
        try:
            run.finish(job)
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

    with run.running(f"{len(items)} videos on Ray") as (bar, tasks):
        try:
            for item in items:  # plan each video and start its segments; take what finished meanwhile
                try:
                    job = run.prepare(item.input, item.output)
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
