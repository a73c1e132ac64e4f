"""Other projects' weights (vsrgan.models.foreign): every layout detected, and the output of each
compared with a reference written here with torch.nn.functional on the state dict itself."""

import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

from vsrgan.cluster.worker import model_digest, pack_model, unpack_model
from vsrgan.errors import CheckpointError
from vsrgan.inference.upscaler import Upscaler
from vsrgan.io.video import probe
from vsrgan.models import load_model, model_label
from vsrgan.models.foreign import MSRResNet, RRDBNet, SRVGGNetCompact

CLI = [sys.executable, "-m", "vsrgan"]
TOLERANCE = 1 / 255


# ---- random state dicts in the published names ------------------------------------------------

def conv_weights(state: dict, name: str, cout: int, cin: int, gen: torch.Generator) -> None:
    state[f"{name}.weight"] = torch.randn(cout, cin, 3, 3, generator=gen) / (9 * cin) ** 0.5
    state[f"{name}.bias"] = 0.05 * torch.randn(cout, generator=gen)


def rrdb_state(*, nf=8, gc=4, nb=2, n_up=2, in_ch=3, seed=0) -> dict:
    """BasicSR's names: conv_first, body.N.rdbK.convM, conv_body, conv_upI, conv_hr, conv_last."""
    gen, s = torch.Generator().manual_seed(seed), {}
    conv_weights(s, "conv_first", nf, in_ch, gen)
    for b in range(nb):
        for k in (1, 2, 3):
            for m in range(1, 5):
                conv_weights(s, f"body.{b}.rdb{k}.conv{m}", gc, nf + (m - 1) * gc, gen)
            conv_weights(s, f"body.{b}.rdb{k}.conv5", nf, nf + 4 * gc, gen)
    for name in ["conv_body", *(f"conv_up{i}" for i in range(1, n_up + 1)), "conv_hr"]:
        conv_weights(s, name, nf, nf, gen)
    conv_weights(s, "conv_last", 3, nf, gen)
    return s


def as_sequential(state: dict, nb: int, n_up: int) -> dict:
    """The original ESRGAN's names for the same weights: model.0, model.1.sub.N.RDBK.convM.0, ..."""
    names = {"conv_first": "model.0", "conv_body": f"model.1.sub.{nb}",
             "conv_hr": f"model.{3 * n_up + 2}", "conv_last": f"model.{3 * n_up + 4}"}
    names |= {f"conv_up{i}": f"model.{3 * i}" for i in range(1, n_up + 1)}
    out = {}
    for key, value in state.items():
        layer, _, kind = key.rpartition(".")
        if layer.startswith("body."):
            _, b, rdb, conv = layer.split(".")
            out[f"model.1.sub.{b}.RDB{rdb[-1]}.{conv}.0.{kind}"] = value
        else:
            out[f"{names[layer]}.{kind}"] = value
    return out


def as_esrgan_repo(state: dict) -> dict:
    """The ESRGAN repository's names: RRDB_trunk.N.RDBK.convM, trunk_conv, upconvI, HRconv."""
    out = {}
    for key, value in state.items():
        key = key.replace("conv_body", "trunk_conv").replace("conv_up", "upconv").replace("conv_hr", "HRconv")
        out[key.replace("body.", "RRDB_trunk.", 1).replace(".rdb", ".RDB") if key.startswith("body.") else key] = value
    return out


def srvgg_state(*, nf=8, num_conv=3, scale=4, seed=0) -> dict:
    gen, s = torch.Generator().manual_seed(seed), {}
    conv_weights(s, "body.0", nf, 3, gen)
    for i in range(num_conv + 1):
        s[f"body.{2 * i + 1}.weight"] = 0.25 + 0.1 * torch.randn(nf, generator=gen)
        if i < num_conv:
            conv_weights(s, f"body.{2 * i + 2}", nf, nf, gen)
    conv_weights(s, f"body.{2 * num_conv + 2}", 3 * scale**2, nf, gen)
    return s


def msrresnet_state(*, nf=8, nb=2, scale=4, seed=0) -> dict:
    gen, s = torch.Generator().manual_seed(seed), {}
    conv_weights(s, "conv_first", nf, 3, gen)
    for b in range(nb):
        conv_weights(s, f"body.{b}.conv1", nf, nf, gen)
        conv_weights(s, f"body.{b}.conv2", nf, nf, gen)
    for i, step in enumerate([2, 2] if scale == 4 else [scale], 1):
        conv_weights(s, f"upconv{i}", nf * step**2, nf, gen)
    conv_weights(s, "conv_hr", nf, nf, gen)
    conv_weights(s, "conv_last", 3, nf, gen)
    return s


# ---- the references: the published forward passes, on the state dicts directly -------------------

def conv(x, s, name):
    return F.conv2d(x, s[f"{name}.weight"], s[f"{name}.bias"], padding=1)


def rrdb_reference(x, s, *, nb, n_up, unshuffle):
    """An odd side is padded by reflection to whole cells and cut off after, as Real-ESRGAN's RealESRGANer does."""
    lrelu = lambda t: F.leaky_relu(t, 0.2)  # noqa: E731
    h, w = x.shape[-2:]
    x = F.pad(x, (0, (unshuffle - w % unshuffle) % unshuffle, 0, (unshuffle - h % unshuffle) % unshuffle), mode="reflect")
    fea = conv(F.pixel_unshuffle(x, unshuffle), s, "conv_first")
    trunk = fea
    for b in range(nb):
        rrdb_in = trunk
        for k in (1, 2, 3):
            feats = [trunk]
            for m in range(1, 5):
                feats.append(lrelu(conv(torch.cat(feats, 1), s, f"body.{b}.rdb{k}.conv{m}")))
            trunk = trunk + 0.2 * conv(torch.cat(feats, 1), s, f"body.{b}.rdb{k}.conv5")
        trunk = rrdb_in + 0.2 * trunk
    fea = fea + conv(trunk, s, "conv_body")
    for i in range(1, n_up + 1):
        fea = lrelu(conv(F.interpolate(fea, scale_factor=2, mode="nearest"), s, f"conv_up{i}"))
    scale = 2**n_up // unshuffle
    return conv(lrelu(conv(fea, s, "conv_hr")), s, "conv_last")[:, :, : scale * h, : scale * w]


def srvgg_reference(x, s, *, num_conv, scale):
    y = x
    for i in range(num_conv + 1):
        y = F.prelu(conv(y, s, f"body.{2 * i}"), s[f"body.{2 * i + 1}.weight"])
    y = F.pixel_shuffle(conv(y, s, f"body.{2 * num_conv + 2}"), scale)
    return y + F.interpolate(x, scale_factor=scale, mode="nearest")


def msrresnet_reference(x, s, *, nb, scale):
    lrelu = lambda t: F.leaky_relu(t, 0.1)  # noqa: E731
    fea = lrelu(conv(x, s, "conv_first"))
    for b in range(nb):
        fea = fea + conv(F.relu(conv(fea, s, f"body.{b}.conv1")), s, f"body.{b}.conv2")
    for i, step in enumerate([2, 2] if scale == 4 else [scale], 1):
        fea = lrelu(F.pixel_shuffle(conv(fea, s, f"upconv{i}"), step))
    out = conv(lrelu(conv(fea, s, "conv_hr")), s, "conv_last")
    return out + F.interpolate(x, scale_factor=scale, mode="bilinear", align_corners=False)


def assert_matches(model, reference, x):
    with torch.no_grad():
        ours, theirs = model(x), reference(x)
    assert ours.shape == theirs.shape
    assert theirs.std() > 0.05  # the weights do something: a difference would show
    assert (ours - theirs).abs().max() < TOLERANCE


# ---- each layout, through load_model -----------------------------------------------------------

# (layout, wrapper, num_block, upsampling steps, unshuffle): what the file looks like
RRDB_CASES = [
    ("basicsr", "params_ema", 2, 2, 1),  # RealESRGAN_x4plus
    ("basicsr", "params", 1, 2, 2),  # RealESRGAN_x2plus: 12 input channels
    ("basicsr", "bare", 1, 2, 4),  # an x1 model: 48 input channels
    ("sequential", "bare", 3, 2, 1),  # the original ESRGAN x4
    ("sequential", "state_dict", 1, 1, 1),  # an old ESRGAN x2 community model
    ("esrgan-repo", "module", 2, 2, 1),  # the ESRGAN repository's names, saved from DataParallel
]


def wrap(state: dict, wrapper: str) -> dict:
    if wrapper == "params_ema":  # Real-ESRGAN's files hold both; the EMA weights are the ones to use
        return {"params_ema": state, "params": {k: torch.zeros_like(v) for k, v in state.items()}}
    if wrapper == "module":
        return {"state_dict": {f"module.{k}": v for k, v in state.items()}}
    return state if wrapper == "bare" else {wrapper: state}


@pytest.mark.parametrize("layout, wrapper, nb, n_up, unshuffle", RRDB_CASES)
def test_rrdbnet_in_every_layout_matches_the_reference(tmp_path, layout, wrapper, nb, n_up, unshuffle):
    state = rrdb_state(nb=nb, n_up=n_up, in_ch=3 * unshuffle**2)
    written = {"basicsr": state, "sequential": as_sequential(state, nb, n_up), "esrgan-repo": as_esrgan_repo(state)}[layout]
    path = tmp_path / "RealESRGAN_test.pth"
    torch.save(wrap(written, wrapper), path)
    model = load_model(str(path))
    assert isinstance(model, RRDBNet) and model.scale == 2**n_up // unshuffle
    assert model.hparams == dict(num_feat=8, num_grow_ch=4, num_block=nb, num_up=n_up, unshuffle=unshuffle)
    x = torch.rand(2, 3, 13, 10)  # 13: padded to whole cells at x2 and x1
    assert_matches(model, lambda t: rrdb_reference(t, state, nb=nb, n_up=n_up, unshuffle=unshuffle), x)


@pytest.mark.parametrize("num_conv, scale, suffix", [(3, 4, ".pth"), (4, 2, ".safetensors"), (2, 3, ".pt")])
def test_srvggnet_compact_matches_the_reference(tmp_path, num_conv, scale, suffix):
    state = srvgg_state(num_conv=num_conv, scale=scale)
    path = tmp_path / f"realesr-animevideov3{suffix}"
    if suffix == ".safetensors":
        save_file(state, str(path))  # another project's .safetensors: no vsrgan metadata, detected
    else:
        torch.save({"params": state}, path)
    model = load_model(str(path))
    assert isinstance(model, SRVGGNetCompact) and model.hparams == dict(num_feat=8, num_conv=num_conv, scale=scale)
    assert_matches(model, lambda t: srvgg_reference(t, state, num_conv=num_conv, scale=scale), torch.rand(1, 3, 9, 14))


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_msrresnet_matches_the_reference(tmp_path, scale):
    state = msrresnet_state(scale=scale)
    path = tmp_path / f"MSRResNet_x{scale}.pth"
    torch.save({"params": state}, path)
    model = load_model(str(path))
    assert isinstance(model, MSRResNet) and model.hparams == dict(num_feat=8, num_block=2, scale=scale)
    assert_matches(model, lambda t: msrresnet_reference(t, state, nb=2, scale=scale), torch.rand(1, 3, 11, 7))


def test_unknown_layouts_and_code_are_refused_in_one_line(tmp_path):
    unknown = tmp_path / "swinir.pth"
    torch.save({"params": {"patch_embed.norm.weight": torch.zeros(4), "layers.0.attn.qkv.weight": torch.zeros(4, 4)}}, unknown)
    with pytest.raises(CheckpointError) as e:
        load_model(str(unknown))
    message = str(e.value)
    assert "swinir.pth" in message and "patch_embed.norm.weight" in message and "\n" not in message
    assert "RRDBNet" in message and "SRVGGNetCompact" in message and "MSRResNet" in message
    pickled = tmp_path / "code.pth"
    torch.save({"params": Code()}, pickled)  # unpickling it would construct a Code: weights_only refuses
    with pytest.raises(CheckpointError, match="code.pth' is not a plain weights file"):
        load_model(str(pickled))
    broken = rrdb_state(nb=1)
    broken["conv_hr.weight"] = broken["conv_hr.weight"][:, :4]
    torch.save(broken, tmp_path / "broken.pth")
    with pytest.raises(CheckpointError, match="broken.pth' looks like RRDBNet .* do not fit"):
        load_model(str(tmp_path / "broken.pth"))


class Code:
    """Stands for an object whose unpickling would run code."""


# ---- the Upscaler contract ---------------------------------------------------------------------

def random_model(model):
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) / max(p[0].numel(), 1) ** 0.5)
    return model.eval()


@pytest.mark.parametrize("model, size, tile", [
    (RRDBNet(num_feat=8, num_grow_ch=4, num_block=1), (60, 72), 16),
    (RRDBNet(num_feat=8, num_grow_ch=4, num_block=1, unshuffle=2), (101, 121), 24),  # odd sides: padded cells
    (RRDBNet(num_feat=8, num_grow_ch=4, num_block=0, unshuffle=4), (83, 98), 22),  # windows not all on multiples of 4 before aligning
    (SRVGGNetCompact(num_feat=8, num_conv=3), (29, 37), 8),
    (MSRResNet(num_feat=8, num_block=2, scale=3), (29, 37), 8),
], ids=["rrdb-x4", "rrdb-x2", "rrdb-x1", "srvgg", "msrresnet-x3"])
def test_tiled_equals_untiled(model, size, tile):
    model = random_model(model)
    assert tile + 2 * model.receptive_radius < max(size)  # some windows are cut: the test can fail
    x = torch.rand(1, 3, *size)
    whole = Upscaler(model, device="cpu", precision="fp32")(x)
    tiled = Upscaler(model, device="cpu", precision="fp32", tile=tile)(x)
    assert whole.shape == (1, 3, size[0] * model.scale, size[1] * model.scale)
    assert (whole - tiled).abs().max() < 1e-5


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_half_precisions_run_close_to_fp32(tmp_path, precision):
    path = tmp_path / "x2plus.pth"
    torch.save({"params_ema": rrdb_state(nb=1, in_ch=12)}, path)
    x = torch.rand(1, 3, 16, 12)
    full = Upscaler.from_name(str(path), device="cpu", precision="fp32")(x)
    half = Upscaler.from_name(str(path), device="cpu", precision=precision)(x)
    assert half.dtype != torch.float32 and (half.float() - full).abs().mean() < 0.02


# ---- the job: CLI, inspect, cluster packing ----------------------------------------------------

def run(*args):
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, timeout=300)


def test_upscale_a_video_with_a_pth_model(tmp_path, clip):
    path = tmp_path / "RealESRGAN_x2plus.pth"
    torch.save({"params_ema": rrdb_state(nb=1, in_ch=12)}, path)
    result = run("upscale", clip, tmp_path / "out.mp4", "-m", path, "--tile", "16", "--preset", "ultrafast", "-q")
    assert result.returncode == 0, result.stderr
    source, out = probe(clip), probe(tmp_path / "out.mp4")
    assert (out.width, out.height, out.num_frames) == (2 * source.width, 2 * source.height, source.num_frames)


def test_models_inspect(tmp_path):
    path = tmp_path / "anime.pth"
    state = rrdb_state(nb=2)
    torch.save({"params_ema": state}, path)
    result = run("models", "--inspect", path)
    assert result.returncode == 0, result.stderr
    lines = dict(line.split(":", 1) for line in result.stdout.strip().splitlines())
    assert lines["architecture"].strip() == "RRDBNet" and lines["scale"].strip() == "x4"
    assert "num_feat=8" in lines["hyper-parameters"] and "num_block=2" in lines["hyper-parameters"]
    assert lines["parameters"].strip() == f"{sum(v.numel() for v in state.values()):,}"
    bad = tmp_path / "bad.pth"
    torch.save({"weight": torch.zeros(3)}, bad)
    result = run("models", "--inspect", bad)
    assert result.returncode != 0 and len(result.stderr.strip().splitlines()) == 1
    assert "bad.pth" in result.stderr and "known: RRDBNet" in result.stderr


@pytest.mark.parametrize("state", [rrdb_state(nb=1, in_ch=12), srvgg_state(), msrresnet_state(scale=3)],
                         ids=["rrdb", "srvgg", "msrresnet"])
def test_cluster_packing_is_plain_data_and_round_trips(tmp_path, state):
    path = tmp_path / "m.pth"
    torch.save(state, path)
    model = load_model(str(path))
    packed = pack_model(model)
    assert packed["kind"] == "foreign" and packed["arch"] == model.arch and packed["hparams"] == model.hparams
    assert all(type(v) is int for v in packed["hparams"].values())
    assert all(isinstance(v, torch.Tensor) for v in packed["state"].values())
    rebuilt = unpack_model(packed)
    assert type(rebuilt) is type(model) and rebuilt.scale == model.scale
    x = torch.rand(1, 3, 10, 8)
    with torch.no_grad():
        assert torch.equal(rebuilt(x), model(x))
    assert model_digest(pack_model(rebuilt)) == model_digest(packed)


def test_model_label_shortens_every_weights_path():
    assert [model_label(m) for m in ("w/RealESRGAN_x4plus.pth", "a/b.pt", "g.safetensors", "x4")] == \
        ["RealESRGAN_x4plus", "b", "g", "x4"]


@pytest.mark.parametrize("backend", ["onnxruntime", "compile"])
def test_other_backends_match_eager_at_two_sizes(backend):
    if backend == "onnxruntime":
        pytest.importorskip("onnxruntime")
    model = random_model(RRDBNet(num_feat=8, num_grow_ch=4, num_block=1, unshuffle=2))  # the pad to whole cells is traced
    engine, eager = (Upscaler(model, device="cpu", precision="fp32", backend=b) for b in (backend, "eager"))
    for size in ((21, 17), (30, 26)):
        x = torch.rand(1, 3, *size)
        assert (engine(x) - eager(x)).abs().max() < 1e-4
