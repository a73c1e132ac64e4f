"""The GAN stage's helper scripts: pack_regions.py (the small dataset a lent GPU trains on holds exactly prepare's pairs) and loss_gradients.py."""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from vsrgan.dataset.crops import load_split
from vsrgan.dataset.manifest import read_manifest
from vsrgan.errors import CheckpointError
from vsrgan.io.images import read_image

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "gpu" / "pack_regions.py"


def pack(source: Path, out: Path, *args: str) -> str:
    if "--vgg-weights" not in args:  # not the machine's own VGG16 (59 MB) where the test is not about it
        args = (*args, "--vgg-weights", "none")
    done = subprocess.run([sys.executable, str(SCRIPT), str(source), str(out), *args], capture_output=True, text=True, check=True)
    return done.stdout


def test_regions_are_cut_from_prepares_own_pairs(tiny_dataset, tmp_path):
    out = tmp_path / "pack"
    printed = pack(tiny_dataset, out, "--region", "32", "--val-region", "32", "--per-image", "2", "--tries", "8")
    manifest = read_manifest(out)
    train, test = manifest.split("train"), manifest.split("test")
    assert len(test) == len(read_manifest(tiny_dataset).split("test"))
    assert len(train) == 2 * len(read_manifest(tiny_dataset).split("train"))  # 64x48 holds two regions of 32 that share at most a quarter
    assert f"{len(train)} training regions from {len(train) // 2} of {len(train) // 2} images, {len(test)} test regions" in printed
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


def test_an_image_smaller_than_the_region_gives_the_largest_square_it_holds(tiny_dataset, tmp_path):
    out = tmp_path / "pack"
    printed = pack(tiny_dataset, out, "--region", "80", "--val-region", "80", "--per-image", "1", "--tries", "4")
    train = read_manifest(out).split("train")
    assert len(train) == len(read_manifest(tiny_dataset).split("train"))  # none skipped (64x48 < 80)
    for item in train:
        assert read_image(out / item.hr).shape == (48, 48, 3) and read_image(out / item.lr).shape == (12, 12, 3)
    assert f"from {len(train)} of {len(train)} images" in printed


def test_the_vgg_layers_the_loss_reads_travel_with_the_pack(tiny_dataset, tmp_path):
    from safetensors.torch import save_file

    from vsrgan.models.vgg import VGGFeatures, load_vgg_weights

    full = dict(VGGFeatures(arch="vgg16", layers=("relu5_3",)).state_dict())
    full["classifier.0.weight"] = full["features.0.weight"].clone()  # torchvision's file holds the classifier too
    save_file(full, str(tmp_path / "vgg16.safetensors"))
    pack(tiny_dataset, tmp_path / "pack", "--region", "32", "--val-region", "32", "--vgg-weights", str(tmp_path / "vgg16.safetensors"))
    small = tmp_path / "pack" / "vgg16.safetensors"
    loss_net = load_vgg_weights(VGGFeatures(arch="vgg16", layers=("relu2_2", "relu3_3")), small)
    assert all(torch.equal(v, full[k]) for k, v in loss_net.state_dict().items())
    missing = subprocess.run(
        [sys.executable, str(SCRIPT), str(tiny_dataset), str(tmp_path / "p2"), "--vgg-weights", str(tmp_path / "none.safetensors")],
        capture_output=True,
        text=True,
    )
    assert missing.returncode != 0 and "no VGG16 weights at" in missing.stderr and not (tmp_path / "p2").exists()  # before any work
    with pytest.raises(CheckpointError):  # and nothing deeper
        load_vgg_weights(VGGFeatures(arch="vgg16", layers=("relu4_1",)), small)


def test_loss_gradients_measures_each_losss_pull_on_the_image(tiny_dataset):
    """scripts/models/loss_gradients.py, which chose x4-gan's L1 weight: L1's gradient (sign / N) has norm 1 / sqrt(N)."""
    script = SCRIPT.parents[1] / "models" / "loss_gradients.py"
    sets = ("data.crop=32", "data.batch_size=2", "data.crop_tries=1", "loss.vgg_weights=random", "loss.pixel_weight=1000")
    done = subprocess.run(
        [
            sys.executable,
            str(script),
            "-c",
            str(SCRIPT.parents[2] / "configs" / "x4-gan.toml"),
            "--data",
            str(tiny_dataset),
            *(a for s in sets for a in ("--set", s)),
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=SCRIPT.parents[2],
    )
    rows = {line.split()[0]: [float(v) for v in line.split()[1:]] for line in done.stdout.splitlines()[1:]}
    assert set(rows) == {"pixel", "perceptual", "adversarial"}
    value, norm, weight, weighted = rows["pixel"]
    assert norm == pytest.approx(1 / (2 * 3 * 32 * 32) ** 0.5, rel=1e-3) and weight == 1000
    assert weighted == pytest.approx(weight * norm, rel=1e-3)
    assert all(r[1] > 0 for r in rows.values())
