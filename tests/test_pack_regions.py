"""scripts/pack_regions.py: the small dataset a lent GPU trains on holds exactly prepare's pairs."""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np

from vsrgan.dataset.crops import load_split
from vsrgan.dataset.manifest import read_manifest
from vsrgan.images import read_image

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "pack_regions.py"


def pack(source: Path, out: Path, *args: str) -> str:
    done = subprocess.run([sys.executable, str(SCRIPT), str(source), str(out), *args], capture_output=True, text=True, check=True)
    return done.stdout


def test_regions_are_cut_from_prepares_own_pairs(tiny_dataset, tmp_path):
    out = tmp_path / "pack"
    printed = pack(tiny_dataset, out, "--region", "32", "--val-region", "32", "--per-image", "2", "--tries", "8")
    manifest = read_manifest(out)
    train, test = manifest.split("train"), manifest.split("test")
    assert len(test) == len(read_manifest(tiny_dataset).split("test"))
    assert len(train) == 2 * len(read_manifest(tiny_dataset).split("train"))  # 64x48 holds two regions of 32 that overlap by less than half
    assert f"{len(train)} training and {len(test)} test regions" in printed
    for item in manifest.items:
        x, y, hr_name = re.search(r"\(region (\d+),(\d+) of (\S+)\)$", item.source).groups()
        x, y = int(x), int(y)
        assert x % 4 == 0 and y % 4 == 0
        hr, lr = read_image(out / item.hr), read_image(out / item.lr)  # lossless WebP: the same bytes back
        assert hr.shape == (32, 32, 3) and lr.shape == (8, 8, 3)
        source_hr = read_image(tiny_dataset / hr_name)
        source_lr = read_image(tiny_dataset / hr_name.replace("/hr/", "/lr_x4/"))
        np.testing.assert_array_equal(hr, source_hr[y : y + 32, x : x + 32])
        np.testing.assert_array_equal(lr, source_lr[y // 4 : y // 4 + 8, x // 4 : x // 4 + 8])
    assert len(load_split(out, "train", 4).hr) == len(train)  # training reads it as any dataset


def test_a_budget_cut_keeps_every_images_best_region(tiny_dataset, tmp_path):
    args = ("--region", "32", "--val-region", "32", "--per-image", "2", "--tries", "8")
    pack(tiny_dataset, tmp_path / "full", *args)
    full = sum(f.stat().st_size for f in (tmp_path / "full").rglob("*.webp"))
    pack(tiny_dataset, tmp_path / "cut", *args, "--budget-mb", str(0.75 * full / 1e6))
    names = [Path(item.hr).stem for item in read_manifest(tmp_path / "cut").split("train")]
    images = len(read_manifest(tiny_dataset).split("train"))
    assert sum(n.endswith("_0") for n in names) == images  # round one (each image's best region) was whole
    assert 0 < sum(n.endswith("_1") for n in names) < images  # the budget stopped round two
