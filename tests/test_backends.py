"""--backend: every installed engine gives eager's pixels within 1/255; a missing one is one clear line."""

import importlib.util

import numpy as np
import pytest
import torch
from conftest import make_clip, pattern, perturbed

from vsrgan.errors import ConfigError
from vsrgan.inference.backends import BACKENDS, EXTRAS, available_backends, build_backend, cpu_has_bf16, pick_backend
from vsrgan.inference.memory import default_batch_size
from vsrgan.inference.pipeline import StageTimes
from vsrgan.inference.threads import ThreadBudget, plan_threads
from vsrgan.inference.upscaler import Upscaler
from vsrgan.io import frames
from vsrgan.io.video import read_frames
from vsrgan.models import GeneratorConfig, build_generator, load_model
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


def test_auto_is_eager_everywhere():
    assert pick_backend("auto", torch.device("cpu")) == "eager"
    assert Upscaler(small_compact(), device="cpu", backend="auto").backend == "eager"
    assert pick_backend("auto", torch.device("cuda")) == "eager"
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


def test_auto_picks_ncnn_for_wide_compact_networks_on_the_cpu_only():
    """auto: ncnn where it was measured faster (a compact net of 64 features, fp32, CPU), eager for
    our 32-feature x4, for any precision but fp32, for a network ncnn cannot write (SPAN), and off the CPU."""
    from vsrgan.inference.backends import pick_backend

    pytest.importorskip("ncnn")
    cpu = torch.device("cpu")
    wide = perturbed(build_generator(GeneratorConfig(arch="compact", skip="bicubic", num_features=64, num_blocks=2))).fused()
    narrow = perturbed(build_generator(GeneratorConfig(arch="compact", skip="bicubic", num_features=32, num_blocks=2))).fused()
    span = build_generator(GeneratorConfig(arch="span", skip="bicubic", num_features=64, num_blocks=1)).fused()
    assert pick_backend("auto", cpu, wide) == "ncnn"
    assert pick_backend("auto", cpu, narrow) == "eager"
    assert pick_backend("auto", cpu, wide, torch.bfloat16) == "eager"
    assert pick_backend("auto", cpu, span) == "eager"
    assert pick_backend("auto", torch.device("cuda"), wide) == "eager"
    assert pick_backend("eager", cpu, wide) == "eager"
    # what auto picked gives eager's pixels, whole frames and tiles alike
    frames = np.stack([pattern(37, 29, i) for i in range(2)])
    auto, eager = (Upscaler(wide, device="cpu", backend=b) for b in ("auto", "eager"))
    assert auto.backend == "ncnn"
    tiled = Upscaler(wide, device="cpu", backend="auto", tile=16)
    for up in (auto, tiled):
        diff = np.abs(up.upscale_frames(frames).astype(int) - eager.upscale_frames(frames).astype(int)).max()
        assert diff <= 1
