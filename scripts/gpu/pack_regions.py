"""Pack the most textured regions of a prepared dataset into a small dataset, for a lent GPU.

The device tool carries at most 64 MiB with the working tree, and the full x4 dataset is 386 MB.
Training samples its crops from the textured parts anyway (``data.crop_tries``), so this keeps, from
each image, the ``--per-image`` most textured of ``--tries`` random HR regions (aligned to the scale,
with the matching region of the image's own LR file: the pairs stay exactly what ``prepare`` made;
an image smaller than ``--region`` gives a square as large as it holds), as lossless WebP. Images
are taken round by round (every image's best region, then every image's second best, ...) until the
whole pack, test regions included, passes ``--budget-mb``: a cut in a later round keeps every
image's best region, if the first round fits. The test split keeps ``--val`` centre regions. Beside
them, ``vgg16.safetensors``: the ImageNet VGG16 layers up to ``--vgg-layer`` (what the perceptual
loss reads; 7 MB to relu3_3 against 59 MB for all). The result is an ordinary dataset folder for
``vsrgan train --data`` (scripts/gpu/train_gpu.sh)::

    python scripts/gpu/pack_regions.py data/train-x4 data/gpu-x4
"""

import argparse
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors.torch import load_file, save_file

from vsrgan.dataset.crops import texture
from vsrgan.dataset.manifest import Manifest, ManifestItem, manifest_json, read_manifest
from vsrgan.io.images import read_image
from vsrgan.models.vgg import default_weights_path, layer_indices


def candidates(lr: np.ndarray, size: int, count: int, rng: np.random.Generator) -> list[tuple[int, int]]:
    """``count`` random top-left corners of LR regions of ``size`` (at most the image's), most textured first."""
    h, w = lr.shape[:2]
    corners = [(int(rng.integers(h - size + 1)), int(rng.integers(w - size + 1))) for _ in range(count)]
    t = torch.from_numpy(lr).permute(2, 0, 1)
    return sorted(corners, key=lambda yx: -texture(t[:, yx[0] : yx[0] + size, yx[1] : yx[1] + size]))


def too_close(a: tuple[int, int], b: tuple[int, int], size: int) -> bool:
    """Corners less than half a region apart in both directions: the regions would share over a quarter."""
    return abs(a[0] - b[0]) < size // 2 and abs(a[1] - b[1]) < size // 2


def save_vgg_layers(weights: Path, layer: str, out: Path) -> int:
    """The VGG16 ``features`` tensors up to ``layer`` (e.g. relu3_3) from a torchvision state dict."""
    last = layer_indices("vgg16")[layer]
    state = {k: v.contiguous() for k, v in load_file(str(weights)).items() if k.startswith("features.") and int(k.split(".")[1]) <= last}
    save_file(state, str(out))
    return out.stat().st_size


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
    p.add_argument("--budget-mb", type=float, default=27.0, help="stop adding training regions once the pack is this large")
    p.add_argument("--vgg-weights", default=str(default_weights_path("vgg16")), help="ImageNet VGG16 (scripts/data/fetch_vgg16.sh), or none")
    p.add_argument("--vgg-layer", default="relu3_3", help="the deepest VGG16 layer the perceptual loss reads")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()

    manifest = read_manifest(args.source)
    s = manifest.scale
    if args.region % s or args.val_region % s:
        raise SystemExit(f"--region and --val-region must be multiples of the dataset's scale, {s}")
    if args.vgg_weights != "none" and not Path(args.vgg_weights).is_file():
        raise SystemExit(f"no VGG16 weights at '{args.vgg_weights}' (scripts/data/fetch_vgg16.sh); the GPU run needs them, or pass --vgg-weights none")
    rng = np.random.default_rng(args.seed)
    partial = args.out.with_name(args.out.name + ".partial")  # renamed to OUT when whole
    shutil.rmtree(partial, ignore_errors=True)
    items: list[ManifestItem] = []
    total = 0

    def add(item: ManifestItem, hr: np.ndarray, lr: np.ndarray, k: int) -> None:
        """Save one region pair (already cut) as ``item``'s ``k``-th."""
        nonlocal total
        name = f"{Path(item.hr).stem}_{k}.webp"
        hr_rel, lr_rel = f"{item.split}/hr/{name}", f"{item.split}/lr_x{s}/{name}"
        total += save(lr, partial / lr_rel) + save(hr, partial / hr_rel)
        items.append(ManifestItem(item.split, hr_rel, lr_rel, item.source, item.frame, item.pts, item.time))

    def cut(item: ManifestItem, hr: np.ndarray, lr: np.ndarray, y: int, x: int, size: int) -> tuple[ManifestItem, np.ndarray, np.ndarray]:
        """The HR/LR region pair at LR corner ``(y, x)``; ``item`` names where it came from."""
        region = replace(item, source=f"{item.source} (region {x * s},{y * s} of {item.hr})")
        return region, np.ascontiguousarray(hr[y * s : (y + size) * s, x * s : (x + size) * s]), np.ascontiguousarray(lr[y : y + size, x : x + size])

    tests = manifest.split("test")
    for item in [tests[i] for i in np.linspace(0, len(tests) - 1, min(args.val, len(tests))).round().astype(int)]:
        hr, lr = read_image(args.source / item.hr), read_image(args.source / item.lr)
        size = min(args.val_region // s, *lr.shape[:2])
        add(*cut(item, hr, lr, (lr.shape[0] - size) // 2, (lr.shape[1] - size) // 2, size), 0)

    train = manifest.split("train")
    regions: dict[int, list] = {}  # each training image's regions, best first: each image is decoded once
    for index, item in enumerate(train):
        hr, lr = read_image(args.source / item.hr), read_image(args.source / item.lr)
        size = min(args.region // s, *lr.shape[:2])
        kept: list[tuple[int, int]] = []
        for yx in candidates(lr, size, args.tries, np.random.default_rng([args.seed, index])):
            if len(kept) < args.per_image and not any(too_close(yx, other, size) for other in kept):
                kept.append(yx)
        regions[index] = [cut(item, hr, lr, y, x, size) for y, x in kept]
    order = rng.permutation(len(train))
    for k in range(args.per_image):  # round k saves every image's k-th region, until the budget
        for index in order:
            if total > args.budget_mb * 1e6:
                break
            if k < len(regions[int(index)]):
                add(*regions[int(index)][k], k)
    settings = {**manifest.settings, "packed_from": str(args.source), "region": args.region}
    (partial / "manifest.json").write_text(manifest_json(Manifest(scale=s, items=items, settings=settings)))
    vgg = save_vgg_layers(Path(args.vgg_weights), args.vgg_layer, partial / "vgg16.safetensors") if args.vgg_weights != "none" else 0
    shutil.rmtree(args.out, ignore_errors=True)
    partial.rename(args.out)
    counts = {split: sum(i.split == split for i in items) for split in ("train", "test")}
    images = len({i.hr.rsplit("_", 1)[0] for i in items if i.split == "train"})
    print(
        f"{args.out}: {counts['train']} training regions from {images} of {len(train)} images, {counts['test']} test regions, "
        f"{total / 1e6:.1f} MB" + (f"; VGG16 to {args.vgg_layer}, {vgg / 1e6:.1f} MB" if vgg else "; no VGG16")
    )


if __name__ == "__main__":
    main()
