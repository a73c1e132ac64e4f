"""Many videos in one job: a folder, a glob, a list file or several paths in, one output folder out.

    gather_inputs --paths--> plan_batch --Item(input, output)--> upscale_batch: one model, one video
    at a time (upscale.upscale_video) --> BatchReport: written, skipped, failed (one reason each)

A file that fails is recorded with its one-line reason and the job goes on with the next; the CLI
prints the report and exits non-zero if any failed. An output that already exists is skipped (and
counted as such), so running the same command again finishes an interrupted batch; ``overwrite``
redoes it. One progress bar counts the frames of the whole job, with tqdm's rate and ETA.
``vsrgan.cluster.batch`` runs the same plan as segments on Ray.
"""

import glob
import logging
from dataclasses import dataclass, field, replace
from pathlib import Path

from tqdm import tqdm

from .errors import InputError, VsrganError
from .inference.upscaler import Upscaler
from .io.atomic import check_output
from .io.images import is_image
from .io.stop import Stopped
from .io.video import VideoInfo, probe
from .options import JobOptions
from .upscale import upscale_image, upscale_video

# What a folder's videos are, by suffix (a list file or a glob takes any file it names).
VIDEO_SUFFIXES = (".mp4", ".m4v", ".mkv", ".mov", ".webm", ".avi", ".ts", ".mts", ".m2ts", ".mpg", ".mpeg",
                  ".flv", ".wmv", ".ogv", ".3gp", ".y4m")
LIST_SUFFIXES = (".txt", ".list")  # a list file: one path a line; blank lines and '#' comments skipped
GLOB_CHARACTERS = "*?["
# Containers that hold only a few video codecs: an input in one of them whose --codec it refuses is
# written as .mkv, which holds any, so one --codec serves a mixed folder. By a part of the encoder's
# name: VP8, VP9 and AV1 come as libvpx, libaom-av1, libsvtav1, av1_nvenc, vp9_qsv ...
NARROW_CONTAINERS = {".webm": ("vp8", "vp9", "libvpx", "av1"), ".y4m": ("rawvideo",), ".ogv": ("theora",)}

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Item:
    input: Path
    output: Path


@dataclass
class BatchReport:
    written: list[Path] = field(default_factory=list)  # outputs
    skipped: list[Path] = field(default_factory=list)  # outputs that existed, left as they were
    failed: list[tuple[Path, str]] = field(default_factory=list)  # (input, why), one line each

    def fail(self, input: Path, error: BaseException) -> None:
        why = str(error) if isinstance(error, VsrganError) else f"{type(error).__name__}: {error}"
        self.failed.append((input, why.splitlines()[0] if why else type(error).__name__))

    def summary(self) -> list[str]:
        why = " (their outputs exist; --overwrite redoes them)" if self.skipped else ""
        lines = [f"{len(self.written)} written, {len(self.skipped)} skipped{why}, {len(self.failed)} failed"]
        return lines + [f"failed: {input}: {why}" for input, why in self.failed]


def is_batch(source: str | Path) -> bool:
    """Whether ``source`` names many inputs: a folder, a list file, or a glob that is not itself a file."""
    path = Path(source)
    if path.is_dir():
        return True
    if path.suffix.lower() in LIST_SUFFIXES:
        return True
    return not path.exists() and any(c in str(source) for c in GLOB_CHARACTERS)


def gather_inputs(sources: list[str | Path]) -> list[Path]:
    """The input files ``sources`` name, in order, each once: a folder's videos (not its subfolders),
    a list file's lines (relative to the list's folder), a glob's matches (``**`` recurses), or a path."""
    found: list[Path] = []
    for source in sources:
        path = Path(source)
        if path.is_dir():
            videos = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)
            if not videos:
                raise InputError(f"folder '{path}' holds no videos; expected files such as {', '.join(VIDEO_SUFFIXES[:5])}")
            found += videos
        elif path.suffix.lower() in LIST_SUFFIXES:
            found += _read_list(path)
        elif not path.exists() and any(c in str(source) for c in GLOB_CHARACTERS):
            matches = sorted(Path(p) for p in glob.glob(str(source), recursive=True) if Path(p).is_file())
            if not matches:
                raise InputError(f"'{source}' matches no files; expected a glob such as 'videos/*.mp4' (quoted)")
            found += matches
        else:
            found.append(path)  # a file that does not exist fails on its own, with the others done
    seen, unique = set(), []
    for path in found:
        if path.resolve() not in seen:
            seen.add(path.resolve())
            unique.append(path)
    return unique


def _read_list(path: Path) -> list[Path]:
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"cannot read the list file '{path}' ({e}); expected a text file with one path a line") from None
    entries = [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]
    if not entries:
        raise InputError(f"list file '{path}' names no files; expected one path a line")
    return [p if p.is_absolute() else path.parent / p for p in map(Path, entries)]


def output_name(input: Path, codec: str) -> str:
    """The output's file name: the input's, or the input's as .mkv where its container cannot hold ``codec`` video."""
    allowed = NARROW_CONTAINERS.get(input.suffix.lower())
    if allowed is None or any(part in codec for part in allowed):
        return input.name
    log.warning("'%s' is written as .mkv: a %s file cannot hold %s video", input, input.suffix.lower(), codec)
    return input.with_suffix(".mkv").name


def plan_batch(inputs: list[Path], folder: str | Path, *, codec: str = "libx264", overwrite: bool = False) -> tuple[list[Item], BatchReport]:
    """An output in ``folder`` for each input (its name, its suffix: see :func:`output_name` for ``codec``);
    existing ones skipped unless ``overwrite``."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise InputError(f"output '{folder}' is a file; with many inputs the output is a folder")
    if not folder.exists() and (folder.suffix.lower() in VIDEO_SUFFIXES or is_image(folder)):
        raise InputError(f"output '{folder}' looks like a file; with many inputs the output is a folder, e.g. 'out/'")
    items, report, owners = [], BatchReport(), {}
    for input in inputs:
        output = folder / (input.name if is_image(input) else output_name(input, codec))
        if output in owners:
            report.fail(input, InputError(f"its output '{output}' is also the output of '{owners[output]}'; "
                                          "inputs in one batch need different file names"))
            continue
        owners[output] = input
        if output.exists() and not overwrite and output.resolve() != input.resolve():
            report.skipped.append(output)
            continue
        items.append(Item(input=input, output=output))
    return items, report


def expected_frames(info: VideoInfo) -> int:
    """The frame count from the header, or from duration x rate where the container has none (.mkv): for the ETA."""
    return info.num_frames or max(round(info.duration * float(info.frame_rate)), 1)


class Progress:
    """One bar for a whole job: frames done of the total, with tqdm's rate and ETA; notes printed above it."""

    def __init__(self, *, total: int = 0, desc: str, enabled: bool = True):
        self.bar = tqdm(total=total, unit="frame", desc=desc, disable=not enabled, dynamic_ncols=True, delay=0.5)
        self.enabled = enabled

    def advance(self, frames: int) -> None:
        self.bar.update(frames)

    def expect(self, frames: int) -> None:
        """``frames`` more to do (a planned video), or fewer when negative (a failed video's remainder)."""
        self.bar.total += frames
        self.bar.refresh()

    def now(self, name: str) -> None:
        """Show what is being worked on beside the bar."""
        self.bar.set_postfix_str(name, refresh=False)

    def note(self, line: str) -> None:
        if self.enabled:
            self.bar.write(f"vsrgan: {line}")

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        self.bar.close()


def stopped_note(report: BatchReport, folder: Path) -> str:
    return f"{len(report.written)} outputs were written to '{folder}'; the same command skips them and does the rest"


def upscale_batch(items: list[Item], report: BatchReport, options: JobOptions | None = None) -> BatchReport:
    """Upscale every item with the one model ``options.model`` names, one after the other; failures go into ``report``, which is returned."""
    options = options or JobOptions()
    upscalers = {options.model: Upscaler.from_options(options.model)}  # a wrong model or scale fails here, before any file
    scale = upscalers[options.model].scale
    quiet = replace(options, progress=False)  # each video's own bar: the job's one bar counts them all
    expected = {}
    with Progress(desc=f"{len(items)} files x{scale}", enabled=options.progress) as bar:
        for item in items:
            try:
                expected[item] = 1 if is_image(item.input) else expected_frames(probe(item.input))
                bar.expect(expected[item])
            except Exception as e:
                report.fail(item.input, e)
                bar.note(f"{item.input}: {report.failed[-1][1]}")
        for item in filter(expected.__contains__, items):
            done = 0

            def advance(frames: int) -> None:
                nonlocal done
                done += frames
                bar.advance(frames)
            bar.now(item.input.name)
            try:
                check_output(item.output, overwrite=options.overwrite, inputs=(item.input,))
                model = options.model.for_input(item.input)  # --denoise auto: a strength per input
                if model not in upscalers:
                    upscalers[model] = Upscaler.from_options(model)
                upscaler = upscalers[model]
                if is_image(item.input):
                    upscale_image(upscaler, item.input, item.output, overwrite=options.overwrite)
                    advance(1)
                else:
                    upscale_video(upscaler, item.input, item.output, replace(quiet, model=model), on_frames=advance)
                report.written.append(item.output)
            except Stopped as e:
                raise Stopped(e.signum, note=stopped_note(report, item.output.parent)) from None
            except Exception as e:
                report.fail(item.input, e)
                bar.note(f"{item.input}: {report.failed[-1][1]}")
            bar.expect(done - expected[item])  # the true count, or a failed file's frames that will not come
    return report
