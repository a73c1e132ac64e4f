"""The x4 candidates beside the compact net (issue #26): span, rlfn, halfres.

Each must: upscale x4 any size, fold its training branches exactly, rebuild itself from its
.safetensors, tile exactly with its receptive radius, and refuse a config it cannot build.
"""

import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from conftest import perturbed, tiny_train_overrides
from safetensors.torch import load_file, save_file

from vsrgan.errors import CheckpointError, ConfigError
from vsrgan.inference.upscaler import Upscaler
from vsrgan.models import Bicubic, GeneratorConfig, build_generator, load_generator, load_model, save_generator
from vsrgan.models.compact import RepConv
from vsrgan.models.weights import CONFIG_KEY, read_metadata
from vsrgan.training.config import load_config
from vsrgan.training.loop import train

ARCHS = ["span", "rlfn", "halfres"]


def small(arch: str, **kwargs) -> torch.nn.Module:
    return build_generator(GeneratorConfig(arch=arch, skip="bicubic", **{"num_features": 8, "num_blocks": 2, **kwargs}))


@pytest.mark.parametrize("arch", ARCHS)
def test_upscales_an_odd_sized_input_x4_starting_near_bicubic(arch):
    torch.manual_seed(0)
    g = small(arch, reparam=True)
    assert type(g).__module__ == f"vsrgan.models.{arch}"  # build_generator's map
    x = torch.rand(2, 3, 13, 11)
    y = g(x)
    assert y.shape == (2, 3, 52, 44)
    assert (y - Bicubic(scale=4)(x)).abs().max() < 0.05
    (y - torch.rand_like(y)).square().mean().backward()
    assert g.head.weight.grad.abs().mean() > 1e-7  # the gradient reaches the first layer at step one


def test_halfres_continues_an_odd_side_by_its_edge():
    """halfres works on 2x2 cells, so an odd side is padded by one pixel: a repeat of the edge. An odd
    frame then upscales exactly as the frame with that row and column really repeated does, cropped
    (black padding would darken the last row and column the network sees)."""
    g = perturbed(small("halfres"), scale=0.1)
    x = torch.rand(1, 3, 13, 11)
    with torch.no_grad():
        odd = g(x)
        even = g(torch.nn.functional.pad(x, (0, 1, 0, 1), mode="replicate"))[..., :52, :44]  # (1, 3, 56, 48) cropped
    assert (odd - even).abs().max() < 1e-5

@pytest.mark.parametrize("arch", ARCHS)
def test_branches_fold_into_the_deployed_network_exactly(arch):
    branchy = perturbed(small(arch, reparam=True), scale=0.1)  # every branch far from its init
    x = torch.rand(2, 3, 13, 11)
    with torch.no_grad():
        expected = branchy(x)
        folded = branchy.fused()
        got = folded(x)
    assert folded.config == GeneratorConfig(arch=arch, skip="bicubic", num_features=8, num_blocks=2)
    assert not any(isinstance(m, RepConv) for m in folded.modules())
    assert sum(p.numel() for p in folded.parameters()) < sum(p.numel() for p in branchy.parameters())
    assert (expected - Bicubic(scale=4)(x)).abs().max() > 0.05  # the branches matter
    assert (got - expected).abs().max() < 1e-4


@pytest.mark.parametrize("reparam", [False, True])
@pytest.mark.parametrize("arch", ARCHS)
def test_weights_rebuild_their_network(arch, reparam, tmp_path):
    model = perturbed(small(arch, num_features=16, num_blocks=1, reparam=reparam))
    path = save_generator(model, tmp_path / "g.safetensors")
    loaded = load_model(str(path))
    assert loaded.config == replace(model.config, reparam=False)  # written folded
    assert type(loaded) is type(model)
    x = torch.rand(1, 3, 9, 14)
    with torch.no_grad():
        assert torch.equal(loaded(x), model.fused()(x))
    assert load_generator(path).receptive_radius == model.receptive_radius


@pytest.mark.parametrize("arch", ARCHS)
def test_receptive_radius_bounds_the_influence_of_a_pixel(arch):
    g = perturbed(small(arch))
    x = torch.rand(1, 3, 64, 64)
    x2 = x.clone()
    x2[..., 0, 0] += 0.5  # even: halfres's cell reaches farthest from its first pixel
    with torch.no_grad():
        d = (g(x) - g(x2)).abs()[0].amax(0)
    r = g.receptive_radius
    assert d[4 * (r + 1) :, :].max() == 0 and d[:, 4 * (r + 1) :].max() == 0
    assert d[4 * r : 4 * (r + 1), : 4 * r].max() > 0  # the radius is not larger than it must be


@pytest.mark.parametrize("tile", [16, 15])
@pytest.mark.parametrize("arch", ARCHS)
def test_tiles_stitch_to_the_whole_frame(arch, tile, tmp_path):
    path = save_generator(perturbed(small(arch, reparam=True)), tmp_path / "g.safetensors")
    model = load_model(str(path))
    frame = torch.rand(1, 3, 41, 57)
    whole = Upscaler(model, device="cpu")(frame)
    tiled = Upscaler(model, device="cpu", tile=tile)(frame)
    assert whole.shape == (1, 3, 164, 228)
    assert (whole - tiled).abs().max() < 1e-5


@pytest.mark.parametrize("arch", ARCHS)
def test_configs_are_checked(arch):
    with pytest.raises(ConfigError, match="bicubic") as caught:
        GeneratorConfig(arch=arch, skip="none")
    assert "\n" not in str(caught.value)  # one line, as the CLI prints it
    with pytest.raises(ConfigError, match="reparam"):
        GeneratorConfig(arch="srresnet", reparam=True)
    GeneratorConfig(arch=arch, skip="bicubic", reparam=True)
    if arch != "halfres":
        with pytest.raises(ConfigError, match="num_blocks"):
            GeneratorConfig(arch=arch, skip="bicubic", num_blocks=0)


@pytest.mark.parametrize("arch", ARCHS)
def test_a_weights_file_with_a_bad_config_is_one_line(arch, tmp_path):
    path = save_generator(small(arch), tmp_path / "g.safetensors")
    meta = read_metadata(path)
    config = {**json.loads(meta[CONFIG_KEY]), "skip": "none"}
    state = load_file(str(path))
    save_file(state, str(path), metadata={**meta, CONFIG_KEY: json.dumps(config)})
    with pytest.raises(CheckpointError, match="invalid generator config.*bicubic") as caught:
        load_generator(path)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("arch", ARCHS)
def test_a_pretrain_run_exports_the_folded_network(arch, tiny_dataset, tmp_path):
    extra = [f"model.arch={arch}", "model.skip=bicubic", "model.reparam=true", "train.steps=2"]
    result = train(None, overrides=tiny_train_overrides(tiny_dataset, tmp_path / "run", *extra))
    exported = load_generator(result.model_path)
    assert exported.config.arch == arch and not exported.config.reparam


STUDY = Path(__file__).resolve().parent.parent / "configs" / "study"


def test_study_configs_differ_only_in_the_model():
    configs = {p.stem: load_config(p) for p in sorted(STUDY.glob("*.toml"))}
    extra = configs.pop("x4-extra")  # the data study: x4 on more photos, same test split (prepare_extra.sh)
    assert extra == replace(configs["x4"], data=replace(configs["x4"].data, root="data/train-x4-extra"))
    assert set(configs) == {"x4", *ARCHS}
    control = load_config(STUDY.parent / "x4.toml")
    assert configs["x4"].model == control.model
    for name, c in configs.items():
        assert c.model.arch == ("compact" if name == "x4" else name)
        assert (c.data, c.loss, c.optim) == (control.data, control.loss, control.optim), name
        assert c.log == control.log and c.train == replace(control.train, seed=0), name
        build_generator(c.model.generator())


@pytest.mark.parametrize("arch", ARCHS)
def test_onnx_export_keeps_any_size(arch, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    from vsrgan.inference.export import export_onnx

    model = perturbed(small(arch, reparam=True)).fused()
    session = ort.InferenceSession(str(export_onnx(model, tmp_path / "g.onnx")))
    for h, w in [(16, 20), (13, 11)]:  # exported at one size, run at others, odd ones too
        x = torch.rand(1, 3, h, w)
        with torch.no_grad():
            expected = model(x).clamp(0, 1)
        got = torch.from_numpy(session.run(None, {session.get_inputs()[0].name: x.numpy()})[0])
        assert got.shape == expected.shape and (got - expected).abs().max() < 1e-5
