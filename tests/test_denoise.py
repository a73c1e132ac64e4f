"""--denoise: the clean model and its real-world twin blended weight by weight."""

import copy
import subprocess
import sys

import numpy as np
import pytest
import torch
from clips import make_clip
from conftest import decoded, perturbed

import vsrgan.models
from vsrgan import metrics, upscale
from vsrgan.batch import plan_batch, upscale_batch
from vsrgan.cluster.batch import upscale_batch_on_cluster
from vsrgan.cluster.job import ClusterJob, ClusterOptions
from vsrgan.cluster.run import upscale_on_cluster
from vsrgan.dataset.degrade import crop_to_multiple, downscale
from vsrgan.errors import CheckpointError, ConfigError
from vsrgan.inference.upscaler import ModelOptions, Upscaler
from vsrgan.io import frames
from vsrgan.io.compression import Quantiser, header_values, read_quantiser
from vsrgan.models import BUNDLED, GeneratorConfig, auto_denoise, blend, build_generator, load_model, save_generator
from vsrgan.options import JobOptions

TINY = GeneratorConfig(arch="compact", skip="bicubic", num_blocks=2, num_features=8)
LOSSLESS = dict(codec="ffv1", crf=None, preset=None)  # libx264 with threads need not give the same bits twice
BUNDLED_PAIR = all((vsrgan.models.WEIGHTS_DIR / BUNDLED[name][0]).is_file() for name in ("x4", "x4-real"))


@pytest.fixture
def pair(tmp_path, monkeypatch):
    """Real x4 and x4-real weight files as the bundled pair: a tiny network, and a fine-tune of it
    (its weights moved a little, along another direction)."""
    folder = tmp_path / "weights"
    folder.mkdir()
    torch.manual_seed(0)  # the same networks whatever ran before
    clean = perturbed(build_generator(TINY), 0.05)
    real = copy.deepcopy(clean)
    g = torch.Generator().manual_seed(7)
    with torch.no_grad():
        for p in real.parameters():
            p.add_(torch.randn(p.shape, generator=g) * 0.03)
    save_generator(clean, folder / "x4.safetensors")
    save_generator(real, folder / "x4-real.safetensors")
    monkeypatch.setattr(vsrgan.models, "WEIGHTS_DIR", folder)
    return folder


def increasing(values) -> bool:
    return all(a < b for a, b in zip(values, values[1:]))


def outputs(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    return Upscaler(model, device="cpu", precision="fp32")(x)


def test_the_ends_are_the_two_models_and_the_middle_lies_between(pair):
    x = torch.rand(1, 3, 20, 24, generator=torch.Generator().manual_seed(0))
    clean, real = outputs(load_model("x4"), x), outputs(load_model("x4-real"), x)
    assert torch.equal(outputs(load_model("x4", denoise=0), x), clean)
    assert torch.equal(outputs(load_model("x4", denoise=1), x), real)
    assert torch.equal(outputs(load_model("x4-real", denoise=0), x), clean)  # either name reaches the pair
    distances = []
    for s in (0.25, 0.5, 0.75):
        mixed = outputs(load_model("x4", denoise=s), x)
        low, high = torch.minimum(clean, real) - 0.5 / 255, torch.maximum(clean, real) + 0.5 / 255  # within rounding to 8 bits
        assert ((mixed >= low) & (mixed <= high)).float().mean() > 0.85  # most pixels: the network is not linear in its weights
        distances.append(((mixed - clean).square().mean().item(), (mixed - real).square().mean().item()))
    to_clean, to_real = zip(*distances)
    assert increasing(to_clean) and increasing(to_real[::-1]), distances  # strictly monotone in S


@pytest.mark.skipif(not BUNDLED_PAIR, reason="the bundled x4 and x4-real weights are not installed")
@pytest.mark.parametrize("photo", ["astronaut", "coffee"])
def test_the_bundled_pair_on_a_photo_the_middle_lies_between(photo):
    """The shipped x4 and x4-real on a real photo (scikit-image's, never trained on), as 8-bit frames."""
    skimage_data = pytest.importorskip("skimage.data")
    hr = crop_to_multiple(frames.to_tensor(getattr(skimage_data, photo)()), 4)
    lr = frames.to_tensor(frames.to_numpy(downscale(hr, 4)))[..., :96, :96]

    def frame(s):  # what a video or image file gets: uint8
        return frames.to_numpy(outputs(load_model("x4", denoise=s), lr)).astype(np.int16)

    clean, real = frame(0), frame(1)
    assert np.array_equal(clean, frames.to_numpy(outputs(load_model("x4"), lr)))
    assert np.array_equal(real, frames.to_numpy(outputs(load_model("x4-real"), lr)))
    to_clean, to_real = [], []
    for s in (0.25, 0.5, 0.75):
        mixed = frame(s)
        between = (mixed >= np.minimum(clean, real) - 1) & (mixed <= np.maximum(clean, real) + 1)  # each rounded once
        assert between.mean() > 0.99, f"S={s}: {between.mean():.4f} of the pixels between"  # measured 0.996-0.9999
        to_clean.append(metrics.psnr(frames.to_tensor(mixed.astype(np.uint8)), frames.to_tensor(clean.astype(np.uint8))).item())
        to_real.append(metrics.psnr(frames.to_tensor(mixed.astype(np.uint8)), frames.to_tensor(real.astype(np.uint8))).item())
    assert increasing(to_clean[::-1]) and increasing(to_real), (to_clean, to_real)  # strictly monotone in S


def test_blended_weights_are_the_line_between(pair):
    a, b = load_model("x4"), load_model("x4-real")
    mixed = blend(a, b, 0.3).state_dict()
    for name, value in a.state_dict().items():
        assert torch.allclose(mixed[name], 0.7 * value + 0.3 * b.state_dict()[name], atol=1e-6)


def test_a_video_at_zero_is_the_clean_models_video(pair, tmp_path):
    src = tmp_path / "in.mp4"
    make_clip(src, frames=6, width=40, height=24)

    for model, denoise, name in (("x4", None, "clean"), ("x4", 0.0, "zero"), ("x4-real", None, "real"), ("x4", 1.0, "one"), ("x4", 0.5, "half")):
        upscale(src, tmp_path / f"{name}.mkv", model=model, denoise=denoise, progress=False, **LOSSLESS)
    clean, real, half = decoded(tmp_path / "clean.mkv"), decoded(tmp_path / "real.mkv"), decoded(tmp_path / "half.mkv")
    assert len(clean) == 6
    assert all(np.array_equal(a, b) for a, b in zip(decoded(tmp_path / "zero.mkv"), clean))
    assert all(np.array_equal(a, b) for a, b in zip(decoded(tmp_path / "one.mkv"), real))
    assert not all(np.array_equal(a, b) for a, b in zip(half, clean))


def test_the_cluster_path_ships_the_blend(pair):
    packed = ClusterJob.start(JobOptions.of(model="x4", denoise=0.5), ClusterOptions()).packed  # what every segment task rebuilds
    expected = blend(load_model("x4"), load_model("x4-real"), 0.5).state_dict()
    assert packed["state"].keys() == expected.keys()
    assert all(torch.equal(packed["state"][k], expected[k]) for k in expected)


def test_cluster_workers_upscale_with_the_blend(pair, ray_local, tmp_path):
    """--cluster at S = 0.5, in segments on Ray workers: the frames of the single process at S = 0.5, not at 0."""
    src = tmp_path / "in.mp4"
    make_clip(src, frames=12, width=40, height=24, gop=4)  # three keyframe segments
    upscale_on_cluster(src, tmp_path / "cluster.mkv", JobOptions.of(model="x4", denoise=0.5, device="cpu", progress=False, **LOSSLESS),
                       ClusterOptions(segment_frames=1))
    for denoise in (0.5, 0.0):
        upscale(src, tmp_path / f"local-{denoise}.mkv", model="x4", denoise=denoise, device="cpu", progress=False, **LOSSLESS)
    cluster, half, zero = (decoded(tmp_path / f"{name}.mkv") for name in ("cluster", "local-0.5", "local-0.0"))
    assert len(cluster) == 12
    assert all(np.array_equal(a, b) for a, b in zip(cluster, half, strict=True))
    assert not all(np.array_equal(a, b) for a, b in zip(cluster, zero, strict=True))


def test_options_refuse_a_strength_outside_zero_to_one():
    with pytest.raises(ConfigError, match="between 0"):
        ModelOptions(model="x4", denoise=1.5)


@pytest.mark.parametrize("args, message", [
    (["-m", "x4-gan", "--denoise", "0.5"], "'x4-gan' has none"),
    (["-m", "bicubic", "--denoise", "0.5"], "'bicubic' has none"),
    (["-m", "run/x4.safetensors", "--denoise", "0.5"], "'run/x4.safetensors' has none"),  # a path, even one named x4
    (["--denoise", "-0.2"], "between 0"),
    (["--denoise", "strong"], "must be auto or between 0 (the clean model) and 1 (its real-world twin), got 'strong'"),
    (["-m", "x4-gan", "--denoise", "auto"], "'x4-gan' has none"),
    (["-m", "bicubic", "--denoise", "0.5", "--cluster", "auto"], "'bicubic' has none"),  # refused before Ray starts
])
def test_the_cli_says_what_denoise_needs_in_one_line(tmp_path, args, message):
    src = tmp_path / "in.mp4"
    make_clip(src, frames=2)
    run = subprocess.run([sys.executable, "-m", "vsrgan", "upscale", str(src), str(tmp_path / "out.mp4"), *args], capture_output=True, text=True)
    assert run.returncode != 0
    assert run.stderr.strip().count("\n") == 0 and message in run.stderr, run.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4"]


def test_a_missing_twin_is_named(pair):
    (pair / "x4-real.safetensors").unlink()
    with pytest.raises(CheckpointError, match="x4-real is not installed .no '.*x4-real.safetensors'.; drop --denoise"):
        load_model("x4", denoise=0.5)
    load_model("x4")  # the clean model alone still loads


def test_the_default_reads_how_hard_each_video_was_compressed(pair, tmp_path):
    """No -m and no --denoise is --denoise auto: the strength for the video's own quantiser, in
    the single process and a batch alike; -m x4 alone is the clean x4 exactly, --denoise 0 too."""
    hard, lossless = tmp_path / "hard.mp4", tmp_path / "lossless.mp4"
    make_clip(hard, frames=3, width=40, height=24, options={"crf": "45"})
    make_clip(lossless, frames=3, width=40, height=24, options={"crf": "0"})  # x264's lossless mode: QP 0
    assert read_quantiser(hard).value > vsrgan.models.AUTO_DENOISE["h264"][1] and read_quantiser(lossless).value == 0
    for src in (hard, lossless):
        for name, kwargs in {"default": {}, "x4": {"model": "x4"}, "zero": {"denoise": 0.0}, "one": {"model": "x4", "denoise": 1.0}}.items():
            upscale(src, tmp_path / f"{src.stem}-{name}.mkv", progress=False, **kwargs, **LOSSLESS)
    frames_of = {p.stem: decoded(p) for p in tmp_path.glob("*.mkv")}
    assert same(frames_of["hard-default"], frames_of["hard-one"])  # past the ramp's top: x4-real
    assert same(frames_of["lossless-default"], frames_of["lossless-x4"])  # QP 0: x4 exactly
    assert same(frames_of["lossless-zero"], frames_of["lossless-x4"]) and not same(frames_of["hard-default"], frames_of["hard-x4"])

    items, report = plan_batch([hard, lossless], tmp_path / "batch", codec="ffv1")  # one job, two strengths
    upscale_batch(items, report, JobOptions.of(progress=False, **LOSSLESS))
    assert not report.failed
    assert same(decoded(items[0].output), frames_of["hard-default"])
    assert same(decoded(items[1].output), frames_of["lossless-default"])


@pytest.mark.parametrize("codec, kind, crfs", [("libx265", "hevc", (10, 45)), ("libsvtav1", "av1", (10, 60))])
def test_hevc_and_av1_are_read_from_their_headers(tmp_path, codec, kind, crfs):
    """Their decoders export no quantiser: it is parsed from the slice / frame headers, in .mp4 and
    .mkv (parameter sets in the container's extradata) alike, and rises with the CRF."""
    read = {}
    for crf in crfs:
        for suffix in (".mp4", ".mkv"):
            path = tmp_path / f"{crf}{suffix}"
            make_clip(path, frames=6, width=64, height=48, codec=codec, options={"crf": str(crf)})
            read[crf, suffix] = read_quantiser(path)
    assert {q.kind for q in read.values()} == {kind} and {q.frames for q in read.values()} == {6}
    light, heavy = crfs
    assert read[light, ".mp4"].value == read[light, ".mkv"].value < read[heavy, ".mp4"].value == read[heavy, ".mkv"].value
    assert read_quantiser(tmp_path / "1.mkv", frames=2) is None  # no such file: unknown, the job says why


def test_a_picture_in_several_slices_is_one_frame(tmp_path):
    path = tmp_path / "sliced.mp4"
    make_clip(path, frames=6, width=64, height=192, codec="libx265", options={"crf": "30", "x265-params": "slices=3:ctu=16:log-level=error"})
    q = read_quantiser(path)
    assert q.kind == "hevc" and q.frames == 6 and str(q).endswith("(mean of 6 frames)")


def test_header_lines_give_each_slice_its_qp():
    """HEVC: 26 + the picture parameter set's init_qp_minus26 + each slice's delta; AV1: base_q_idx."""
    lines = ["27          init_qp_minus26                                      0001001 = -4",
             "24          slice_qp_delta                                      000010010 = 9",
             "24          slice_qp_delta                                            1 = 0",
             "43          base_q_idx                                           10001011 = 139",
             "Sequence Parameter Set", "12  frame_width_minus_1   = not a number ="]
    assert header_values(lines) == {"hevc": [31, 22], "av1": [139]}


def test_auto_follows_the_ramp_and_falls_back_where_compression_is_unknown(pair):
    lo, hi = vsrgan.models.AUTO_DENOISE["h264"]
    assert [auto_denoise(Quantiser("h264", q, 10)) for q in (lo - 3, lo, (lo + hi) / 2, hi, hi + 3)] == [0, 0, 0.5, 1, 1]
    assert auto_denoise(Quantiser("h264", 0, 10)) == 0 < auto_denoise(Quantiser("h264", 1, 10))  # lossless: x4 exactly
    assert auto_denoise(None) == vsrgan.models.DEFAULT_DENOISE  # an image, an intra codec: unknown
    assert auto_denoise(Quantiser("hevc", 27, 10)) < auto_denoise(Quantiser("h264", 27, 10)) == 1  # HEVC loses less at one QP
    assert ModelOptions().denoise_strength == vsrgan.models.DEFAULT_DENOISE  # no video to read: the API on frames, export
    assert ModelOptions(model="x4").denoise_strength is None and ModelOptions(model="x4").for_input("any.mp4") == ModelOptions(model="x4")
    assert ModelOptions(denoise=0.3).for_input("any.mp4").denoise == 0.3


def test_the_cluster_packs_each_videos_strength(pair, tmp_path):
    hard, image = tmp_path / "hard.mp4", tmp_path / "in.png"
    make_clip(hard, frames=3, options={"crf": "45"})
    job = ClusterJob.start(JobOptions.of(), ClusterOptions())
    for packed, strength in ((job.packed, vsrgan.models.DEFAULT_DENOISE), (job.model_for(hard), 1.0), (job.model_for(image), 0.5)):
        expected = blend(load_model("x4"), load_model("x4-real"), strength).state_dict()
        assert all(torch.equal(packed["state"][k], expected[k]) for k in expected)
    assert job.model_for(hard) is job.model_for(hard)  # packed once per strength


def test_cluster_batch_workers_upscale_each_video_at_its_strength(pair, ray_local, tmp_path):
    hard, lossless = tmp_path / "hard.mp4", tmp_path / "lossless.mp4"
    make_clip(hard, frames=6, width=40, height=24, options={"crf": "45"}, gop=3)
    make_clip(lossless, frames=6, width=40, height=24, options={"crf": "0"}, gop=3)
    items, report = plan_batch([hard, lossless], tmp_path / "cluster", codec="ffv1")
    upscale_batch_on_cluster(items, report, JobOptions.of(device="cpu", progress=False, **LOSSLESS), ClusterOptions(segment_frames=1))
    assert not report.failed
    for item, strength in zip(items, (1.0, 0.0)):
        upscale(item.input, tmp_path / f"{item.input.stem}-local.mkv", model="x4", denoise=strength, device="cpu", progress=False, **LOSSLESS)
        assert same(decoded(item.output), decoded(tmp_path / f"{item.input.stem}-local.mkv"))


def same(a: list[np.ndarray], b: list[np.ndarray]) -> bool:
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


def test_without_the_twin_the_default_is_the_clean_model(pair):
    (pair / "x4-real.safetensors").unlink()
    assert ModelOptions().denoise_strength is None  # no error: the default still runs, as x4
    assert Upscaler.from_options(ModelOptions(device="cpu")).model.config == TINY
