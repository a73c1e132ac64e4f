"""--backend: every installed engine gives eager's pixels within 1/255; a missing one is one clear line."""

import importlib.util

import numpy as np
import pytest
import torch
from clips import make_clip, pattern
from conftest import perturbed

from vsrgan.errors import ConfigError
from vsrgan.inference.backends import AUTO_TABLE, BACKENDS, EXTRAS, auto_row, available_backends, build_backend, cpu_has_bf16, pick_backend
from vsrgan.inference.memory import default_batch_size
from vsrgan.inference.pipeline import StageTimes
from vsrgan.inference.threads import ThreadBudget, plan_threads
from vsrgan.inference.upscaler import Upscaler
from vsrgan.io import frames
from vsrgan.io.video import read_frames
from vsrgan.models import Bicubic, GeneratorConfig, build_generator, load_model
from vsrgan.models.foreign.srvgg import SRVGGNetCompact
from vsrgan.options import JobOptions
from vsrgan.upscale import upscale_video


def installed(name: str) -> bool:
    return name not in EXTRAS or importlib.util.find_spec(EXTRAS[name]) is not None


def small_compact():
    config = GeneratorConfig(arch="compact", skip="bicubic", num_features=8, num_blocks=3)
    return perturbed(build_generator(config))


@pytest.mark.parametrize("name", [n for n in BACKENDS if n != "compile"])
def test_each_installed_backend_gives_eagers_pixels(name):
    if not installed(name):
        pytest.skip(f"{EXTRAS[name]} is not installed")
    u8 = np.stack([pattern(40, 30, 1), pattern(40, 30, 2)])  # (2, H, W, 3): a batch, odd sizes below
    for model in (small_compact(), load_model("x4")):
        eager = Upscaler(model, device="cpu")
        other = Upscaler(model, device="cpu", backend=name, threads=2)
        assert other.backend == name
        for batch in (u8, u8[:1, :29, :37]):
            ours, theirs = eager.upscale_frames(batch), other.upscale_frames(batch)
            assert theirs.shape == ours.shape and theirs.dtype == np.uint8
            assert np.abs(theirs.astype(int) - ours.astype(int)).max() <= 1


def test_torch_compile_gives_eagers_pixels_with_a_static_graph_per_batch_shape():
    from torch._dynamo.utils import counters

    model = small_compact()
    u8 = np.stack([pattern(24, 16, i) for i in range(4)])
    eager = Upscaler(model, device="cpu")
    torch._dynamo.reset()
    counters.clear()
    compiled = Upscaler(model, device="cpu", backend="compile")
    for batch in (u8, u8[:2], u8, u8[:3]):  # full batches and the partial last ones of a video
        ours, theirs = eager.upscale_frames(batch), compiled.upscale_frames(batch)
        assert np.abs(theirs.astype(int) - ours.astype(int)).max() <= 1
    # one graph per shape: no dynamic-batch graph that would serve the full batches after a partial one
    assert counters["stats"]["unique_graphs"] == 3


@pytest.mark.parametrize("name", list(EXTRAS))
def test_a_missing_package_is_one_line(name):
    if installed(name):
        pytest.skip(f"{EXTRAS[name]} is installed here")
    with pytest.raises(ConfigError, match=rf"--backend {name} needs the '{EXTRAS[name]}' package: pip install 'vsrgan\[{name}\]'"):
        Upscaler(small_compact(), device="cpu", backend=name)
    assert name not in available_backends()


def test_auto_is_eager_off_the_table_and_other_names_are_kept():
    assert pick_backend("auto", torch.device("cpu")) == "eager"
    assert pick_backend("auto", torch.device("cuda"), small_compact()) == "eager"
    assert pick_backend("onnxruntime", torch.device("cpu")) == "onnxruntime"


def test_unknown_backends_and_devices_are_refused():
    with pytest.raises(ConfigError, match="unknown backend 'tensorrt'; expected one of eager, compile"):
        build_backend("tensorrt", small_compact(), device=torch.device("cpu"), threads=1)
    with pytest.raises(ConfigError, match="runs on the CPU"):
        build_backend("onnxruntime", small_compact(), device=torch.device("cuda"), threads=1)


def test_bf16_is_detected_from_the_cpus_flags(tmp_path):
    """Native bf16 is a whole flag on a 'flags' line, not a word anywhere in the file."""
    cases = {
        "flags\t\t: fpu sse2 avx2 fma avx512f avx512_bf16 avx512_vnni\n": True,
        "flags\t\t: fpu sse2 avx2 amx_tile amx_bf16 amx_int8\n": True,
        "flags\t\t: fpu sse2 avx2 fma avx512f avx512bw\n": False,  # AVX-512 without BF16: emulated
        "flags\t\t: fpu sse2 avx2 fma\nbugs\t\t: avx512_bf16\n": False,  # the word, on another line
        "flags\t\t: fpu sse2 xavx512_bf16x\n": False,  # part of another flag
    }
    for i, (text, native) in enumerate(cases.items()):
        (tmp_path / f"cpuinfo{i}").write_text("processor\t: 0\n" + text)
        assert cpu_has_bf16(tmp_path / f"cpuinfo{i}") is native, text
    assert cpu_has_bf16(tmp_path / "missing") is False


def test_the_thread_budget_comes_from_the_core_count_and_can_be_overridden():
    assert plan_threads(8, device="cpu") == ThreadBudget(model=8, encoder=4, decoder=1)
    assert plan_threads(1, device="cpu") == ThreadBudget(model=1, encoder=1, decoder=1)
    assert plan_threads(16, device="cuda") == ThreadBudget(model=1, encoder=16, decoder=2)
    assert plan_threads(None, device="cpu").model >= 1
    with pytest.raises(ConfigError, match="--threads must be at least 1, got 0"):
        plan_threads(0)
    assert default_batch_size(torch.device("cpu")) == 1 and default_batch_size(torch.device("cuda")) == 4


def test_float_to_uint8_in_place_equals_the_careful_way():
    x = torch.rand(2, 3, 17, 23).contiguous(memory_format=torch.channels_last)
    x[0, 0, 0, :4] = torch.tensor([0.0, 1.0, 0.5 / 255, 254.5 / 255])
    expected = frames.to_uint8(x)
    assert torch.equal(frames.to_uint8_(x.clone()), expected)
    assert torch.equal(frames.to_uint8_(x.half()), frames.to_uint8(x.half()))


def test_the_job_reports_each_stages_busy_time_and_keeps_the_frames(tmp_path):
    clip = tmp_path / "in.mp4"
    make_clip(clip, frames=6, width=32, height=24)
    times = StageTimes()
    up = Upscaler(small_compact(), device="cpu")
    lossless = JobOptions.of(preset="ultrafast", crf=0, progress=False)
    out = upscale_video(up, clip, tmp_path / "out.mp4", JobOptions.of(lossless, batch_size=1, threads=1), times=times)
    assert all(times.busy[s] > 0 for s in ("decode", "model", "encode")), times
    assert all(times.cpu[s] >= 0 for s in ("decode", "model", "encode"))
    assert torch.get_num_threads() == 1
    again = upscale_video(up, clip, tmp_path / "again.mp4", JobOptions.of(lossless, batch_size=2, threads=2))
    assert torch.get_num_threads() == 2
    one, two = [[f.image for f in read_frames(p, threads=t)] for p, t in ((out, 1), (again, 0))]
    assert len(one) == len(two) == 6
    # lossless: the budget changes the speed, not the pixels (but for float rounding: oneDNN sums in another order)
    diff = max(np.abs(a.astype(int) - b.astype(int)).max() for a, b in zip(one, two))
    assert diff <= 2, diff


def compact(features: int):
    return perturbed(build_generator(GeneratorConfig(arch="compact", skip="bicubic", num_features=features, num_blocks=2))).fused()


SIZES = {"270p": (480, 270), "540p": (960, 540), "1080p": (1920, 1080)}
EVERY_ENGINE = ("onnxruntime", "openvino", "ncnn")


@pytest.mark.parametrize(("features", "size", "everything", "without_openvino", "without_ncnn"), [
    (32, "270p", "openvino", "eager", "openvino"),
    (32, "540p", "ncnn", "ncnn", "openvino"),
    (32, "1080p", "ncnn", "ncnn", "openvino"),
    (64, "270p", "ncnn", "ncnn", "openvino"),
    (64, "540p", "ncnn", "ncnn", "eager"),
    (64, "1080p", "ncnn", "ncnn", "openvino"),
])
def test_auto_follows_the_measured_table(features, size, everything, without_openvino, without_ncnn):
    """The table's choice for a compact net of each measured width at each measured size, with every
    engine installed and with one missing (the next in the row, or eager); none installed: eager."""
    cpu, model, frame = torch.device("cpu"), compact(features), SIZES[size]
    assert pick_backend("auto", cpu, model, size=frame, installed=EVERY_ENGINE) == everything
    assert pick_backend("auto", cpu, model, size=frame, installed=("onnxruntime", "ncnn")) == without_openvino
    assert pick_backend("auto", cpu, model, size=frame, installed=("onnxruntime", "openvino")) == without_ncnn
    assert pick_backend("auto", cpu, model, size=frame, installed=()) == "eager"


def test_auto_rows_are_the_nearest_measured_width_and_size():
    cpu, narrow, wide = torch.device("cpu"), compact(32), compact(64)
    assert auto_row(cpu, narrow, torch.float32, (640, 360)) == AUTO_TABLE[32, "270p"]  # nearer 270p than 540p in pixels
    assert auto_row(cpu, narrow, torch.float32, (1280, 720)) == AUTO_TABLE[32, "540p"]
    assert auto_row(cpu, narrow, torch.float32, (3840, 2160)) == AUTO_TABLE[32, "1080p"]
    assert auto_row(cpu, narrow, torch.float32, (200, 40)) == AUTO_TABLE[32, "270p"]  # a small tile
    assert auto_row(cpu, narrow, torch.float32, None) == AUTO_TABLE[32, "540p"]  # size not known yet
    assert auto_row(cpu, compact(8), torch.float32, None) == AUTO_TABLE[32, "540p"]
    assert auto_row(cpu, wide, torch.float32, (960, 540)) == AUTO_TABLE[64, "540p"]
    assert auto_row(cpu, compact(48), torch.float32, None) == AUTO_TABLE[64, "540p"]
    assert auto_row(cpu, compact(128), torch.float32, (480, 270)) == AUTO_TABLE[64, "270p"]
    srvgg = SRVGGNetCompact(num_feat=64, num_conv=2, scale=4)  # Real-ESRGAN's compact net: the 64 row
    assert auto_row(cpu, srvgg, torch.float32, (1920, 1080)) == AUTO_TABLE[64, "1080p"]


def test_auto_is_eager_off_the_cpu_in_other_precisions_and_for_other_networks():
    cpu, wide = torch.device("cpu"), compact(64)
    span = build_generator(GeneratorConfig(arch="span", skip="bicubic", num_features=64, num_blocks=1)).fused()
    srresnet = build_generator(GeneratorConfig(arch="srresnet", num_features=64, num_blocks=1))
    for args in ((cpu, wide, torch.bfloat16), (torch.device("cuda"), wide, torch.float32), (cpu, span, torch.float32),
                 (cpu, srresnet, torch.float32), (cpu, Bicubic(scale=4), torch.float32), (cpu, None, torch.float32)):
        assert pick_backend("auto", *args, size=(480, 270), installed=EVERY_ENGINE) == "eager", args
    assert pick_backend("eager", cpu, wide, installed=EVERY_ENGINE) == "eager"
    grey = build_generator(GeneratorConfig(arch="compact", skip="bicubic", num_features=64, num_blocks=2, in_channels=1, out_channels=1))
    assert pick_backend("auto", cpu, grey, size=(480, 270), installed=EVERY_ENGINE) == "openvino"  # ncnn's writer takes RGB nets only
    assert pick_backend("auto", cpu, grey, size=(480, 270), installed=("ncnn",)) == "eager"


def test_auto_is_picked_again_once_the_frame_size_is_known():
    """Upscaler.fit settles auto for the size the network sees (the tile, when tiled), and what it
    picked gives eager's pixels. Which engine that is depends on what is installed here."""
    cpu, model = torch.device("cpu"), compact(32)
    up = Upscaler(model, device="cpu", backend="auto")
    assert up.backend == pick_backend("auto", cpu, up.model, size=None)
    eager = Upscaler(model, device="cpu")
    for width, height in ((1920, 1080), (480, 270)):
        up.fit(width=width, height=height, batch_size=1)
        assert up.backend == pick_backend("auto", cpu, up.model, size=(width, height))
    tiled = Upscaler(model, device="cpu", backend="auto", tile=64)
    tiled.fit(width=1920, height=1080, batch_size=1)
    assert tiled.backend == pick_backend("auto", cpu, tiled.model, size=(64 + 2 * tiled.pad,) * 2)
    frames = np.stack([pattern(37, 29, i) for i in range(2)])
    for other in (up, tiled):
        diff = np.abs(other.upscale_frames(frames).astype(int) - eager.upscale_frames(frames).astype(int)).max()
        assert diff <= 1, other.backend
    unfitted = Upscaler(model, device="cpu", backend="auto")  # called without fit: picked for the input it sees
    assert unfitted.run is None  # no engine built for the guess
    unfitted.upscale_frames(frames)
    assert unfitted.backend == pick_backend("auto", cpu, unfitted.model, size=(37, 29)) and unfitted.run is not None
    asked = Upscaler(model, device="cpu", backend="eager")
    asked.fit(width=1920, height=1080, batch_size=1)
    assert asked.backend == "eager"  # a backend asked for by name stays
