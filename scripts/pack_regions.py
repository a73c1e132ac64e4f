"""Pack the most textured regions of a prepared dataset into a small dataset, for a lent GPU.

The device tool carries at most 64 MiB with the working tree, and the full x4 dataset is 386 MB.
Training samples its crops from the textured parts anyway (``data.crop_tries``), so this keeps, from
each image, the ``--per-image`` most textured of many random HR regions (aligned to the scale, with
the matching region of the image's own LR file: the pairs stay exactly what ``prepare`` made), as
lossless WebP, and stops adding once the pack reaches ``--budget-mb``. The test split keeps ``--val``
centre regions. The result is an ordinary dataset folder for ``vsrgan train --data``::

    python scripts/pack_regions.py data/train-x4 data/gpu-x4 --region 192 --budget-mb 28
"""

import argparse
import shutil
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from vsrgan.dataset.crops import texture
from vsrgan.dataset.manifest import Manifest, ManifestItem, manifest_json, read_manifest
from vsrgan.images import read_image


def candidates(lr: np.ndarray, size: int, count: int, rng: np.random.Generator) -> list[tuple[int, int]]:
    """``count`` random top-left corners of LR regions of ``size``, most textured first."""
    h, w = lr.shape[:2]
    if h < size or w < size:
        return []
    corners = [(int(rng.integers(h - size + 1)), int(rng.integers(w - size + 1))) for _ in range(count)]
    t = torch.from_numpy(lr).permute(2, 0, 1)
    return sorted(corners, key=lambda yx: -texture(t[:, yx[0] : yx[0] + size, yx[1] : yx[1] + size]))


def overlaps(a: tuple[int, int], b: tuple[int, int], size: int) -> bool:
    return abs(a[0] - b[0]) < size // 2 and abs(a[1] - b[1]) < size // 2


def save(array: np.ndarray, path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, lossless=True, quality=100, method=4)
    return path.stat().st_size


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("source", type=Path, help="a dataset folder written by vsrgan prepare")
    p.add_argument("out", type=Path, help="the new, small dataset folder (replaced)")
    p.add_argument("--region", type=int, default=192, help="HR region size, a multiple of the scale")
    p.add_argument("--per-image", type=int, default=3, help="regions kept from each training image")
    p.add_argument("--tries", type=int, default=24, help="random regions scored per image")
    p.add_argument("--val", type=int, default=16, help="test images kept (one centre region each)")
    p.add_argument("--val-region", type=int, default=384, help="HR size of each test region")
    p.add_argument("--budget-mb", type=float, default=28.0, help="stop adding training regions at this size")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()

    manifest = read_manifest(args.source)
    s = manifest.scale
    if args.region % s or args.val_region % s:
        raise SystemExit(f"--region and --val-region must be multiples of the dataset's scale, {s}")
    rng = np.random.default_rng(args.seed)
    shutil.rmtree(args.out, ignore_errors=True)
    items: list[ManifestItem] = []
    total = 0

    def add(item: ManifestItem, hr: np.ndarray, lr: np.ndarray, y: int, x: int, size: int, k: int) -> None:
        nonlocal total
        name = f"{Path(item.hr).stem}_{k}.webp"
        hr_rel, lr_rel = f"{item.split}/hr/{name}", f"{item.split}/lr_x{s}/{name}"
        total += save(np.ascontiguousarray(lr[y : y + size, x : x + size]), args.out / lr_rel)
        total += save(np.ascontiguousarray(hr[y * s : (y + size) * s, x * s : (x + size) * s]), args.out / hr_rel)
        items.append(ManifestItem(item.split, hr_rel, lr_rel, f"{item.source} (region {x * s},{y * s} of {item.hr})", item.frame, item.pts, item.time))

    tests = manifest.split("test")
    for item in [tests[i] for i in np.linspace(0, len(tests) - 1, min(args.val, len(tests))).round().astype(int)]:
        hr, lr = read_image(args.source / item.hr), read_image(args.source / item.lr)
        size = min(args.val_region // s, *lr.shape[:2])
        add(item, hr, lr, (lr.shape[0] - size) // 2, (lr.shape[1] - size) // 2, size, 0)

    size = args.region // s
    train = manifest.split("train")
    for round_ in range(args.per_image):  # round by round, so that a budget cut keeps every image's best region
        for index in rng.permutation(len(train)):
            item = train[index]
            if total > args.budget_mb * 1e6:
                break
            hr, lr = read_image(args.source / item.hr), read_image(args.source / item.lr)
            kept: list[tuple[int, int]] = []
            for yx in candidates(lr, size, args.tries, np.random.default_rng([args.seed, int(index)])):
                if len(kept) > round_:
                    break
                if not any(overlaps(yx, other, size) for other in kept):
                    kept.append(yx)
            if len(kept) > round_:
                add(item, hr, lr, *kept[round_], size, round_)
    settings = {**manifest.settings, "packed_from": str(args.source), "region": args.region}
    (args.out / "manifest.json").write_text(manifest_json(Manifest(scale=s, items=items, settings=settings)))
    counts = {split: sum(i.split == split for i in items) for split in ("train", "test")}
    print(f"{args.out}: {counts['train']} training and {counts['test']} test regions, {total / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
