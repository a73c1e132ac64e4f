"""The temporal loss of x4-real (loss.temporal_weight): where a pool's neighbouring frames see their
frame's content, the crops of both through the sampler's turns and flips, the loss, and a run with it."""

import json

import numpy as np
import pytest
import torch
from conftest import make_clip, tiny_train_overrides

from vsrgan.dataset.crops import CropSampler, Split, frame_shifts, load_split, oriented
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


def overlap(a: np.ndarray, b: np.ndarray, sy: int, sx: int) -> tuple[np.ndarray, np.ndarray]:
    """``a[q]`` and ``b[q + (sy, sx)]`` where both exist (arrays ``(H, W, ...)``)."""
    h, w = a.shape[:2]
    return a[max(0, -sy) : h - max(0, sy), max(0, -sx) : w - max(0, sx)], b[max(0, sy) : h + min(0, sy), max(0, sx) : w + min(0, sx)]


def test_a_pans_neighbours_show_its_frame_moved_by_their_shift():
    """The pool's own frames, clean bicubic, a pan of whole LR pixels: the neighbour is the frame moved exactly."""
    rng = np.random.default_rng(0)
    hr = (rng.random((64, 64, 3)) * 255).astype(np.uint8).repeat(4, 0).repeat(4, 1)  # detail at every scale
    recipe = RealDegradation(y=40, x=56, size=128, dy=8, dx=-4, target=2)
    lr_frames, _ = real_sequence(hr, 4, recipe)
    shifts = frame_shifts(item_of(recipe), 3, 4)
    assert shifts == [(-8, 4), (0, 0), (8, -4)]
    for n, frame in ((0, lr_frames[1]), (2, lr_frames[3])):
        sy, sx = shifts[n]
        moved, still = overlap(frame.astype(int), lr_frames[2].astype(int), sy // 4, sx // 4)
        assert np.abs(moved - still).max() <= 1  # the same content, up to rounding
        wrong, _ = overlap(frame.astype(int), lr_frames[2].astype(int), -sy // 4, -sx // 4)
        assert np.abs(wrong - still).mean() > 20  # the other direction is not


def test_motion_is_known_only_for_a_pan_of_whole_lr_pixels_with_stored_neighbours():
    assert frame_shifts(item_of(RealDegradation(dy=4, dx=-8, target=4)), 3, 4) == [(-4, 8), (0, 0), None]  # the end frame repeats
    assert frame_shifts(item_of(RealDegradation(target=1)), 3, 4) == [(0, 0), (0, 0), (0, 0)]  # a still pan: the codec alone differs
    assert frame_shifts(item_of(RealDegradation(dy=4, dx=-3, target=2)), 3, 4) == [None, (0, 0), None]  # another sampling phase
    assert frame_shifts(item_of(RealDegradation(dy=4, dx=-3, target=2)), 3, 1) == [(-4, 3), (0, 0), (4, -3)]  # at x1 every pixel is whole
    assert frame_shifts(item_of(RealDegradation(target=1, motion="video")), 3, 4) == [None, (0, 0), None]
    assert frame_shifts(item_of(RealDegradation(dy=4, target=2), context=False), 3, 4) == [None, (0, 0), None]


def test_oriented_shifts_follow_the_crops_turns_and_flips():
    big = torch.rand(1, 40, 40, generator=torch.Generator().manual_seed(1))
    for sy, sx in [(2, 5), (-3, 1), (0, -4)]:
        a, b = big[:, 10:30, 10:30], big[:, 10 + sy : 30 + sy, 10 + sx : 30 + sx]  # a[q + s] = b[q]
        for turns in range(4):
            for flip in (False, True):
                ta, tb = (torch.rot90(t, turns, dims=(1, 2)) for t in (a, b))
                ta, tb = (t.flip(2) if flip else t for t in (ta, tb))
                ty, tx = oriented((sy, sx), turns, flip)
                moved, still = overlap(tb.permute(1, 2, 0).numpy(), ta.permute(1, 2, 0).numpy(), ty, tx)
                assert np.array_equal(moved, still), (sy, sx, turns, flip)


def shifted_split(count: int = 6, side: int = 24) -> tuple[Split, list]:
    """Stacked frames [t-1, t, t+1], each neighbour the frame moved whole LR pixels; every other pair's motion unknown."""
    g = torch.Generator().manual_seed(3)
    hrs, lrs, motion = [], [], []
    for i in range(count):
        big = (torch.rand(3, side + 8, side + 8, generator=g) * 255).to(torch.uint8)
        py, px, ny, nx = torch.randint(-2, 3, (4,), generator=g).tolist()
        lrs.append(torch.cat([big[:, 4 + dy : 4 + dy + side, 4 + dx : 4 + dx + side] for dy, dx in ((py, px), (0, 0), (ny, nx))]))
        hrs.append(torch.zeros(3, side * 4, side * 4, dtype=torch.uint8))
        motion.append([(4 * py, 4 * px), (0, 0), (4 * ny, 4 * nx)] if i % 2 == 0 else [None, (0, 0), None])
    return Split(hrs, lrs, [f"img{i}" for i in range(count)], motion), motion


def test_the_sampler_cuts_the_neighbour_at_the_same_place_and_turns_its_shift_with_it():
    data, _ = shifted_split()
    sampler = CropSampler(data, crop=64, scale=4, batch_size=6, augment=True, seed=5, neighbour=True)
    plain = CropSampler(data.centre(), crop=64, scale=4, batch_size=6, augment=True, seed=5)
    seen_known = seen_unknown = 0
    for step in range(6):
        lr, hr, lr_n, shift = sampler(step)
        assert lr.shape == lr_n.shape == (6, 3, 16, 16) and shift.shape == (6, 3)
        assert torch.equal(lr, plain(step)[0])  # the same crops and orientations as without the neighbour
        for k, (known, sy, sx) in enumerate(shift.tolist()):
            if not known:
                seen_unknown += 1
                continue
            seen_known += 1
            assert sy % 4 == 0 and sx % 4 == 0
            moved, still = overlap(lr_n[k].permute(1, 2, 0).numpy(), lr[k].permute(1, 2, 0).numpy(), sy // 4, sx // 4)
            assert np.array_equal(moved, still)
            assert not torch.equal(lr_n[k], lr[k]) or (sy, sx) == (0, 0)
    assert seen_known and seen_unknown


def test_the_sampler_refuses_single_frames():
    data, _ = shifted_split()
    with pytest.raises(ConfigError, match="--context 1"):
        CropSampler(data.centre(), crop=64, scale=4, batch_size=2, augment=True, seed=0, neighbour=True)


def test_temporal_consistency_compares_only_what_both_frames_show():
    g = torch.Generator().manual_seed(0)
    big = torch.rand(3, 3, 40, 40, generator=g)
    sr = big[:, :, 8:32, 8:32]
    sr_n = big[:, :, 8 + 3 : 32 + 3, 8 - 5 : 32 - 5]  # sr_n[q] = sr[q + (3, -5)]
    shift = torch.tensor([[1, 3, -5], [1, 3, -5], [0, 0, 0]])
    assert temporal_consistency(sr, sr_n, shift).item() == 0.0
    assert temporal_consistency(sr, sr_n, torch.tensor([[1, -3, 5]] * 3)).item() > 0.1  # the wrong way round
    noisy = sr_n.clone()
    noisy[2] += 0.5  # unknown motion: left out
    assert temporal_consistency(sr, noisy, shift).item() == 0.0
    noisy[0, :, 12, 12] += 1.0  # one pixel inside the overlap flickers
    assert temporal_consistency(sr, noisy, shift).item() > 0
    assert temporal_consistency(sr, noisy, torch.zeros(3, 3, dtype=torch.long)).item() == 0.0  # none known: 0
    one = torch.tensor([[1, 3, -5], [0, 0, 0], [0, 0, 0]])
    assert temporal_consistency(sr, noisy, one).item() == pytest.approx(temporal_consistency(sr[:1], noisy[:1], one[:1]).item() / 3)  # a mean over the batch


@pytest.fixture(scope="module")
def pans(tmp_path_factory):
    """A clip prepared as a dataset, and its pool of pans with one decoded frame each side."""
    root = tmp_path_factory.mktemp("temporal")
    make_clip(root / "moving.mp4", width=160, height=128, frames=20)
    prepare([root / "moving.mp4"], root / "clean", every=4, test_fraction=0.2, progress=False)
    make_pool(root / "clean", root / "pool", variants=6, region=128, seed=1, context=1, progress=False)
    make_pool(root / "clean", root / "flat", variants=1, region=128, seed=1, progress=False)
    return root


def test_pool_motion_reaches_training_data(pans):
    data = load_split(pans / "pool", "train", 4, frames=3)
    items = read_manifest(pans / "pool").split("train")
    assert data.motion == [frame_shifts(item, 3, 4) for item in items]
    assert any(s[0] is not None for s in data.motion) and any(s[0] is None for s in data.motion)  # whole-pixel pans and the rest
    assert load_split(pans / "pool", "train", 4).motion is None


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
    data, _ = shifted_split(count=4)
    lr, hr, lr_n, shift = CropSampler(data, crop=64, scale=4, batch_size=4, augment=True, seed=2, neighbour=True)(0)
    lr, lr_n, hr = lr.float() / 255, lr_n.float() / 255, hr.float() / 255
    lr_n = (lr_n + 0.1 * torch.rand(lr_n.shape, generator=torch.Generator().manual_seed(1))).clamp(0, 1)  # a codec's differences
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    losses = [pretrain_step(generator=net, opt_g=opt, scaler=scaler, pixel=PixelLoss(), lr=lr, hr=hr, amp=None, weight=0.0, clip=0.0,
                            neighbour=(lr_n, shift), temporal_weight=1.0)["loss/temporal"].item() for _ in range(30)]
    assert losses[-1] < 0.5 * losses[0]
