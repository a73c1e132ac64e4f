"""``vsrgan prepare``: turn videos and image folders into a training dataset on disk.

Layout (``SCALE`` = 4 by default)::

    DATASET/manifest.json          every item: split, files, source, frame index, pts, time
    DATASET/train/hr/*.png         high-resolution frames, cropped to a multiple of SCALE
    DATASET/train/lr_xSCALE/*.png  the same frames made small by vsrgan.dataset.degrade.make_lr
    DATASET/test/hr/*.png, DATASET/test/lr_xSCALE/*.png

From a video: every ``every``-th decoded frame is kept (the seed kept every 5th: neighbours
add little), and the frames in the last ``test_seconds`` (by their timestamps) form the test
split, like the seed's last 25 seconds; ``test_fraction`` holds out that fraction of the
duration instead, for short clips. From a folder of images: a deterministic ``test_fraction``
(default 10%) of the files, chosen by a hash of their names, so adding files never moves old
ones between splits. Frames keep their real aspect ratio and are stored losslessly (PNG).

A file in an image folder that cannot be decoded stops the run with an error naming it: a
silently smaller dataset is worse than a stop. Files without an image suffix are ignored.

The dataset is written to a temporary folder beside ``out`` and renamed into place at the end,
so an interrupted run (Ctrl-C, SIGTERM, SIGHUP) or a full disk leaves no half dataset.
"""

import hashlib
import os
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from ..errors import ConfigError, InputError, VideoError
from ..io import events
from ..io.images import image_files, read_image
from ..io.stop import Stopped, at_step_boundaries, requested
from .degrade import check_degradations, crop_to_multiple, make_lr, sample_degradation, shrink
from .manifest import Manifest, ManifestItem, manifest_json, staged_dataset

FOLDER_TEST_FRACTION = 0.1  # held out of image folders when no test_fraction is given


def prepare(
    inputs: Sequence[str | Path],
    out: str | Path,
    *,
    scale: int = 4,
    every: int = 5,
    test_seconds: float = 25.0,
    test_fraction: float | None = None,
    degrade: Sequence[str] = (),
    max_short_side: int = 0,
    seed: int = 0,
    overwrite: bool = False,
    progress: bool = True,
) -> Path:
    """Write a dataset from ``inputs`` (videos and/or image folders) to ``out``; return its manifest path.

    ``max_short_side`` > 0 first shrinks every larger frame or photo (antialiased bicubic) so that
    its short side is that many pixels: large soft photos then hold detail worth learning.
    """
    out = Path(out)
    kinds = check_degradations(tuple(degrade))
    if not inputs:
        raise ConfigError("prepare needs at least one input video or image folder")
    if scale < 1 or every < 1:
        raise ConfigError(f"--scale and --every must be >= 1, got {scale} and {every}")
    if max_short_side < 0 or 0 < max_short_side < 16 * scale:
        raise ConfigError(f"--max-short-side must be 0 (off) or at least {16 * scale}, got {max_short_side}")
    if test_seconds < 0 or (test_fraction is not None and not 0 <= test_fraction < 1):
        raise ConfigError("--test-seconds must be >= 0 and --test-fraction in [0, 1)")
    if out.exists() and not (out / "manifest.json").is_file() and any(out.iterdir()):
        raise InputError(f"'{out}' exists and is not a vsrgan dataset; choose an empty or new folder")
    if out.exists() and not overwrite:
        raise InputError(f"dataset '{out}' already exists; pass --overwrite to replace it")

    with staged_dataset(out, scale) as tmp:
        items = []
        workers = os.cpu_count() or 1
        # A signal is acted on between two frames, by this thread, never inside the pool's own
        # bookkeeping (a thread it is starting would outlive the pool's shutdown and write into tmp).
        with at_step_boundaries(), ThreadPoolExecutor(max_workers=workers) as pool:  # PNG encoding and resizing release the GIL
            for number, source in enumerate(map(Path, inputs)):
                frames = _folder_images(source, test_fraction) if source.is_dir() else _video_frames(source, every, test_seconds, test_fraction)
                bar = tqdm(desc=source.name, unit="frame", disable=not progress, leave=False)
                pending: deque = deque()
                for split, image, stem, record in frames:
                    if (signum := requested()) is not None:
                        raise Stopped(signum)
                    name = f"{number:02d}_{stem}.png"  # the input's number keeps equal stems apart
                    rng = np.random.default_rng([seed, number, len(items)])
                    degradation = sample_degradation(kinds, rng) if kinds else None
                    item = ManifestItem(
                        split=split, hr=f"{split}/hr/{name}", lr=f"{split}/lr_x{scale}/{name}", **record,
                        degradation=asdict(degradation) if degradation is not None else None,
                    )
                    items.append(item)
                    pending.append(pool.submit(_write_pair, tmp, item, image, scale, degradation, max_short_side))
                    while len(pending) > 2 * workers:  # bound the frames held in memory
                        pending.popleft().result()
                        bar.update()
                for future in pending:
                    future.result()
                    bar.update()
                bar.close()
            if (signum := requested()) is not None:
                raise Stopped(signum)
        for split in ("train", "test"):
            if not any(item.split == split for item in items):
                raise ConfigError(f"no item fell in the {split} split; change --every, --test-seconds or --test-fraction")
        settings = {
            "every": every,
            "test_seconds": test_seconds if test_fraction is None else None,
            "test_fraction": test_fraction,
            "degradations": list(kinds),
            "max_short_side": max_short_side,
            "seed": seed,
        }
        (tmp / "manifest.json").write_text(manifest_json(Manifest(scale=scale, items=items, settings=settings)))
    return out / "manifest.json"


def _write_pair(root: Path, item: ManifestItem, image: np.ndarray, scale: int, degradation, max_short_side: int) -> None:
    """Save the HR frame (:func:`hr_image`) and its LR version, both PNG."""
    hr = hr_image(image, scale, max_short_side)
    lr = make_lr(hr, scale, degradation)
    for relative, array in ((item.hr, hr), (item.lr, lr)):
        Image.fromarray(array).save(root / relative, compress_level=1)  # lossless; level 1: fast, a bit larger
    events.reached("pair-written")


def hr_image(image: np.ndarray, scale: int, max_short_side: int) -> np.ndarray:
    """A decoded frame or photo as a dataset's HR image: shrunk if asked, cropped to a multiple of ``scale``."""
    image = shrink(image, max_short_side)
    return np.ascontiguousarray(crop_to_multiple(image.transpose(2, 0, 1), scale).transpose(1, 2, 0))


def _video_frames(path: Path, every: int, test_seconds: float, test_fraction: float | None) -> Iterator[tuple[str, np.ndarray, str, dict]]:
    """(split, image, file stem, record) for every ``every``-th frame; the last seconds go to the test split."""
    from ..io.video import probe, read_frames  # PyAV only here: training machines need not have it

    info = probe(path)
    if info.duration <= 0:
        raise VideoError(f"'{path}' does not state its duration; expected a video whose container records it (remux it with ffmpeg -c copy)")
    held = info.duration * test_fraction if test_fraction is not None else test_seconds
    if held >= info.duration:
        raise ConfigError(f"'{path}' lasts {info.duration:.1f} s; holding out {held:.1f} s leaves nothing to train on; use --test-fraction")
    cut = info.duration - held
    for index, frame in enumerate(read_frames(path)):
        if index % every:
            continue
        split = "test" if frame.time >= cut else "train"
        yield split, frame.image, f"{path.stem}_{index:06d}", {"source": str(path), "frame": index, "pts": frame.pts, "time": round(frame.time, 6)}


def held_out(name: str, fraction: float) -> bool:
    """Whether the image file ``name`` belongs to the test split: its name's hash, read as a number
    in [0, 1), is below ``fraction``. Decided per file, so adding or removing other files never
    moves an image between the splits (a rank-based choice would)."""
    return int(hashlib.sha1(name.encode()).hexdigest(), 16) / 2**160 < fraction


def _folder_images(folder: Path, test_fraction: float | None) -> Iterator[tuple[str, np.ndarray, str, dict]]:
    """(split, image, file stem, record) for every image file; a hash of each name picks the test split."""
    files = image_files(folder)
    stems = [p.stem for p in files]
    if len(set(stems)) < len(stems):
        twin = next(stem for stem in stems if stems.count(stem) > 1)
        raise InputError(f"'{folder}' holds several images named '{twin}.*'; expected one file per name")
    fraction = FOLDER_TEST_FRACTION if test_fraction is None else test_fraction
    for path in files:
        split = "test" if held_out(path.name, fraction) else "train"
        yield split, read_image(path), path.stem, {"source": str(path), "frame": None, "pts": None, "time": None}
