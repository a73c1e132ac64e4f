"""`vsrgan export --format ncnn`: .param/.bin that the ncnn engine runs to the pixels of `vsrgan upscale`.

Needs the ``ncnn`` package (in the ``test`` extra; ``pip install ncnn``); skipped where it cannot be installed.
"""

import numpy as np
import pytest
import torch
from clips import pattern
from conftest import perturbed

from vsrgan.cli import main
from vsrgan.errors import ConfigError, InputError
from vsrgan.inference.export_ncnn import default_name, export_ncnn, run_ncnn
from vsrgan.inference.upscaler import Upscaler
from vsrgan.io import frames
from vsrgan.models import WEIGHTS_DIR, Bicubic, GeneratorConfig, build_generator, load_model, save_generator
from vsrgan.models.foreign.srvgg import SRVGGNetCompact

pytest.importorskip("ncnn", reason="the ncnn package is not installed (pip install ncnn, or the 'test' extra)")

SIZES = [(48, 64), (37, 29)]  # (height, width): a real-ish crop and an odd size


def photo(height: int, width: int, index: int) -> np.ndarray:
    """A crop of scikit-image's astronaut (a real photo, halved), or the test pattern without scikit-image."""
    try:
        import skimage.data
    except ImportError:
        return pattern(width, height, index)
    image = skimage.data.astronaut()[::2, ::2]  # (256, 256, 3): edges, skin, fabric
    top, left = 40 + 30 * index, 60 + 20 * index
    return np.ascontiguousarray(image[top:top + height, left:left + width])


def assert_matches_upscaler(model, param, weights) -> None:
    """The ncnn files' output, rounded to uint8, is within 1 of what the Upscaler gives `vsrgan upscale`."""
    up = Upscaler(model, device="cpu")
    for i, (h, w) in enumerate(SIZES):
        u8 = photo(h, w, i)
        ours = up.upscale_frames(u8[None])[0]  # uint8 (sH, sW, 3)
        theirs = run_ncnn(param, weights, frames.to_tensor(u8[None])[0].numpy())
        s = model.scale
        assert theirs.shape == (3, s * h, s * w) and 0 <= theirs.min() and theirs.max() <= 1
        theirs_u8 = frames.to_numpy(torch.from_numpy(theirs)[None])[0]
        worst = int(np.abs(theirs_u8.astype(int) - ours.astype(int)).max())
        assert worst <= 1, f"ncnn differs from the Upscaler by {worst}/255 at {h}x{w}"


@pytest.mark.parametrize("reparam", [True, False])
def test_ncnn_runs_an_exported_compact_net_to_the_pixels_of_vsrgan_upscale(tmp_path, reparam):
    config = GeneratorConfig(arch="compact", skip="bicubic", num_features=8, num_blocks=3, reparam=reparam)
    weights = save_generator(perturbed(build_generator(config)), tmp_path / "g.safetensors")
    assert main(["export", "--format", "ncnn", "-m", str(weights), "-o", str(tmp_path / "models")]) == 0
    param, bin_ = tmp_path / "models/vsrgan-g-x4.param", tmp_path / "models/vsrgan-g-x4.bin"
    lines = param.read_text().splitlines()
    assert lines[0] == "7767517" and lines[2].split()[-1] == "data" and lines[-1].split()[5] == "output"
    assert "Interp" in param.read_text() and "0=3" in param.read_text()  # the bicubic skip, as one layer
    assert_matches_upscaler(load_model(str(weights)), param, bin_)


def test_ncnn_runs_srvgg_and_bicubic(tmp_path):
    torch.manual_seed(0)
    for model, name in [(perturbed(SRVGGNetCompact(num_feat=8, num_conv=2, scale=4)), "srvgg"), (Bicubic(scale=3), "bicubic")]:
        param, bin_ = export_ncnn(model, tmp_path, name=name)
        assert param.name == f"{name}-x{model.scale}.param"
        assert_matches_upscaler(model, param, bin_)


def test_the_bundled_x4_in_ncnn(tmp_path):
    if not (WEIGHTS_DIR / "x4.safetensors").is_file():
        pytest.skip("the bundled x4 is not installed")
    model = load_model("x4")
    param, bin_ = export_ncnn(model, tmp_path, name=default_name("x4", 4))
    assert param.name == "vsrgan-x4.param" and bin_.stat().st_size > 4 * sum(p.numel() for p in model.parameters())
    assert_matches_upscaler(model, param, bin_)


def test_names_follow_the_real_esrgan_convention():
    assert default_name("x4", 4) == "vsrgan"  # -> vsrgan-x4.param
    assert default_name("x4-real", 4) == "vsrgan-real"
    assert default_name("generator", 4) == "vsrgan-generator"


def test_an_architecture_it_cannot_write_is_one_clear_error(tmp_path):
    srresnet = build_generator(GeneratorConfig(arch="srresnet", num_features=8, num_blocks=1))
    with pytest.raises(ConfigError, match="ncnn export writes compact networks.*this model is srresnet.*--format onnx"):
        export_ncnn(srresnet, tmp_path, name="s")
    with pytest.raises(ConfigError, match="ncnn export writes compact networks.*Linear"):
        export_ncnn(torch.nn.Linear(2, 2), tmp_path, name="s")
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_existing_files_and_bad_names(tmp_path, capsys):
    model = Bicubic(scale=4)
    export_ncnn(model, tmp_path, name="b")
    with pytest.raises(InputError, match="already exists; pass --overwrite"):
        export_ncnn(model, tmp_path, name="b")
    export_ncnn(model, tmp_path, name="b", overwrite=True)
    with pytest.raises(ConfigError, match="file name stem"):
        export_ncnn(model, tmp_path, name="../b")
    assert main(["export", "--format", "ncnn", "-m", "bicubic", str(tmp_path / "a"), "-o", str(tmp_path / "b")]) != 0
    assert "give the output once" in capsys.readouterr().err


def test_backend_ncnn_gives_eagers_pixels_batched_and_refuses_other_nets():
    model = perturbed(build_generator(GeneratorConfig(arch="compact", skip="bicubic", num_features=8, num_blocks=2)))
    u8 = np.stack([photo(30, 40, 0), photo(30, 40, 1)])  # (2, H, W, 3): ncnn runs them one by one
    ours = Upscaler(model, device="cpu").upscale_frames(u8)
    theirs = Upscaler(model, device="cpu", backend="ncnn", threads=1).upscale_frames(u8)
    assert theirs.shape == ours.shape and np.abs(theirs.astype(int) - ours.astype(int)).max() <= 1
    srresnet = build_generator(GeneratorConfig(arch="srresnet", num_features=8, num_blocks=1))
    with pytest.raises(ConfigError, match="--backend ncnn: ncnn export writes compact networks.*srresnet; use --backend eager"):
        Upscaler(srresnet, device="cpu", backend="ncnn")
