"""`vsrgan export`: a generator as ONNX that ONNX Runtime runs to the same pixels as `vsrgan upscale`."""

import numpy as np
import pytest
import torch
from clips import pattern
from conftest import perturbed

from vsrgan.cli import main
from vsrgan.errors import ConfigError, InputError
from vsrgan.inference.export import export_onnx
from vsrgan.inference.upscaler import ModelOptions, Upscaler
from vsrgan.io import frames
from vsrgan.models import GeneratorConfig, build_generator, load_model, save_generator

ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")



def run_onnx(path, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(["output"], {"input": x})[0]


@pytest.mark.parametrize("arch", ["compact", "srresnet"])
def test_onnx_runtime_gives_the_pixels_of_vsrgan_upscale(tmp_path, arch):
    config = GeneratorConfig(arch=arch, skip="bicubic", num_features=8, num_blocks=2, reparam=arch == "compact")
    weights = save_generator(perturbed(build_generator(config)), tmp_path / "g.safetensors")
    assert main(["export", "-m", str(weights), str(tmp_path / "g.onnx")]) == 0
    up = Upscaler(load_model(str(weights)), device="cpu")
    for i, (h, w) in enumerate([(24, 40), (37, 29)]):  # dynamic sizes, odd ones included
        u8 = np.stack([pattern(w, h, i), pattern(w, h, i + 5)])  # (2, H, W, 3): a batch of 2
        ours = up.upscale_frames(u8)  # uint8 (2, 4H, 4W, 3), what `vsrgan upscale` encodes
        theirs = run_onnx(tmp_path / "g.onnx", frames.to_tensor(u8).numpy())
        assert theirs.shape == (2, 3, 4 * h, 4 * w) and 0 <= theirs.min() and theirs.max() <= 1
        theirs_u8 = frames.to_numpy(torch.from_numpy(theirs))
        assert np.abs(theirs_u8.astype(int) - ours.astype(int)).max() <= 1


def test_exported_file_states_its_contract(tmp_path):
    model = build_generator(GeneratorConfig(arch="compact", skip="bicubic", num_features=8, num_blocks=3))
    export_onnx(model, tmp_path / "m.onnx")
    meta = {p.key: p.value for p in onnx.load(str(tmp_path / "m.onnx")).metadata_props}
    assert meta["vsrgan.scale"] == "4" and meta["vsrgan.receptive_radius"] == "5"
    assert '"arch": "compact"' in meta["vsrgan.generator"]
    with pytest.raises(InputError, match="already exists; pass --overwrite"):
        export_onnx(model, tmp_path / "m.onnx")
    with pytest.raises(ConfigError, match=".onnx"):
        export_onnx(model, tmp_path / "m.pt")


def test_export_takes_the_scale_and_denoise_upscale_takes(tmp_path, capsys):
    """`vsrgan export` had neither -s nor --denoise: bicubic only at x4, and not the blend that
    `upscale -m x4 --denoise 0.3` runs. Now the same flags, the same network, the same one-line errors."""
    x = np.stack([pattern(12, 10, 0), pattern(12, 10, 3)])
    assert main(["export", "-m", "bicubic", "-s", "2", str(tmp_path / "x2.onnx")]) == 0
    assert run_onnx(tmp_path / "x2.onnx", frames.to_tensor(x).numpy()).shape == (2, 3, 20, 24)
    assert main(["export", "-m", "x4", "--denoise", "0.3", str(tmp_path / "dn.onnx")]) == 0
    ours = Upscaler.from_options(ModelOptions(model="x4", denoise=0.3, device="cpu", precision="fp32")).upscale_frames(x)
    theirs = frames.to_numpy(torch.from_numpy(run_onnx(tmp_path / "dn.onnx", frames.to_tensor(x).numpy())))
    assert np.abs(theirs.astype(int) - ours.astype(int)).max() <= 1
    assert main(["export", "-m", "x4", str(tmp_path / "clean.onnx")]) == 0
    clean = frames.to_numpy(torch.from_numpy(run_onnx(tmp_path / "clean.onnx", frames.to_tensor(x).numpy())))
    assert np.abs(theirs.astype(int) - clean.astype(int)).max() > 1  # the blend, not the clean x4
    capsys.readouterr()
    for args, message in ((["-m", "x4", "-s", "2"], "model 'x4' upscales x4; asked for x2"),
                          (["-m", "bicubic", "--denoise", "0.5"], "'bicubic' has none"),
                          (["-m", "x4", "--denoise", "2"], "between 0 (the clean model) and 1")):
        assert main(["export", *args, str(tmp_path / "bad.onnx")]) != 0
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "bad.onnx").exists()


def test_export_help_names_the_contract(capsys):
    with pytest.raises(SystemExit) as exit:
        main(["export", "--help"])
    assert exit.value.code == 0
    assert "(N, 3, H, W) RGB in [0, 1]" in capsys.readouterr().out
