"""``vsrgan degrade``: a pool of real-world LR samples made from a prepared dataset, for ``x4-real``.

    clean dataset (vsrgan prepare) --each HR image, `variants` times: a region, a recipe
    (realistic.sample_real), realistic.real_lr--> pool dataset: region HR PNG + its LR PNG
                                                  (+ with `context` k: the k decoded LR frames on each side)

The pool is itself a dataset in ``vsrgan prepare``'s layout (``manifest.json``, ``train/``,
``test/``), so training and evaluation read it unchanged; its splits are the source dataset's,
so no held-out image leaks into training. Each item's ``degradation`` holds its recipe and
``base``, the HR file of the source dataset it was cut from: :func:`remake` makes the same LR
sample again, bit for bit. Both run PyTorch on one thread: a blur or colour conversion summed
over several threads can round one pixel differently, and one grey level changes a codec's
decisions for the whole block.

Why a precomputed pool and not degradations made on the fly: a sample takes about 50 ms of one
core to make (5 frames through the chain and a codec) and a training step 16 of them, so on the
fly would add about 0.8 s of CPU to a 0.6 s step on this 2-core machine. A pool of 16 variants
per image is made once in minutes and every step then costs what a clean step costs (MODELS.md).
"""

import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from ..errors import ConfigError, InputError
from ..io.images import read_image
from ..io.stop import Stopped, at_step_boundaries, requested
from .clipframes import ClipFrames, is_clip_frame, sequence
from .crops import texture
from .manifest import Manifest, ManifestItem, manifest_json, read_manifest, staged_dataset
from .realistic import CRF, FRAMES, KINDS, RealDegradation, around, real_lr, real_sequence, sample_real

REGION = 384  # HR side of a pool item; training cuts its crops (128) from it
TRIES = 4  # regions drawn per item; the most textured is kept (flat sky teaches nothing)


def make_pool(
    source: str | Path,
    out: str | Path,
    *,
    variants: int = 16,
    region: int = REGION,
    seed: int = 0,
    crf: tuple[int, int] = CRF,
    clean_share: float = KINDS["clean"],
    clip_motion: bool = False,
    context: int = 0,
    overwrite: bool = False,
    progress: bool = True,
) -> Path:
    """Write ``variants`` degraded samples of every image of the dataset ``source`` to ``out``; its
    manifest path. ``crf``: the range libx264's samples draw their CRF from. ``clean_share``: the
    share of clean bicubic samples (the others keep their proportions). ``clip_motion``: a
    clip's frames take their sequences from the clip itself (``realistic.VIDEO_SHARE`` of them;
    the clips must be where ``vsrgan prepare`` read them). ``context``: each item also keeps the
    ``context`` decoded LR frames before and after its own (``ManifestItem.context``), for models
    that take neighbouring frames; the LR samples themselves are the same as without it."""
    source, out = Path(source), Path(out)
    manifest = read_manifest(source)
    scale = manifest.scale
    if variants < 1 or region < 32 * scale or region % scale:
        raise ConfigError(f"--variants must be >= 1 and --region a multiple of {scale}, at least {32 * scale}; got {variants} and {region}")
    if not 0 <= context < FRAMES:
        raise ConfigError(f"--context must be 0-{FRAMES - 1} frames on each side; got {context}")
    if not 0 <= crf[0] <= crf[1] <= 51:
        raise ConfigError(f"--crf must be a range MIN-MAX within libx264's 0-51; got {crf[0]}-{crf[1]}")
    if not 0 <= clean_share <= 1:
        raise ConfigError(f"--clean-share must be a fraction 0-1; got {clean_share}")
    if out.exists() and not overwrite:
        raise InputError(f"dataset '{out}' already exists; pass --overwrite to replace it")
    if out.resolve() == source.resolve():
        raise InputError(f"'{out}' is the source dataset; choose another folder")

    splits = dict.fromkeys(["train", "test", *(item.split for item in manifest.items)])  # e.g. a held-out "test-extra"
    with staged_dataset(out, scale, splits) as tmp:
        items: list[ManifestItem] = []
        workers = os.cpu_count() or 1
        bar = tqdm(total=len(manifest.items) * variants, desc="degrade", unit="sample", disable=not progress)
        with at_step_boundaries(), one_torch_thread(), ThreadPoolExecutor(max_workers=workers) as pool:
            pending: deque = deque()
            clips = ClipFrames(manifest, reach=FRAMES - 1) if clip_motion else None
            for number, base in enumerate(manifest.items):
                hr = read_image(source / base.hr)
                window, centre = clips.around(base, hr) if clips is not None and is_clip_frame(base) else (None, 0)
                neighbours = None if window is None else (centre, len(window) - 1 - centre)
                for variant in range(variants):
                    if (signum := requested()) is not None:
                        raise Stopped(signum)
                    rng = np.random.default_rng([seed, number, variant])
                    recipe = sample_real(rng, **_region(hr, region, scale, rng), crf=crf, neighbours=neighbours, clean_share=clean_share)
                    frames = sequence(window, centre, recipe.target, FRAMES) if recipe.motion == "video" else None
                    stem = f"{Path(base.hr).stem}_v{variant:02d}"
                    lr_dir = f"{base.split}/lr_x{scale}"
                    offsets = [t for t in range(-context, context + 1) if t]
                    item = ManifestItem(
                        split=base.split, hr=f"{base.split}/hr/{stem}.png", lr=f"{lr_dir}/{stem}.png", source=base.source,
                        frame=base.frame, pts=base.pts, time=base.time, degradation={"base": base.hr, **recipe.to_dict()},
                        context=[f"{lr_dir}/{stem}.t{t:+d}.png" for t in offsets] if context else None,
                    )
                    items.append(item)
                    pending.append(pool.submit(_write_pair, tmp, item, hr, scale, recipe, frames))
                    while len(pending) > 2 * workers:
                        pending.popleft().result()
                        bar.update()
            for future in pending:
                future.result()
                bar.update()
        bar.close()
        settings = {"pool_of": str(source), "variants": variants, "region": region, "seed": seed, "crf": list(crf), "clean_share": clean_share, "clip_motion": clip_motion, "context": context, "degradations": ["real"]}
        (tmp / "manifest.json").write_text(manifest_json(Manifest(scale=scale, items=items, settings=settings)))
    return out / "manifest.json"


def _region(hr: np.ndarray, region: int, scale: int, rng: np.random.Generator) -> dict:
    """The most textured of ``TRIES`` random square regions (smaller images: their largest square)."""
    h, w = hr.shape[:2]
    size = min(region, h - h % scale, w - w % scale)
    spots = [(int(rng.integers(0, h - size + 1)), int(rng.integers(0, w - size + 1))) for _ in range(TRIES)]
    image = torch.from_numpy(hr[::scale, ::scale]).permute(2, 0, 1)  # texture on a cheap subsample
    p = size // scale
    y, x = max(spots, key=lambda s: texture(image[:, s[0] // scale : s[0] // scale + p, s[1] // scale : s[1] // scale + p]))
    return {"y": y, "x": x, "size": size}


def _write_pair(root: Path, item: ManifestItem, hr: np.ndarray, scale: int, recipe: RealDegradation, frames: list[np.ndarray] | None) -> None:
    lr_frames, region = real_sequence(hr, scale, recipe, frames)
    k = len(item.context or []) // 2
    window = around(lr_frames, recipe.target, k)  # frames target-k .. target+k; the middle one is the sample
    files = [(item.hr, region), (item.lr, window[k]), *zip(item.context or [], window[:k] + window[k + 1 :])]
    for relative, array in files:
        Image.fromarray(array).save(root / relative, compress_level=1)


def remake(source: str | Path, item: ManifestItem, scale: int) -> np.ndarray:
    """The LR sample of a pool ``item`` made again from its recipe and the source dataset's HR image."""
    recipe = dict(item.degradation or {})
    base = recipe.pop("base", None)
    if base is None:
        raise InputError(f"'{item.lr}' is not a pool sample (its manifest item has no degradation recipe)")
    recipe = RealDegradation.from_dict(recipe)
    hr, frames = read_image(Path(source) / base), None
    if recipe.motion == "video":  # the clip's own frames, read again
        window, centre = ClipFrames(read_manifest(source), reach=FRAMES - 1).around(replace(item, hr=base), hr)
        frames = sequence(window, centre, recipe.target, FRAMES)
    with one_torch_thread():  # as make_pool made it
        return real_lr(hr, scale, recipe, frames)[0]


@contextmanager
def one_torch_thread() -> Iterator[None]:
    """PyTorch on one thread inside the block (module docstring: sums split over threads round differently)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
