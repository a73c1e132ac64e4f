"""prepare (videos, image folders, degradations), the shared downscale, and the crop sampler."""

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch
from clips import make_clip
from conftest import make_image_folder
from PIL import Image

from vsrgan.dataset.crops import CropSampler, Split, StepDataset, centre_crop, load_split
from vsrgan.dataset.degrade import Degradation, downscale, make_lr
from vsrgan.dataset.prepare import held_out, prepare
from vsrgan.errors import ConfigError, InputError, VideoError
from vsrgan.training.config import Config, DataConfig
from vsrgan.training.setup import load_data


def png(path) -> np.ndarray:
    return np.array(Image.open(path).convert("RGB"))


# ---- downscale ---------------------------------------------------------------------------------


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_downscale_is_pillow_bicubic_a_minus_half(scale):
    x = torch.rand(1, 1, 8 * scale + 1, 6 * scale + scale - 1, generator=torch.Generator().manual_seed(scale))
    y = downscale(x.expand(1, 3, -1, -1), scale)
    assert y.shape == (1, 3, 8, 6)  # cropped to a multiple of scale first
    cropped = x[0, 0, : 8 * scale, : 6 * scale].numpy()
    pil = np.asarray(Image.fromarray(cropped, mode="F").resize((6, 8), Image.BICUBIC))
    assert np.abs(y[0, 0].numpy() - pil.clip(0, 1)).max() < 1e-5


def test_downscale_keeps_flat_images_flat_and_clamps():
    flat = torch.full((2, 3, 16, 12), 0.3)
    assert torch.allclose(downscale(flat, 4), torch.full((2, 3, 4, 3), 0.3))
    edges = torch.zeros(1, 3, 16, 16)
    edges[..., ::2] = 1  # overshoot of the negative lobes must be clamped
    y = downscale(edges, 2)
    assert y.min() >= 0 and y.max() <= 1


# ---- prepare from a video ----------------------------------------------------------------------


@pytest.fixture
def clip30(tmp_path):
    path = tmp_path / "moving.mp4"
    make_clip(path, width=64, height=48, frames=90, rate=Fraction(30))  # 3.0 s
    return path


def test_prepare_video_keeps_every_nth_and_holds_out_the_last_seconds(clip30, tmp_path):
    manifest_path = prepare([clip30], tmp_path / "ds", every=5, test_seconds=1.0, progress=False)
    manifest = json.loads(manifest_path.read_text())
    items = manifest["items"]
    assert [item["frame"] for item in items] == list(range(0, 90, 5))
    for item in items:
        assert item["time"] == pytest.approx(item["frame"] / 30, abs=1e-3)  # from the frame's pts
        assert item["split"] == ("test" if item["time"] >= 2.0 - 1e-6 else "train")
        assert item["source"] == str(clip30)
        hr, lr = png(tmp_path / "ds" / item["hr"]), png(tmp_path / "ds" / item["lr"])
        assert hr.shape == (48, 64, 3) and lr.shape == (12, 16, 3)  # real aspect ratio, exact x4
        assert np.array_equal(lr, make_lr(hr, 4))  # LR is the shared downscale of the stored HR
    assert {i["split"] for i in items[:12]} == {"train"} and {i["split"] for i in items[12:]} == {"test"}
    assert sorted(p.name for p in (tmp_path / "ds").iterdir()) == ["manifest.json", "test", "train"]


def test_prepare_test_fraction_for_short_clips(clip30, tmp_path):
    items = json.loads(prepare([clip30], tmp_path / "ds", every=10, test_fraction=0.5, progress=False).read_text())["items"]
    assert [(i["frame"], i["split"]) for i in items] == [(0, "train"), (10, "train"), (20, "train"), (30, "train"), (40, "train"), (50, "test"), (60, "test"), (70, "test"), (80, "test")]


def test_prepare_refuses_to_hold_out_the_whole_clip(clip30, tmp_path):
    with pytest.raises(ConfigError, match="--test-fraction"):
        prepare([clip30], tmp_path / "ds", progress=False)  # 25 s of a 3 s clip
    assert not (tmp_path / "ds").exists()


def test_prepare_refuses_an_existing_dataset_without_overwrite(clip30, tmp_path):
    prepare([clip30], tmp_path / "ds", test_fraction=0.3, progress=False)
    with pytest.raises(InputError, match="--overwrite"):
        prepare([clip30], tmp_path / "ds", test_fraction=0.3, progress=False)
    prepare([clip30], tmp_path / "ds", every=10, test_fraction=0.3, overwrite=True, progress=False)
    assert len(json.loads((tmp_path / "ds" / "manifest.json").read_text())["items"]) == 9


def test_prepare_degradations_are_recorded_and_reproducible(clip30, tmp_path):
    manifest = json.loads(prepare([clip30], tmp_path / "ds", every=30, test_fraction=0.4, degrade=["blur", "noise", "jpeg", "h264"], progress=False).read_text())
    for item in manifest["items"]:
        d = Degradation(**item["degradation"])
        assert d.blur_sigma > 0 and d.noise_sigma > 0 and d.jpeg_quality >= 30 and d.h264_crf >= 18
        hr, lr = png(tmp_path / "ds" / item["hr"]), png(tmp_path / "ds" / item["lr"])
        assert np.array_equal(lr, make_lr(hr, 4, d))
        assert not np.array_equal(lr, make_lr(hr, 4))


# ---- prepare from image folders ----------------------------------------------------------------


def test_prepare_image_folder_split_is_deterministic_and_stable(tmp_path):
    make_image_folder(tmp_path / "imgs", count=10)
    def split_of(name):
        items = json.loads(prepare([tmp_path / "imgs"], tmp_path / name, test_fraction=0.2, progress=False).read_text())["items"]
        return {item["source"]: item["split"] for item in items}

    first = split_of("a")
    assert first == split_of("b")
    assert {src: split == "test" for src, split in first.items()} == {src: held_out(Path(src).name, 0.2) for src in first}
    assert 0 < sorted(first.values()).count("test") < 10
    hr = png(next((tmp_path / "a" / "train" / "hr").iterdir()))
    assert hr.shape == (48, 64, 3)  # 66x50 cropped to a multiple of 4
    make_image_folder(tmp_path / "more", count=30)
    for extra in (tmp_path / "more").iterdir():
        extra.rename(tmp_path / "imgs" / f"x{extra.name}")
    grown = split_of("c")
    moved = [src for src in first if grown[src] != first[src]]
    assert not moved  # a name's split depends on its name alone


def test_adding_30_images_to_60_keeps_every_held_out_image_held_out(tmp_path):
    make_image_folder(tmp_path / "imgs", count=60, width=20, height=16)

    def held(name):
        items = json.loads(prepare([tmp_path / "imgs"], tmp_path / name, test_fraction=0.2, progress=False).read_text())["items"]
        return {Path(item["source"]).name for item in items if item["split"] == "test"}

    before = held("a")
    make_image_folder(tmp_path / "more", count=30, width=20, height=16)
    for extra in (tmp_path / "more").iterdir():
        extra.rename(tmp_path / "imgs" / f"new_{extra.name}")
    after = held("b")
    assert before and before <= after  # every old held-out image stays held out
    assert {name for name in after if not name.startswith("new_")} == before  # and no old training image moves in
    for name in sorted(before)[:3]:
        (tmp_path / "imgs" / name).unlink()
    assert held("c") == after - set(sorted(before)[:3])  # removing files moves nothing either


def test_corrupt_image_stops_prepare_naming_the_file(tmp_path):
    make_image_folder(tmp_path / "imgs", count=3)
    (tmp_path / "imgs" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really a png")
    (tmp_path / "imgs" / "notes.txt").write_text("ignored: not an image suffix")
    with pytest.raises(VideoError, match=r"broken\.png.*expected a PNG"):
        prepare([tmp_path / "imgs"], tmp_path / "ds", test_fraction=0.3, progress=False)
    assert not (tmp_path / "ds").exists() and not list(tmp_path.glob(".ds.*"))  # nothing half-written


# ---- crop sampler ------------------------------------------------------------------------------


def blocky_split(count: int = 5, scale: int = 4) -> Split:
    """HR = nearest-neighbour x4 of LR, so an aligned crop of HR is exactly LR's crop enlarged."""
    g = torch.Generator().manual_seed(0)
    lrs = [torch.randint(0, 256, (3, 10 + i, 14), generator=g, dtype=torch.uint8) for i in range(count)]
    hrs = [lr.repeat_interleave(scale, 1).repeat_interleave(scale, 2) for lr in lrs]
    return Split(hrs, lrs, [f"img{i}" for i in range(count)])


def test_crops_are_aligned_under_flips_and_rotations():
    sampler = CropSampler(blocky_split(), crop=16, scale=4, batch_size=8, augment=True, seed=1)
    for step in range(5):
        lr, hr = sampler(step)
        assert lr.shape == (8, 3, 4, 4) and hr.shape == (8, 3, 16, 16) and lr.dtype == torch.uint8
        assert torch.equal(lr.repeat_interleave(4, 2).repeat_interleave(4, 3), hr)


def test_batches_are_a_pure_function_of_step_and_cover_each_epoch():
    sampler = CropSampler(blocky_split(), crop=16, scale=4, batch_size=5, augment=True, seed=3)
    assert all(torch.equal(a, b) for a, b in zip(sampler(7), sampler(7)))
    assert not torch.equal(sampler(7)[1], sampler(8)[1])
    assert sorted(sampler.indices(2)) == [0, 1, 2, 3, 4]  # 5 images, batch 5: one epoch per step
    ranks = [CropSampler(blocky_split(), crop=16, scale=4, batch_size=2, augment=False, seed=3, rank=r, world_size=2) for r in (0, 1)]
    # 2 ranks x 2 crops: one epoch of 5 images spans steps 0 and 1 (positions 0-7)
    seen = ranks[0].indices(0) + ranks[1].indices(0) + ranks[0].indices(1)[:1]
    assert sorted(seen) == [0, 1, 2, 3, 4]


def test_dataloader_workers_give_the_same_batches():
    sampler = CropSampler(blocky_split(), crop=16, scale=4, batch_size=3, augment=True, seed=5)
    loader = torch.utils.data.DataLoader(StepDataset(sampler, start=10, stop=14), batch_size=None, num_workers=2)
    for step, (lr, hr) in zip(range(10, 14), loader):
        assert torch.equal(lr, sampler(step)[0]) and torch.equal(hr, sampler(step)[1])


def test_sampler_rejects_images_smaller_than_the_crop():
    with pytest.raises(ConfigError, match="img0.*smaller than the crop 64"):
        CropSampler(blocky_split(), crop=64, scale=4, batch_size=2, augment=False, seed=0)


def test_small_images_left_out_only_when_asked(tiny_dataset):
    split = blocky_split()  # HR 40-56 x 56
    kept = split.at_least(48)
    assert kept.files == ["img2", "img3", "img4"] and all(torch.equal(a, b) for a, b in zip(kept.hr, split.hr[2:]))
    assert all(torch.equal(a, b) for a, b in zip(kept.lr, split.lr[2:]))
    lr, hr = CropSampler(kept, crop=48, scale=4, batch_size=6, augment=False, seed=0)(0)
    assert hr.shape == (6, 3, 48, 48) and lr.shape == (6, 3, 12, 12)
    with pytest.raises(ConfigError, match="data.small"):
        DataConfig(small="drop")
    cfg = Config(data=DataConfig(root=str(tiny_dataset), crop=64, small="skip"))  # its images are 48x64
    with pytest.raises(ConfigError, match="every training image .* smaller than the crop 64"):
        load_data(cfg, 0, 1, torch.device("cpu"))


def test_load_split_and_centre_crop(tiny_dataset):
    train, test = load_split(tiny_dataset, "train", 4), load_split(tiny_dataset, "test", 4, limit=1)
    assert len(train.hr) == 6 and len(test.hr) == 1
    assert train.hr[0].shape == (3, 48, 64) and train.lr[0].shape == (3, 12, 16)
    crop = centre_crop(train, 32, 4)
    assert crop.hr[0].shape == (3, 32, 32) and torch.equal(crop.lr[0], train.lr[0][:, 2:10, 4:12])
    with pytest.raises(ConfigError, match="x4.*model.scale is 2"):
        load_split(tiny_dataset, "train", 2)
