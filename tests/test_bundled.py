"""The models that ship inside the package: listed, the default, and better than bicubic on photos
they never saw (scikit-image's; never used for training)."""

import re
import subprocess
import sys

import numpy as np
import pytest
import torch

from vsrgan import metrics
from vsrgan.dataset.degrade import crop_to_multiple, downscale
from vsrgan.inference.upscaler import Upscaler
from vsrgan.io import frames
from vsrgan.models import BUNDLED, CARD_KEY, WEIGHTS_DIR, available_models, default_model, load_model
from vsrgan.models.weights import read_metadata

X4 = WEIGHTS_DIR / BUNDLED["x4"][0]
X4_GAN = WEIGHTS_DIR / BUNDLED["x4-gan"][0]
needs_x4 = pytest.mark.skipif(not X4.is_file(), reason="the bundled x4 weights are not installed")
needs_x4_gan = pytest.mark.skipif(not (X4.is_file() and X4_GAN.is_file()), reason="the bundled x4-gan weights are not installed")


def photo_pair(name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """A scikit-image photo (never trained on) and its x4 downscale as stored: rounded to uint8."""
    skimage_data = pytest.importorskip("skimage.data")
    hr = crop_to_multiple(frames.to_tensor(getattr(skimage_data, name)()), 4)
    return hr, frames.to_tensor(frames.to_numpy(downscale(hr, 4)))


def upscaled(method: str, lr: torch.Tensor) -> torch.Tensor:
    return frames.to_tensor(frames.to_numpy(Upscaler(load_model(method), device="cpu")(lr)))


def card_numbers(name: str) -> dict:
    """The numbers a bundled model's card states, read back from its text."""
    card = read_metadata(WEIGHTS_DIR / BUNDLED[name][0])[CARD_KEY]
    found = re.search(r"^(\d+)k parameters, ([\d,]+) steps, .*PSNR-Y ([\d.]+) dB on astronaut/coffee/chelsea \(([+-][\d.]+) dB over bicubic\)", card)
    assert found, card
    params, steps, psnr, gain = found.groups()
    return {"params": int(params), "steps": int(steps.replace(",", "")), "psnr": float(psnr), "gain": float(gain)}


@pytest.mark.parametrize("name", sorted(BUNDLED))
def test_a_cards_numbers_are_its_models(name):
    """Each card's parameter count, steps and photo scores, recomputed here from the weights."""
    path = WEIGHTS_DIR / BUNDLED[name][0]
    if not path.is_file():
        pytest.skip(f"the bundled {name} weights are not installed")
    stated = card_numbers(name)
    model = load_model(name)
    assert stated["params"] == round(sum(p.numel() for p in model.parameters()) / 1000)
    assert stated["steps"] == int(read_metadata(path)["vsrgan.step"])
    psnr = {"model": [], "bicubic": []}
    for photo in ("astronaut", "coffee", "chelsea"):
        hr, lr = photo_pair(photo)
        for method, key in ((name, "model"), ("bicubic", "bicubic")):
            psnr[key].append(metrics.psnr(upscaled(method, lr), hr, crop_border=4).item())
    mean = {k: sum(v) / 3 for k, v in psnr.items()}
    assert abs(mean["model"] - stated["psnr"]) <= 0.006
    assert abs(mean["model"] - mean["bicubic"] - stated["gain"]) <= 0.006


def detail(x: torch.Tensor) -> float:
    """Mean absolute Laplacian of the luma: how much fine detail an image holds."""
    y = metrics.rgb_to_y(x.double())
    kernel = torch.tensor([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=y.dtype).view(1, 1, 3, 3)
    return torch.nn.functional.conv2d(y, kernel).abs().mean().item()


@needs_x4
def test_x4_is_the_default_and_listed_with_its_numbers():
    assert default_model() == "x4"
    card = read_metadata(X4)[CARD_KEY]
    assert "steps" in card and "CPU-hours" in card and "over bicubic" in card
    assert card in available_models()["x4"]
    listing = subprocess.run([sys.executable, "-m", "vsrgan", "models"], capture_output=True, text=True, check=True).stdout
    assert any(line.startswith("x4 ") and line.endswith("(default, at --denoise auto when no -m is given)") for line in listing.splitlines())


@needs_x4
def test_x4_is_the_compact_network_and_weighs_little():
    model = load_model("x4")
    assert model.config.arch == "compact" and not model.config.reparam and model.scale == 4
    assert X4.stat().st_size < 2_000_000


@needs_x4
@pytest.mark.parametrize("name", ["astronaut", "coffee", "chelsea"])
def test_x4_beats_bicubic_on_photos_it_never_saw(name):
    hr, lr = photo_pair(name)
    scores = {method: metrics.psnr(upscaled(method, lr), hr, crop_border=4).item() for method in ("bicubic", "x4")}
    assert scores["x4"] > scores["bicubic"] + 0.5, scores


@needs_x4
def test_x4_tiled_equals_whole_on_a_real_frame():
    rng = np.random.default_rng(0)
    frame = torch.from_numpy(rng.random((1, 3, 70, 90), dtype=np.float32))
    model = load_model("x4")
    whole = Upscaler(model, device="cpu")(frame)
    tiled = Upscaler(model, device="cpu", tile=32)(frame)
    assert (whole - tiled).abs().max() < 1e-4


@needs_x4
def test_the_python_api_uses_the_bundled_default_like_the_cli(tmp_path):
    from PIL import Image

    from vsrgan import upscale

    rng = np.random.default_rng(1)
    Image.fromarray(rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)).save(tmp_path / "in.png")
    outputs = {}
    cases = {"default": {}, "x4": {"model": "x4"}, "x4-dn50": {"model": "x4", "denoise": 0.5}, "bicubic": {"model": "bicubic"}}
    for label, kwargs in cases.items():
        outputs[label] = np.asarray(Image.open(upscale(tmp_path / "in.png", tmp_path / f"{label}.png", **kwargs)))
    assert outputs["default"].shape == (96, 128, 3)
    assert np.array_equal(outputs["default"], outputs["x4-dn50"])  # an image: its compression unknown, so --denoise auto is 0.5 (MODELS.md, x4-real)
    assert not np.array_equal(outputs["default"], outputs["x4"])
    assert not np.array_equal(outputs["default"], outputs["bicubic"])


@needs_x4_gan
def test_x4_gan_is_listed_and_is_the_same_compact_network():
    card = read_metadata(X4_GAN)[CARD_KEY]
    assert "steps" in card and card in available_models()["x4-gan"]
    model = load_model("x4-gan")
    assert model.config.arch == "compact" and model.scale == 4 and X4_GAN.stat().st_size < 2_000_000
    assert default_model() == "x4"  # fidelity stays the default


@needs_x4_gan
@pytest.mark.parametrize("name", ["astronaut", "coffee", "chelsea"])
def test_x4_gan_draws_more_detail_than_x4_and_stays_above_bicubic(name):
    """What stage 2 is for: texture where the pixel loss averages it away, so more fine detail
    than x4 (toward the original's), while still closer to the original than bicubic."""
    hr, lr = photo_pair(name)
    outputs = {method: upscaled(method, lr) for method in ("bicubic", "x4", "x4-gan")}
    assert detail(outputs["x4"]) < detail(outputs["x4-gan"]) <= 1.2 * detail(hr)
    psnr = {m: metrics.psnr(sr, hr, crop_border=4).item() for m, sr in outputs.items()}
    assert psnr["x4-gan"] > psnr["bicubic"], psnr


@needs_x4_gan
def test_x4_gan_is_perceptually_closer_than_x4_and_bicubic():
    """Issue 10's target: a lower VGG distance than both, on the photos (where VGG16 is installed)."""
    from vsrgan.models.vgg import default_weights_path

    if not default_weights_path("vgg16").is_file():
        pytest.skip("VGG16 weights not installed: scripts/data/fetch_vgg16.sh")
    vgg = metrics.lpips_vgg()
    distance = dict.fromkeys(("bicubic", "x4", "x4-gan"), 0.0)
    for name in ("astronaut", "coffee", "chelsea"):
        hr, lr = photo_pair(name)
        for method in distance:
            distance[method] += metrics.perceptual_distance(upscaled(method, lr), hr, vgg).item()
    assert distance["x4-gan"] < distance["x4"] < distance["bicubic"], distance
