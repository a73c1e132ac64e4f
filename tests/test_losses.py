"""VGG feature stacks and their weights, and the pixel, perceptual and adversarial losses."""

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

from vsrgan.errors import CheckpointError, ConfigError
from vsrgan.models.vgg import VGGFeatures, layer_indices, load_vgg_weights, parse_layer
from vsrgan.training.losses import AdversarialLoss, PerceptualLoss, PixelLoss


def test_layer_names_follow_torchvision_indices():
    vgg19, vgg16 = layer_indices("vgg19"), layer_indices("vgg16")
    assert vgg19["conv3_3"] == 14 and vgg19["relu3_3"] == 15  # the seed's Keras layers[9], block3_conv3 + ReLU
    assert vgg19["conv5_4"] == 34 and vgg19["relu5_4"] == 35 and vgg19["pool5"] == 36  # SRGAN's VGG54
    assert vgg16["relu5_3"] == 29 and vgg16["pool5"] == 30
    with pytest.raises(ConfigError, match="vgg16.relu5_4"):
        parse_layer("vgg16.relu5_4")


def torchvision_like_state(arch: str) -> dict[str, torch.Tensor]:
    """A full torchvision VGG state dict (features and classifier) with random values."""
    full = VGGFeatures(arch=arch, layers=("pool5",))
    state = {k: torch.randn_like(v) for k, v in full.state_dict().items()}
    state["classifier.0.weight"] = torch.randn(8, 8)  # torchvision's head: ignored
    return state


@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_weights_load_from_a_local_torchvision_file(tmp_path, suffix):
    state = torchvision_like_state("vgg16")
    path = tmp_path / f"vgg16{suffix}"
    torch.save(state, path) if suffix == ".pth" else save_file(state, str(path))
    model = load_vgg_weights(VGGFeatures(arch="vgg16", layers=("relu2_2",)), path)
    assert len(model.features) == 9  # cut after relu2_2
    assert torch.equal(model.features[7].weight, state["features.7.weight"])
    assert not any(p.requires_grad for p in model.parameters()) and not model.training


def test_weights_of_the_wrong_network_are_refused_naming_the_key(tmp_path):
    path = tmp_path / "vgg16.pth"
    torch.save(torchvision_like_state("vgg16"), path)
    with pytest.raises(CheckpointError, match=r"no .features\.16\.weight.; expected a torchvision vgg19"):
        load_vgg_weights(VGGFeatures(arch="vgg19", layers=("relu5_4",)), path)
    (tmp_path / "junk.pth").write_bytes(b"junk")
    with pytest.raises(CheckpointError, match="junk.pth.*not a readable state dict"):
        load_vgg_weights(VGGFeatures(arch="vgg16", layers=("relu1_1",)), tmp_path / "junk.pth")


def test_missing_weights_say_how_to_provide_them(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    with pytest.raises(CheckpointError) as e:
        load_vgg_weights(VGGFeatures(arch="vgg16", layers=("relu5_3",)), "auto")
    message = str(e.value)
    assert str(tmp_path / "vsrgan" / "vgg16-imagenet.safetensors") in message
    assert "--vgg-weights PATH" in message and "download" in message and "fetch_vgg16.sh" in message
    assert "\n" not in message


def test_pre_activation_taps_keep_negative_values():
    torch.manual_seed(0)
    vgg = load_vgg_weights(VGGFeatures(arch="vgg19", layers=("conv1_2", "relu1_2")), "random")
    conv, relu = vgg(torch.rand(1, 3, 16, 16))
    assert conv.min() < 0 and torch.equal(relu, conv.clamp(min=0))  # the ReLU did not overwrite the tap


def test_perceptual_loss_scale_gradient_and_identity():
    torch.manual_seed(0)
    loss = PerceptualLoss(layers=("vgg16.relu1_2", "vgg16.relu2_2"), weights="random", feature_scale=1.0)
    hr = torch.rand(2, 3, 16, 16)
    sr = torch.rand(2, 3, 16, 16, requires_grad=True)
    assert loss(hr, hr).item() == 0
    value = loss(sr, hr)
    value.backward()
    assert value > 0 and sr.grad.abs().sum() > 0
    assert not any(p.grad is not None for p in loss.parameters())
    loss.feature_scale = 0.5
    assert loss(sr, hr).item() == pytest.approx(0.25 * value.item(), rel=1e-5)  # MSE of scaled features
    loss.train()
    assert not loss.vgg.training
    with pytest.raises(ConfigError, match="one VGG"):
        PerceptualLoss(layers=("vgg16.relu1_2", "vgg19.relu1_2"), weights="random")


def test_pixel_loss_kinds():
    a, b = torch.zeros(1, 3, 2, 2), torch.full((1, 3, 2, 2), 0.5)
    assert PixelLoss(kind="l1")(a, b).item() == 0.5 and PixelLoss(kind="mse")(a, b).item() == 0.25
    with pytest.raises(ConfigError, match="l1, mse"):
        PixelLoss(kind="huber")


def test_chroma_weight_moves_the_loss_from_colour_to_luma():
    from vsrgan.metrics import rgb_to_y

    hr = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    # a pure colour error: the same Y, other Cb/Cr (a step along the null space of the Y row)
    y_row = torch.tensor([65.481, 128.553, 24.966])
    grey_free = torch.linalg.svd(y_row[None])[2][1:]  # two RGB directions that keep Y
    colour = hr + 0.05 * grey_free[0].view(1, 3, 1, 1)
    luma = hr + 0.05  # every channel up: Y changes
    assert torch.allclose(rgb_to_y(colour), rgb_to_y(hr), atol=1e-4)
    rgb, luma_only, half = PixelLoss(kind="l1"), PixelLoss(kind="l1", chroma_weight=0.0), PixelLoss(kind="l1", chroma_weight=0.5)
    assert rgb(colour, hr) == F.l1_loss(colour, hr)  # 1: plain RGB, as before
    assert luma_only(colour, hr) < 1e-5 < luma_only(luma, hr)
    assert luma_only(luma, hr) == pytest.approx(F.l1_loss(rgb_to_y(luma), rgb_to_y(hr)).item() / 255, rel=1e-4)  # Y in [0, 1] units
    assert 0 < half(colour, hr) < rgb(colour, hr)
    sr = hr.clone().requires_grad_()
    luma_only(sr + colour - hr, hr).backward()
    assert sr.grad is not None and torch.isfinite(sr.grad).all()


def test_bce_adversarial_is_sigmoid_cross_entropy():
    real, fake = torch.tensor([2.0, 1.0]), torch.tensor([-1.0, 0.5])
    gan = AdversarialLoss("bce")
    assert gan.generator(None, fake).item() == pytest.approx(-torch.log(torch.sigmoid(fake)).mean().item())
    expected_d = -torch.log(torch.sigmoid(real)).mean() - torch.log(1 - torch.sigmoid(fake)).mean()
    assert gan.discriminator(real, fake).item() == pytest.approx(expected_d.item(), rel=1e-6)


def test_relativistic_adversarial_matches_esrgan():
    real, fake = torch.tensor([2.0, 1.0, 0.0]), torch.tensor([-1.0, 0.5, 0.2])
    ra = AdversarialLoss("relativistic")
    assert ra.needs_real_logits_for_generator
    d_real, d_fake = real - fake.mean(), fake - real.mean()  # C(x) - E[C(other)]
    g = (F.softplus(d_real).mean() + F.softplus(-d_fake).mean()) / 2  # -log(1 - s(d_real)), -log s(d_fake)
    d = (F.softplus(-d_real).mean() + F.softplus(d_fake).mean()) / 2
    assert ra.generator(real, fake).item() == pytest.approx(g.item(), rel=1e-6)
    assert ra.discriminator(real, fake).item() == pytest.approx(d.item(), rel=1e-6)
    # a discriminator that separates better has a lower loss; a generator that fools it, too
    assert ra.discriminator(real + 3, fake) < ra.discriminator(real, fake)
    assert ra.generator(real, fake + 3) < ra.generator(real, fake)
    with pytest.raises(ConfigError, match="bce, relativistic"):
        AdversarialLoss("hinge")


def test_download_uses_torchvisions_url_without_touching_the_network(monkeypatch):
    import urllib.error

    state = torchvision_like_state("vgg19")
    calls = []

    def fake_download(url, **kwargs):
        calls.append((url, kwargs))
        return state

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", fake_download)
    model = load_vgg_weights(VGGFeatures(arch="vgg19", layers=("relu5_4",)), "download")
    assert calls[0][0] == "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth" and calls[0][1]["weights_only"]
    assert torch.equal(model.features[34].weight, state["features.34.weight"])

    def offline(url, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    with pytest.raises(CheckpointError, match="cannot download .*vgg19.*--vgg-weights PATH"):
        load_vgg_weights(VGGFeatures(arch="vgg19", layers=("relu5_4",)), "download")
