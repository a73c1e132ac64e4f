"""The compact CPU generator, its re-parameterised training, and the data and logging it trains with."""

import json

import numpy as np
import pytest
import torch
from conftest import make_image_folder, perturbed, tiny_train_overrides
from PIL import Image

from vsrgan.dataset.crops import CropSampler, Split, texture
from vsrgan.dataset.degrade import shrink
from vsrgan.dataset.prepare import prepare
from vsrgan.errors import ConfigError
from vsrgan.inference.upscaler import Upscaler
from vsrgan.models import Bicubic, CompactGenerator, GeneratorConfig, build_generator, load_generator, load_model, save_generator
from vsrgan.training.checkpoint import load_checkpoint
from vsrgan.training.curve import read_records
from vsrgan.training.loop import train


def compact(**kwargs) -> CompactGenerator:
    return build_generator(GeneratorConfig(arch="compact", skip="bicubic", **{"num_features": 8, "num_blocks": 3, **kwargs}))



@pytest.mark.parametrize("scale", [2, 4])
def test_compact_starts_near_bicubic_with_a_live_first_layer(scale):
    torch.manual_seed(0)
    g = compact(scale=scale)
    x = torch.rand(2, 3, 12, 10)
    y = g(x)
    assert y.shape == (2, 3, 12 * scale, 10 * scale)
    assert (y - Bicubic(scale=scale)(x)).abs().max() < 0.05  # near bicubic, not stuck on it
    (y - torch.rand_like(y)).square().mean().backward()
    assert g.head.weight.grad.abs().mean() > 1e-6  # the gradient reaches the first layer at step one


@pytest.mark.parametrize("reparam", [False, True])
def test_compact_receptive_radius_bounds_the_influence_of_a_pixel(reparam):
    g = perturbed(compact(reparam=reparam))
    x = torch.rand(1, 3, 30, 30)
    x2 = x.clone()
    x2[..., 0, 0] += 0.5
    with torch.no_grad():
        d = (g(x) - g(x2)).abs()[0].amax(0)
    r = g.receptive_radius
    assert d[4 * (r + 1) :, :].max() == 0 and d[:, 4 * (r + 1) :].max() == 0
    assert d[: 4 * r, : 4 * r].max() > 0


def test_reparam_branches_fold_into_the_plain_network_exactly(tmp_path):
    branchy = perturbed(compact(reparam=True))
    x = torch.rand(2, 3, 9, 13)
    with torch.no_grad():
        expected = branchy(x)
        folded = branchy.fused()
        assert folded.config == GeneratorConfig(arch="compact", skip="bicubic", num_features=8, num_blocks=3)
        assert torch.allclose(folded(x), expected, atol=1e-5)
        assert sum(p.numel() for p in folded.parameters()) < sum(p.numel() for p in branchy.parameters())
        path = save_generator(branchy, tmp_path / "g.safetensors")  # written folded
        loaded = load_generator(path)
        assert not loaded.config.reparam
        assert torch.allclose(loaded(x), expected, atol=1e-5)


def test_compact_weights_go_through_the_upscaler_tiled_and_whole(tmp_path):
    path = save_generator(perturbed(compact(reparam=True)), tmp_path / "g.safetensors")
    model = load_model(str(path))
    frame = torch.rand(1, 3, 40, 56)
    whole = Upscaler(model, device="cpu")(frame)
    tiled = Upscaler(model, device="cpu", tile=16)(frame)
    assert whole.shape == (1, 3, 160, 224)
    assert (whole - tiled).abs().max() < 1e-5


def test_compact_configs_are_checked():
    with pytest.raises(ConfigError, match="bicubic"):
        GeneratorConfig(arch="compact", skip="none")
    with pytest.raises(ConfigError, match="reparam"):
        GeneratorConfig(reparam=True)
    with pytest.raises(ConfigError, match="arch"):
        GeneratorConfig(arch="transformer")


# ---- data --------------------------------------------------------------------------------------


def test_texture_aware_crops_pick_the_detailed_part():
    """Left half flat grey, right half noise: with 8 tries nearly every crop lands on the noise."""
    g = torch.Generator().manual_seed(0)
    lr = torch.full((3, 16, 64), 128, dtype=torch.uint8)
    lr[:, :, 32:] = torch.randint(0, 256, (3, 16, 32), generator=g, dtype=torch.uint8)
    hr = lr.repeat_interleave(4, 1).repeat_interleave(4, 2)
    data = Split([hr], [lr], ["half.png"])
    plain = CropSampler(data, crop=32, scale=4, batch_size=64, augment=False, seed=0)
    picky = CropSampler(data, crop=32, scale=4, batch_size=64, augment=False, seed=0, tries=8)
    scores = [[texture(crop) for crop in sampler(0)[0]] for sampler in (plain, picky)]
    flat_plain, flat_picky = (sum(s == 0 for s in each) for each in scores)
    assert flat_plain > 10 and flat_picky == 0
    lr_crops, hr_crops = picky(3)
    assert torch.equal(lr_crops.repeat_interleave(4, 2).repeat_interleave(4, 3), hr_crops)  # still aligned
    assert all(torch.equal(a, b) for a, b in zip(picky(3), picky(3)))  # still a pure function of the step


def test_shrink_keeps_the_aspect_and_leaves_small_images_alone():
    image = np.random.default_rng(0).integers(0, 256, (300, 500, 3), dtype=np.uint8)
    small = shrink(image, 120)
    assert small.shape == (120, 200, 3) and small.dtype == np.uint8
    assert shrink(image, 0) is image and shrink(image, 300) is image
    flat = np.full((300, 500, 3), 77, dtype=np.uint8)
    assert (shrink(flat, 120) == 77).all()


def test_prepare_shrinks_large_photos(tmp_path):
    make_image_folder(tmp_path / "photos", count=4, width=210, height=130)
    prepare([tmp_path / "photos"], tmp_path / "data", scale=4, test_fraction=0.25, max_short_side=64, progress=False)
    manifest = json.loads((tmp_path / "data" / "manifest.json").read_text())
    assert manifest["max_short_side"] == 64
    for item in manifest["items"]:
        hr, lr = (np.array(Image.open(tmp_path / "data" / item[key])) for key in ("hr", "lr"))
        assert hr.shape == (64, 100, 3)  # 130x210 -> 64x103, cropped to a multiple of 4
        assert lr.shape == (16, 25, 3)
    with pytest.raises(ConfigError, match="max-short-side"):
        prepare([tmp_path / "photos"], tmp_path / "bad", max_short_side=10, progress=False)


# ---- training ----------------------------------------------------------------------------------

COMPACT = ["model.arch=compact", "model.skip=bicubic", "model.reparam=true", "data.crop_tries=3"]


def test_compact_run_resumes_exactly_and_counts_its_hours(tiny_dataset, tmp_path):
    extra = [*COMPACT, "train.steps=6", "log.ckpt_every=3", "log.val_every=3", "log.log_every=1"]
    train(None, overrides=tiny_train_overrides(tiny_dataset, tmp_path / "whole", *extra))
    train(None, overrides=tiny_train_overrides(tiny_dataset, tmp_path / "cut", *extra, "train.steps=3"))
    resumed = train(None, overrides=tiny_train_overrides(tiny_dataset, tmp_path / "cut", *extra), resume=True)
    assert resumed.step == 6
    a, b = (load_checkpoint(tmp_path / run / "checkpoints" / "step_00000006.pt") for run in ("whole", "cut"))
    for key in ("generator", "ema", "opt_g"):
        flat_a, flat_b = torch.utils._pytree.tree_leaves(a[key]), torch.utils._pytree.tree_leaves(b[key])
        assert all(torch.equal(x, y) if torch.is_tensor(x) else x == y for x, y in zip(flat_a, flat_b)), key
    records = read_records(tmp_path / "cut" / "metrics.jsonl")
    hours = [r["time/cpu_hours"] for r in records]
    assert hours == sorted(hours) and hours[-1] > 0  # the second chunk continues the first's clock
    assert b["spent"]["cpu"] >= hours[-2] * 3600
    assert (tmp_path / "cut" / "curve.png").stat().st_size > 1000
    exported = load_generator(resumed.model_path)
    assert exported.config.arch == "compact" and not exported.config.reparam


def test_gan_stage_continues_a_reparam_pretrain_folded(tiny_dataset, tmp_path):
    pre = train(None, overrides=tiny_train_overrides(tiny_dataset, tmp_path / "pre", *COMPACT, "train.steps=2"))
    checkpoint = tmp_path / "pre" / "checkpoints" / "step_00000002.pt"
    gan = train(None, overrides=tiny_train_overrides(
        tiny_dataset, tmp_path / "gan", "model.arch=compact", "model.skip=bicubic", "model.reparam=false",
        "train.stage=gan", f"train.init={checkpoint}", "train.steps=1",
    ))
    assert gan.step == 1
    start = load_generator(pre.model_path)  # the same folded EMA the GAN stage started from
    x = torch.rand(1, 3, 12, 12)
    with torch.no_grad():
        assert (gan.generator(x) - start(x)).abs().max() < 0.05
