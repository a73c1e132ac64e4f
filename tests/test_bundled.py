"""The models that ship inside the package: listed, the default, and better than bicubic on photos
they never saw (scikit-image's; never used for training)."""

import subprocess
import sys

import numpy as np
import pytest
import torch

from vsrgan import frames, metrics
from vsrgan.dataset.degrade import crop_to_multiple, downscale
from vsrgan.infer import Upscaler
from vsrgan.models import BUNDLED, CARD_KEY, WEIGHTS_DIR, available_models, default_model, load_model
from vsrgan.models.weights import read_metadata

X4 = WEIGHTS_DIR / BUNDLED["x4"][0]
needs_x4 = pytest.mark.skipif(not X4.is_file(), reason="the bundled x4 weights are not installed")


@needs_x4
def test_x4_is_the_default_and_listed_with_its_numbers():
    assert default_model() == "x4"
    card = read_metadata(X4)[CARD_KEY]
    assert "steps" in card and "CPU-hours" in card and "over bicubic" in card
    assert card in available_models()["x4"]
    listing = subprocess.run([sys.executable, "-m", "vsrgan", "models"], capture_output=True, text=True, check=True).stdout
    assert any(line.startswith("x4 ") and line.endswith("(default)") for line in listing.splitlines())


@needs_x4
def test_x4_is_the_compact_network_and_weighs_little():
    model = load_model("x4")
    assert model.config.arch == "compact" and not model.config.reparam and model.scale == 4
    assert X4.stat().st_size < 2_000_000


@needs_x4
@pytest.mark.parametrize("name", ["astronaut", "coffee", "chelsea"])
def test_x4_beats_bicubic_on_photos_it_never_saw(name):
    skimage_data = pytest.importorskip("skimage.data")
    hr = frames.to_tensor(getattr(skimage_data, name)())
    hr = crop_to_multiple(hr, 4)
    lr = frames.to_tensor(frames.to_numpy(downscale(hr, 4)))  # as stored: rounded to uint8
    scores = {}
    for method in ("bicubic", "x4"):
        sr = Upscaler(load_model(method), device="cpu")(lr)
        sr = frames.to_tensor(frames.to_numpy(sr))
        scores[method] = metrics.psnr(sr, hr, crop_border=4).item()
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
    for label, kwargs in {"default": {}, "x4": {"model": "x4"}, "bicubic": {"model": "bicubic"}}.items():
        outputs[label] = np.asarray(Image.open(upscale(tmp_path / "in.png", tmp_path / f"{label}.png", **kwargs)))
    assert outputs["default"].shape == (96, 128, 3)
    assert np.array_equal(outputs["default"], outputs["x4"])
    assert not np.array_equal(outputs["default"], outputs["bicubic"])
