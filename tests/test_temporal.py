"""The temporal loss of x4-real (loss.temporal_weight): which of a pool's neighbouring frames show
their frame's view, the crops of both, the loss, and a run with it."""

import json

import numpy as np
import pytest
import torch
from clips import make_clip
from conftest import tiny_train_overrides

from vsrgan.dataset.codecs import Codec
from vsrgan.dataset.crops import CropSampler, Split, load_split, still_neighbours
from vsrgan.dataset.manifest import ManifestItem, read_manifest
from vsrgan.dataset.pool import make_pool
from vsrgan.dataset.prepare import prepare
from vsrgan.dataset.realistic import RealDegradation, real_sequence
from vsrgan.errors import ConfigError
from vsrgan.models import GeneratorConfig, build_generator
from vsrgan.training.loop import train
from vsrgan.training.losses import PixelLoss, temporal_consistency
from vsrgan.training.steps import pretrain_step


def item_of(recipe: RealDegradation, context: bool = True) -> ManifestItem:
    return ManifestItem(split="train", hr="train/hr/a.png", lr="train/lr_x4/a.png", source="a.png",
                        degradation={"base": "train/hr/a.png", **recipe.to_dict()}, context=["p.png", "n.png"] if context else None)


def test_a_still_recipes_frames_differ_by_the_codec_alone():
    rng = np.random.default_rng(0)
    hr = (rng.random((64, 64, 3)) * 255).astype(np.uint8).repeat(4, 0).repeat(4, 1)
    clean, _ = real_sequence(hr, 4, RealDegradation(y=40, x=56, size=128, target=2))
    assert all(np.array_equal(f, clean[2]) for f in clean)  # nothing but the codec could make them differ
    coded, _ = real_sequence(hr, 4, RealDegradation(y=40, x=56, size=128, target=2, codec=Codec("x264", crf=30, preset="ultrafast")))

    def difference(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.abs(a.astype(int) - b).mean())

    assert 0 < difference(coded[3], coded[2]) < difference(coded[2], np.roll(coded[2], 1, axis=1)) / 5  # by its artifacts, not by moving


def test_only_a_still_pans_stored_neighbours_show_its_view():
    assert still_neighbours(item_of(RealDegradation(target=2)), 3) == [0, 2]
    assert still_neighbours(item_of(RealDegradation(target=4)), 3) == [0]  # the end frame repeats in the next one's place
    assert still_neighbours(item_of(RealDegradation(target=1)), 5) == [1, 3, 4]  # the sequence has no frame before its first
    assert still_neighbours(item_of(RealDegradation(dy=4, dx=-8, target=2)), 3) == []  # moved: other surroundings at the edges
    assert still_neighbours(item_of(RealDegradation(dx=1, target=2)), 3) == []
    assert still_neighbours(item_of(RealDegradation(target=1, motion="video")), 3) == []
    assert still_neighbours(item_of(RealDegradation(target=2), context=False), 3) == []


def stacked_split(count: int = 6, side: int = 24) -> Split:
    """Stacked frames [t-1, t, t+1]; the neighbours of every other pair are still (their frame, inverted, so
    that a test can tell them apart), the others moved."""
    g = torch.Generator().manual_seed(3)
    hrs, lrs, still = [], [], []
    for i in range(count):
        frame = (torch.rand(3, side, side, generator=g) * 255).to(torch.uint8)
        moved = (torch.rand(3, side, side, generator=g) * 255).to(torch.uint8)
        lrs.append(torch.cat([255 - frame, frame, 255 - frame] if i % 2 == 0 else [moved, frame, moved]))
        hrs.append(torch.zeros(3, side * 4, side * 4, dtype=torch.uint8))
        still.append([0, 2] if i % 2 == 0 else [])
    return Split(hrs, lrs, [f"img{i}" for i in range(count)], still)


def test_the_sampler_cuts_a_still_neighbour_as_its_frame_and_only_for_still_samples():
    data = stacked_split()
    sampler = CropSampler(data, crop=64, scale=4, batch_size=6, augment=True, seed=5, neighbour=True)
    plain = CropSampler(data.centre(), crop=64, scale=4, batch_size=6, augment=True, seed=5)
    for step in range(6):
        lr, hr, lr_n, which = sampler(step)
        assert torch.equal(lr, plain(step)[0])  # the same crops and orientations as without the neighbours
        assert which.tolist() == [k for k, index in enumerate(sampler.indices(step)) if index % 2 == 0]
        assert lr_n.shape == (len(which), 3, 16, 16)
        assert torch.equal(lr_n, 255 - lr[which])  # the neighbour cut at its frame's place, turned as it


def test_the_sampler_refuses_single_frames():
    with pytest.raises(ConfigError, match="--context 1"):
        CropSampler(stacked_split().centre(), crop=64, scale=4, batch_size=2, augment=True, seed=0, neighbour=True)


def test_temporal_consistency_is_a_mean_over_the_batch_of_the_still_samples_differences():
    sr = torch.rand(4, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    which = torch.tensor([1, 3])
    assert temporal_consistency(sr, sr[which].clone(), which).item() == 0.0
    flicker = sr[which].clone()
    flicker[0] += 0.2
    assert temporal_consistency(sr, flicker, which).item() == pytest.approx(0.2 * 1 / 2 * 2 / 4)  # one of the 2 still samples off by 0.2; 2 of 4 samples
    assert temporal_consistency(sr, flicker, torch.tensor([0, 3])).item() > 0.05  # compared with the wrong frames
    assert temporal_consistency(sr, sr[:0], torch.tensor([], dtype=torch.int64)).item() == 0.0


@pytest.fixture(scope="module")
def pans(tmp_path_factory):
    """A clip prepared as a dataset, and its pool of pans with one decoded frame each side."""
    root = tmp_path_factory.mktemp("temporal")
    make_clip(root / "moving.mp4", width=160, height=128, frames=20)
    prepare([root / "moving.mp4"], root / "clean", every=4, test_fraction=0.2, progress=False)
    make_pool(root / "clean", root / "pool", variants=6, region=128, seed=1, context=1, progress=False)
    make_pool(root / "clean", root / "flat", variants=1, region=128, seed=1, progress=False)
    return root


def test_the_pools_still_samples_reach_training_data(pans):
    data = load_split(pans / "pool", "train", 4, frames=3)
    items = read_manifest(pans / "pool").split("train")
    assert data.still == [still_neighbours(item, 3) for item in items]
    assert any(data.still) and not all(data.still)
    for lr, still in zip(data.lr, data.still):
        assert all(torch.equal(lr[3 * n : 3 * n + 3], lr[3:6]) or (lr[3 * n : 3 * n + 3].float() - lr[3:6].float()).abs().mean() < 8 for n in still)
    assert load_split(pans / "pool", "train", 4).still is None


def test_a_run_with_the_temporal_loss_logs_it_and_a_pool_without_neighbours_is_refused(pans, tmp_path):
    run = train(None, overrides=tiny_train_overrides(
        pans / "pool", tmp_path / "run", "model.arch=compact", "model.skip=bicubic", "loss.temporal_weight=1.0", "data.batch_size=8",
    ))
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    temporal = [r["loss/temporal"] for r in records if "loss/temporal" in r]
    assert temporal and all(t > 0 for t in temporal)  # the codec makes the two frames' outputs differ
    assert run.generator.config.in_frames == 1 and any("val/psnr" in r for r in records)
    with pytest.raises(ConfigError, match="--context 1"):
        train(None, overrides=tiny_train_overrides(pans / "flat", tmp_path / "flat", "model.arch=compact", "model.skip=bicubic", "loss.temporal_weight=1.0"))
    with pytest.raises(ConfigError, match="temporal_weight"):
        train(None, overrides=tiny_train_overrides(pans / "pool", tmp_path / "gan", "model.in_frames=3", "model.arch=compact", "model.skip=bicubic", "loss.temporal_weight=1.0"))


def test_the_temporal_term_pulls_the_two_frames_outputs_together():
    """Only the temporal term (pixel weight 0): steps on one batch make the outputs of the two frames agree."""
    torch.manual_seed(0)
    net = build_generator(GeneratorConfig(arch="compact", skip="bicubic", num_blocks=2, num_features=8))
    lr, hr, lr_n, which = CropSampler(stacked_split(count=4), crop=64, scale=4, batch_size=4, augment=True, seed=2, neighbour=True)(0)
    lr, hr = lr.float() / 255, hr.float() / 255
    lr_n = (lr[which] + 0.1 * torch.rand(lr[which].shape, generator=torch.Generator().manual_seed(1))).clamp(0, 1)  # a codec's differences
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    losses = [pretrain_step(generator=net, opt_g=opt, scaler=scaler, pixel=PixelLoss(), lr=lr, hr=hr, amp=None, weight=0.0, clip=0.0,
                            neighbour=(lr_n, which), temporal_weight=1.0)["loss/temporal"].item() for _ in range(30)]
    assert losses[-1] < 0.5 * losses[0]
