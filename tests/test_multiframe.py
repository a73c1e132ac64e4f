"""Models that take neighbouring frames (model.in_frames): the network, its start from a single-frame
net, the pool's decoded neighbours and the training data stacked from them."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from clips import make_clip
from conftest import perturbed, tiny_train_overrides
from PIL import Image

from vsrgan.dataset.crops import load_split
from vsrgan.dataset.manifest import read_manifest
from vsrgan.dataset.pool import make_pool
from vsrgan.dataset.prepare import prepare
from vsrgan.dataset.realistic import RealDegradation, around, real_sequence
from vsrgan.errors import ConfigError, InputError
from vsrgan.inference.upscaler import Upscaler
from vsrgan.models import GeneratorConfig, build_generator, load_model, save_generator
from vsrgan.models.compact import with_frames
from vsrgan.training.checkpoint import initial_generator
from vsrgan.training.loop import train
from vsrgan.training.validate import bicubic_baseline

ONE = GeneratorConfig(arch="compact", skip="bicubic", num_blocks=2, num_features=8)
THREE = GeneratorConfig(arch="compact", skip="bicubic", num_blocks=2, num_features=8, in_frames=3)


def frames_in(*images: torch.Tensor) -> torch.Tensor:
    return torch.cat(images, dim=1)


def test_a_grown_single_frame_net_ignores_the_neighbours_and_a_trained_one_uses_them():
    one = perturbed(build_generator(ONE), 0.3)
    three = build_generator(THREE).eval()
    three.load_state_dict(with_frames(one.state_dict(), 3))
    g = torch.Generator().manual_seed(0)
    prev, frame, after = (torch.rand(1, 3, 12, 14, generator=g) for _ in range(3))
    with torch.no_grad():
        assert torch.equal(three(frames_in(prev, frame, after)), one(frame))
        assert torch.equal(three(frames_in(after, frame, prev)), one(frame))
        moved = perturbed(three, 0.3)  # neighbour weights no longer zero: the output depends on them, the size is one frame's
        out = moved(frames_in(prev, frame, after))
        assert out.shape == (1, 3, 48, 56) and not torch.equal(out, moved(frames_in(frame, frame, frame)))


def test_in_frames_is_odd_and_only_for_the_compact_net():
    for bad in (dict(in_frames=2), dict(in_frames=0), dict(in_frames=3, arch="span", num_blocks=1)):
        with pytest.raises(ConfigError, match="in_frames"):
            GeneratorConfig(**{"arch": "compact", "skip": "bicubic", **bad})


def test_a_single_frame_generator_starts_a_multi_frame_run_as_itself(tmp_path):
    path = tmp_path / "one.safetensors"
    one = perturbed(build_generator(ONE), 0.3)
    save_generator(one, path)
    three = build_generator(THREE).eval()
    three.load_state_dict(initial_generator(path, THREE))
    x = torch.rand(1, 3, 10, 10, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        assert torch.equal(three(frames_in(torch.zeros_like(x), x, torch.ones_like(x))), one(x))
    with pytest.raises(Exception, match="num_features"):  # only the frame count may differ
        initial_generator(path, GeneratorConfig(arch="compact", skip="bicubic", num_blocks=2, num_features=16, in_frames=3))


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    """A moving clip prepared as a dataset, and its pool with and without one decoded frame each side."""
    root = tmp_path_factory.mktemp("mf")
    make_clip(root / "moving.mp4", width=160, height=128, frames=30)
    prepare([root / "moving.mp4"], root / "clean", every=5, test_fraction=0.2, progress=False)
    make_pool(root / "clean", root / "plain", variants=3, region=128, seed=4, clip_motion=True, progress=False)
    make_pool(root / "clean", root / "context", variants=3, region=128, seed=4, clip_motion=True, context=1, progress=False)
    return root


def read(path) -> np.ndarray:
    return np.asarray(Image.open(path))


def test_the_pool_keeps_the_decoded_neighbours_and_the_same_samples(clips):
    plain, context = read_manifest(clips / "plain"), read_manifest(clips / "context")
    assert context.settings["context"] == 1 and plain.settings["context"] == 0
    assert [i.degradation for i in plain.items] == [i.degradation for i in context.items]
    moved = 0
    for a, b in zip(plain.items, context.items):
        assert a.context is None and len(b.context) == 2
        centre = read(clips / "context" / b.lr)
        assert np.array_equal(read(clips / "plain" / a.lr), centre)  # the samples are the pool's without context
        before, after = (read(clips / "context" / f) for f in b.context)
        assert before.shape == after.shape == centre.shape
        moved += not np.array_equal(before, centre)
    assert moved >= len(context.items) // 2  # the clip moves: most neighbours differ from their frame
    # a panned recipe's neighbours are its decoded sequence's frames around the target
    checked = 0
    for item in context.items:
        d = item.degradation
        if d["motion"] != "pan" or not (d["dy"] or d["dx"]) or d["target"] == 4:
            continue
        recipe = RealDegradation.from_dict({k: v for k, v in d.items() if k != "base"})
        lr_frames, _ = real_sequence(read(clips / "clean" / d["base"]), 4, recipe)
        expected = around(lr_frames, recipe.target, 1)
        assert not np.array_equal(expected[0], expected[2])  # a moving pan: before and after differ, so the order shows
        assert np.array_equal(read(clips / "context" / item.context[0]), expected[0])
        assert np.array_equal(read(clips / "context" / item.context[1]), expected[2])
        checked += 1
    assert checked


def test_around_repeats_the_ends():
    seq = [np.full((2, 2, 3), v, np.uint8) for v in range(5)]
    assert [int(f[0, 0, 0]) for f in around(seq, 0, 1)] == [0, 0, 1]
    assert [int(f[0, 0, 0]) for f in around(seq, 4, 2)] == [2, 3, 4, 4, 4]


def test_training_data_stacks_the_neighbours_on_the_channels(clips):
    one = load_split(clips / "context", "train", 4)
    three = load_split(clips / "context", "train", 4, frames=3)
    items = read_manifest(clips / "context").split("train")
    assert three.frames == 3 and one.frames == 1
    for lr, stacked, item in zip(one.lr, three.lr, items):
        assert stacked.shape == (9, *lr.shape[1:])
        assert torch.equal(stacked[3:6], lr)
        assert np.array_equal(stacked[:3].permute(1, 2, 0).numpy(), read(clips / "context" / item.context[0]))
    assert all(torch.equal(a, b) for a, b in zip(three.centre().lr, one.lr))
    still = load_split(clips / "plain", "train", 4, frames=3)  # no context: a still image, its frame repeated
    assert all(torch.equal(s[:3], s[3:6]) and torch.equal(s[6:], s[3:6]) for s in still.lr)
    with pytest.raises(InputError, match="--context 2"):
        load_split(clips / "context", "train", 4, frames=5)


def test_a_three_frame_run_trains_validates_against_bicubic_and_exports(clips, tmp_path):
    init = tmp_path / "one.safetensors"
    save_generator(perturbed(build_generator(GeneratorConfig(arch="compact", skip="bicubic", num_blocks=1, num_features=8)), 0.1), init)
    run = train(None, overrides=tiny_train_overrides(
        clips / "context", tmp_path / "run", "model.arch=compact", "model.skip=bicubic", "model.in_frames=3", f"train.init={init}",
    ))
    assert load_model(str(run.model_path)).config.in_frames == 3
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    logged = next(r["val/bicubic_psnr"] for r in records if "val/bicubic_psnr" in r)
    single = bicubic_baseline(load_split(clips / "context", "test", 4, limit=2), scale=4, device=torch.device("cpu"))
    assert logged == pytest.approx(single["psnr"])  # bicubic of the middle frame, as for one frame
    assert any("val/psnr" in r for r in records)


def test_the_degrade_cli_takes_context(clips, tmp_path):
    run = subprocess.run([sys.executable, "-m", "vsrgan", "degrade", str(clips / "clean"), "-o", str(tmp_path / "pool"), "--region", "128",
                          "--variants", "1", "--context", "9", "-q"], capture_output=True, text=True)
    assert run.returncode != 0 and "--context" in run.stderr.strip().splitlines()[-1]


def test_the_frame_path_refuses_a_multi_frame_net_in_one_line():
    with pytest.raises(ConfigError, match="takes 3 frames at once"):
        Upscaler(build_generator(THREE), device="cpu")
