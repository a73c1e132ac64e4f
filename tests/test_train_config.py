"""The training configuration: TOML and overrides, errors that name the key, the shipped configs."""

from pathlib import Path

import pytest

from vsrgan.errors import ConfigError, InputError
from vsrgan.training.config import load_config, to_toml

CONFIGS = Path(__file__).resolve().parent.parent / "configs"


def test_config_from_toml_then_overrides(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[optim]\nlr = 2e-4\nmilestones = [10, 20]\n[loss]\nperceptual_layers = ["vgg19.relu3_3"]\n')
    c = load_config(path, ["optim.lr=3e-4", "data.root=data/x", "train.compile=true", "loss.perceptual_layers=vgg16.relu5_3,vgg16.relu4_3"])
    assert c.optim.lr == 3e-4 and c.optim.milestones == (10, 20) and c.data.root == "data/x" and c.train.compile
    assert c.loss.perceptual_layers == ("vgg16.relu5_3", "vgg16.relu4_3")
    again = tmp_path / "again.toml"
    again.write_text(to_toml(c))
    assert load_config(again) == c


@pytest.mark.parametrize(
    "override, message",
    [
        ("optim.lrr=1", "unknown key optim.lrr"),
        ("optim.lr=fast", "optim.lr='fast' is not a valid float"),
        ("optim.lr=-1", "optim.lr and optim.lr_d must be positive"),
        ("data.crop=30", r"data.crop \(30\) must be a multiple of model.scale \(4\)"),
        ("loss.perceptual_layers=vgg19.relu9_9", "unknown VGG layer"),
        ("train.stage=gan", "needs train.init"),
        ("nonsense", "section.key=value"),
    ],
)
def test_bad_config_values_name_the_key(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(None, [override])


def test_bad_toml_names_the_file_and_key(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[optim]\nlearning_rate = 1\n")
    with pytest.raises(ConfigError, match=f"{path}: unknown key optim.learning_rate"):
        load_config(path)
    with pytest.raises(InputError, match="does not exist"):
        load_config(tmp_path / "missing.toml")


@pytest.mark.parametrize("name", sorted(str(p.relative_to(CONFIGS)) for p in CONFIGS.rglob("*.toml")))
def test_shipped_configs_load(name):  # the study's too (configs/study/**): MODELS.md tells readers to run them
    c = load_config(CONFIGS / name, ["train.init=runs/pre/generator.safetensors"] if "init =" not in (CONFIGS / name).read_text() else [])
    assert c.data.batch_size > 0 and c.train.steps > 0


def test_every_bundled_models_config_is_tested():
    assert {"x4.toml", "x4-gan.toml", "x4-real.toml"} <= {p.name for p in CONFIGS.glob("*.toml")}
    real = load_config(CONFIGS / "x4-real.toml")
    assert real.train.init and not real.model.reparam  # fine-tuned from x4's folded weights: --denoise blends the two
