"""The networks: shapes, value ranges, weights that rebuild their own model."""

import json

import pytest
import torch
from conftest import tiny_train_overrides
from safetensors.torch import save_file

from vsrgan.cli import main
from vsrgan.errors import CheckpointError, ConfigError
from vsrgan.models import Bicubic, Discriminator, Generator, GeneratorConfig, load_generator, load_model, save_generator
from vsrgan.training.checkpoint import load_checkpoint
from vsrgan.training.loop import train


@pytest.mark.parametrize("upsample", ["pixelshuffle", "nearest"])
@pytest.mark.parametrize("scale", [2, 4])
def test_generator_output_shape_and_range(upsample, scale):
    g = Generator(scale=scale, upsample=upsample, num_blocks=2, num_features=16).eval()
    y = g(torch.rand(2, 3, 11, 17))
    assert y.shape == (2, 3, 11 * scale, 17 * scale)
    assert 0 <= y.min() and y.max() <= 1


def test_generator_matches_the_papers_layout():
    g = Generator()  # defaults: the paper's x4 SRResNet
    assert len(g.body) == 16 and g.head.kernel_size == (9, 9) and g.tail.kernel_size == (9, 9)
    assert [type(m.enlarge).__name__ for m in g.upsample] == ["PixelShuffle", "PixelShuffle"]
    assert sum(p.numel() for p in g.parameters()) == 1_550_659
    seed = Generator(upsample="nearest")  # the blog's Keras model
    assert seed.head.kernel_size == (3, 3) and seed.upsample[1].conv.in_channels == 256
    assert isinstance(seed.upsample[0].act, torch.nn.LeakyReLU)


def test_receptive_radius_bounds_the_influence_of_a_pixel():
    torch.manual_seed(0)
    g = Generator(num_blocks=2, num_features=8).eval()
    x = torch.rand(1, 3, 40, 40)
    x2 = x.clone()
    r = g.receptive_radius
    x2[..., 0, 0] += 0.5  # change one corner pixel
    with torch.no_grad():
        d = (g(x) - g(x2)).abs()[0].amax(0)
    assert d[4 * (r + 1):, :].max() == 0 and d[:, 4 * (r + 1):].max() == 0


@pytest.mark.parametrize("head,shape", [("patch", (2, 1, 6, 6)), ("flatten", (2, 1))])
def test_discriminator_heads(head, shape):
    d = Discriminator(head=head)
    assert d(torch.rand(2, 3, 96, 96)).shape == shape
    convs = [m for m in d.features.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [64, 64, 128, 128, 256, 256, 512, 512]
    assert [c.stride[0] for c in convs] == [1, 2, 1, 2, 1, 2, 1, 2]
    p = d.probability(torch.rand(1, 3, 96, 96))
    assert ((0 < p) & (p < 1)).all()


def test_bad_configs_are_refused():
    with pytest.raises(ConfigError, match="scale must be 2 or 4"):
        GeneratorConfig(scale=3)
    with pytest.raises(ConfigError, match="upsample"):
        GeneratorConfig(upsample="bilinear")
    with pytest.raises(ConfigError, match="head"):
        Discriminator(head="dense")


def test_weights_rebuild_their_own_model(tmp_path):
    torch.manual_seed(1)
    g = Generator(scale=2, upsample="nearest", num_blocks=3, num_features=16).eval()
    path = save_generator(g, tmp_path / "g.safetensors", dtype=torch.float16)
    loaded = load_generator(path)
    assert loaded.config == g.config
    x = torch.rand(1, 3, 12, 12)
    with torch.no_grad():
        assert torch.allclose(g(x), loaded(x), atol=2e-3)


def test_load_model_names(tmp_path, tiny_generator):
    assert isinstance(load_model("bicubic", scale=3), Bicubic)
    path = save_generator(tiny_generator, tmp_path / "t.safetensors")
    assert isinstance(load_model(str(path)), Generator)
    with pytest.raises(CheckpointError, match="neither a file nor a known model"):
        load_model("no-such-model")


def test_foreign_or_broken_weights_are_named(tmp_path):
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x00" * 64)
    with pytest.raises(CheckpointError, match="junk.safetensors' is not a readable"):
        load_generator(junk)
    foreign = tmp_path / "foreign.safetensors"
    save_file({"w": torch.zeros(2)}, str(foreign))
    with pytest.raises(CheckpointError, match="has no 'vsrgan.generator' metadata"):
        load_generator(foreign)
    mismatched = tmp_path / "mismatch.safetensors"
    save_file({"w": torch.zeros(2)}, str(mismatched), metadata={"vsrgan.generator": json.dumps({"scale": 4})})
    with pytest.raises(CheckpointError, match="does not match its own config"):
        load_generator(mismatched)


@pytest.mark.parametrize("scale", [1, 2, 3, 4])
@pytest.mark.parametrize("shape", [(2, 3, 7, 5), (1, 3, 33, 47), (1, 1, 9, 9)])
def test_bicubic_as_a_convolution_equals_pytorch_bicubic(scale, shape):
    # borders included: a 5x7 frame is mostly border
    x = torch.rand(*shape)
    expected = torch.nn.functional.interpolate(x, scale_factor=scale, mode="bicubic", align_corners=False).clamp(0, 1)
    for layout in (torch.contiguous_format, torch.channels_last):
        got = Bicubic(scale=scale)(x.contiguous(memory_format=layout))
        assert got.shape == expected.shape
        assert (got - expected).abs().max() < 1e-4  # coordinates rounded differently at x3


def test_bicubic_phases_are_the_upscale_before_the_shuffle():
    x = torch.rand(1, 3, 6, 8)
    b = Bicubic(scale=4)
    phases = b.phases(x)
    assert phases.shape == (1, 48, 6, 8)
    assert torch.equal(torch.nn.functional.pixel_shuffle(phases, 4), b(x))
    assert b.state_dict() == {}  # nothing to save: weights files of bicubic-skip models are unchanged


def test_a_checkpoint_loads_as_its_runs_ema_generator(tiny_dataset, tmp_path, capsys):
    # a run's checkpoints/step_N.pt works as --model: the EMA that generator.safetensors holds, folded
    done = train(None, overrides=tiny_train_overrides(tiny_dataset, tmp_path / "run", "model.arch=compact", "model.skip=bicubic", "model.num_blocks=2", "model.reparam=true"))
    checkpoint = tmp_path / "run" / "checkpoints" / "step_00000004.pt"
    frame = torch.rand(1, 3, 8, 10)
    from_checkpoint, exported = load_model(str(checkpoint)), load_model(str(done.model_path))
    assert not from_checkpoint.config.reparam  # folded, as exported
    with torch.no_grad():
        assert torch.equal(from_checkpoint(frame), exported(frame))
    main(["models", "--inspect", str(checkpoint)])
    assert "vsrgan compact" in capsys.readouterr().out
    broken = load_checkpoint(checkpoint)
    broken["ema"] = {k: v[:1] for k, v in broken["ema"].items()}
    torch.save(broken, tmp_path / "broken.pt")
    with pytest.raises(CheckpointError, match="training checkpoint whose EMA generator does not load"):
        load_model(str(tmp_path / "broken.pt"))
