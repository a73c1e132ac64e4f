"""vsrgan bench: a tiny run end to end, the JSON it writes, and the reference pipelines' pieces."""

import importlib.util
import json
import subprocess
import sys
from fractions import Fraction

import numpy as np
import pytest
import torch
from clips import make_clip, pattern

from vsrgan.benchmark.backends import BackendResult, auto_pick
from vsrgan.benchmark.bench import bench, parse_size
from vsrgan.benchmark.flops import count_flops
from vsrgan.benchmark.references import pipes_pipeline, seed_pipeline
from vsrgan.benchmark.results import STAGES, format_auto, format_table
from vsrgan.errors import ConfigError, VideoError
from vsrgan.io.encoding import EncodeOptions
from vsrgan.io.video import probe, read_frames
from vsrgan.models import Bicubic, save_generator

PIPES = [sys.executable, "-m", "vsrgan.benchmark.pipes"]


def test_sizes():
    assert parse_size("270p") == (480, 270)
    assert parse_size("540p") == (960, 540)
    assert parse_size("64x48") == (64, 48)
    for bad in ("big", "64x", "8x8"):
        with pytest.raises(ConfigError, match="--size"):
            parse_size(bad)


def test_a_tiny_bench_measures_every_stage(tmp_path, tiny_generator):
    weights = save_generator(tiny_generator, tmp_path / "g.safetensors")
    path = tmp_path / "out" / "bench.json"
    result = bench(
        model=str(weights), size="64x48", frames=5, batch_size=2, device="cpu", preset="ultrafast",
        json_path=path, progress=False,
    )
    assert json.loads(path.read_text()) == result.to_dict()
    assert set(result.fps) == set(result.seconds) == set(STAGES)
    assert all(v > 0 for v in result.fps.values())
    assert result.flops_per_frame == count_flops(tiny_generator, width=64, height=48) > 0
    assert result.tflops["model_only"] > 0
    assert result.config.output == [256, 192] and result.config.precision == "fp32"
    assert set(result.ratios) == {"end_to_end_vs_bound", "end_to_end_vs_ref_seed", "end_to_end_vs_ref_pipes"}
    env = result.environment
    assert env.device == "cpu" and env.cpu_count >= 1 and env.torch == torch.__version__ and env.device_name
    table = format_table(result)
    for label in ("model only", "decode only", "encode only", "end-to-end", "ref (a)", "ref (b)"):
        assert label in table


def test_a_tiny_bench_compares_backends_side_by_side(tmp_path, tiny_generator):
    weights = save_generator(tiny_generator, tmp_path / "g.safetensors")
    result = bench(
        model=str(weights), size="32x24", frames=2, batch_size=1, device="cpu", preset="ultrafast", threads=1,
        backends="eager,onnxruntime,openvino", rounds=2, references=False, progress=False,
    )
    assert result.environment.threads == {"model": 1, "encoder": 1, "decoder": 1}
    assert set(result.end_to_end_busy) == {"decode", "model", "encode"} and result.end_to_end_busy["model"] > 0
    assert result.backends["eager"].max_diff == 0
    assert set(result.backends) | set(result.skipped_backends) == {"eager", "onnxruntime", "openvino"}
    for name, b in result.backends.items():
        assert b.max_diff <= 1 and b.model_only_fps > 0 and b.end_to_end_fps > 0, name
    for why in result.skipped_backends.values():
        assert "pip install 'vsrgan[" in why
    for name, b in result.backends.items():
        assert len(b.model_only_rounds) == len(b.end_to_end_rounds) == 2 and b.model_only_fps == pytest.approx(2 / sum(1 / f for f in b.model_only_rounds)), name  # the median (here: mean) round's seconds
    # auto's pick for this network (an SRResNet: eager), beside the fastest measured
    fastest = max(b.model_only_fps for b in result.backends.values())
    assert result.auto.backend == "eager" and result.auto.model_only_ratio == pytest.approx(result.backends["eager"].model_only_fps / fastest)
    table = format_table(result)
    assert "backend" in table and "max diff" in table and "busy" in table and "auto picks eager:" in table
    with pytest.raises(ConfigError, match="unknown backend tensorrt"):
        bench(model="bicubic", size="32x24", frames=1, backends="eager,tensorrt", progress=False)


def test_bench_says_where_autos_pick_came_from(tmp_path, monkeypatch):
    """The package table, or this machine's calibration (its path), beside auto's pick in the table and the JSON."""
    from vsrgan.inference.calibration import VARIABLE, write_calibration
    from vsrgan.models import GeneratorConfig, build_generator

    net = build_generator(GeneratorConfig(arch="compact", skip="bicubic", num_features=32, num_blocks=1))
    weights = save_generator(net, tmp_path / "compact.safetensors")

    def run():
        return bench(model=str(weights), size="48x32", frames=1, batch_size=1, device="cpu", preset="ultrafast", threads=1,
                     backends="eager,onnxruntime", rounds=1, references=False, progress=False)

    monkeypatch.setenv(VARIABLE, str(tmp_path / "none.json"))
    table = run()
    table_pick = "openvino" if importlib.util.find_spec("openvino") else "eager"  # AUTO_TABLE[32, "270p"], where installed
    assert table.auto.origin == "the package table" and table.auto.backend == table_pick
    assert f"auto picks {table_pick}: " in format_table(table) and "; from the package table" in format_table(table)
    path = tmp_path / "calibration.json"
    write_calibration({(32, "270p"): {"onnxruntime": 2.0, "eager": 1.0}}, threads=1, frames={(32, "270p"): 1}, rounds=1, path=path)
    monkeypatch.setenv(VARIABLE, str(path))
    measured = run()
    assert measured.auto.backend == "onnxruntime" and measured.auto.origin == f"the calibration at {path}"
    assert "auto picks onnxruntime: " in format_table(measured) and f"; from the calibration at {path}" in format_table(measured)
    assert measured.to_dict()["auto"]["origin"] == f"the calibration at {path}"


def test_the_cli_prints_a_table_and_rejects_bad_sizes(tmp_path):
    cli = [sys.executable, "-m", "vsrgan", "bench"]
    help = subprocess.run([*cli, "--help"], capture_output=True, text=True, timeout=120)
    assert help.returncode == 0 and "--compile" in help.stdout and "random-pixelshuffle" in help.stdout
    ok = subprocess.run(
        [*cli, "-m", "bicubic", "--size", "32x32", "--frames", "3", "--device", "cpu", "--preset", "ultrafast",
         "--no-references", "--json", str(tmp_path / "b.json"), "-q"],
        capture_output=True, text=True, timeout=120,
    )
    assert ok.returncode == 0, ok.stderr
    assert "end-to-end" in ok.stdout and "ref (b)" not in ok.stdout
    assert json.loads((tmp_path / "b.json").read_text())["config"]["model"] == "bicubic"
    bad = subprocess.run([*cli, "--size", "huge"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and bad.stderr.strip().splitlines() == [bad.stderr.strip()]
    assert bad.stderr.startswith("vsrgan: error: --size 'huge'")


def test_decoder_process_writes_exactly_the_frames_read_frames_reads(tmp_path):
    clip = tmp_path / "clip.mp4"
    make_clip(clip, width=48, height=32, frames=12)
    raw = subprocess.run([*PIPES, "decode", str(clip)], capture_output=True, timeout=120, check=True).stdout
    frames = np.frombuffer(raw, np.uint8).reshape(-1, 32, 48, 3)
    expected = np.stack([f.image for f in read_frames(clip)])
    assert frames.shape == expected.shape == (12, 32, 48, 3)
    assert np.array_equal(frames, expected)


def test_encoder_process_encodes_raw_frames_losslessly(tmp_path):
    images = np.stack([pattern(48, 32, i) for i in range(7)])
    out = tmp_path / "out.mkv"
    subprocess.run(
        [*PIPES, "encode", str(out), "48", "32", "30000/1001", "--codec", "libx264rgb", "--crf", "0", "--pix-fmt", "rgb24"],
        input=images.tobytes(), capture_output=True, timeout=120, check=True,
    )
    decoded = np.stack([f.image for f in read_frames(out)])
    assert np.array_equal(decoded, images)
    assert probe(out).frame_rate == Fraction(30000, 1001)


def test_encoder_process_refuses_a_partial_frame(tmp_path):
    result = subprocess.run(
        [*PIPES, "encode", str(tmp_path / "out.mp4"), "48", "32", "25"],
        input=b"\0" * (48 * 32 * 3 + 10), capture_output=True, timeout=120,
    )
    assert result.returncode != 0 and b"10 bytes into a 4608-byte frame" in result.stderr


@pytest.mark.parametrize("reference", ["seed", "pipes"])
def test_reference_pipelines_write_every_frame(tmp_path, reference):
    clip, out = tmp_path / "clip.mp4", tmp_path / "out.mp4"
    make_clip(clip, width=48, height=32, frames=9)
    options = {"device": "cpu", "encode": EncodeOptions(codec="libx264", preset="ultrafast", crf=18)}
    if reference == "seed":
        count = seed_pipeline(Bicubic(scale=2), clip, out, tmp_path / "work", **options)
    else:
        count = pipes_pipeline(Bicubic(scale=2), clip, out, **options)
    info = probe(out)
    assert count == 9 == len(list(read_frames(out)))
    assert (info.width, info.height) == (96, 64)


def test_an_encoder_process_failure_is_one_clear_error(tmp_path):
    clip = tmp_path / "clip.mp4"
    make_clip(clip, width=48, height=32, frames=4)
    with pytest.raises(VideoError, match="encoder process failed"):
        pipes_pipeline(Bicubic(scale=2), clip, tmp_path / "out.mp4", device="cpu", encode=EncodeOptions(codec="no-such-codec", preset="ultrafast", crf=18))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_compiled_bench_on_the_gpu(tmp_path, tiny_generator):
    weights = save_generator(tiny_generator, tmp_path / "g.safetensors")
    result = bench(model=str(weights), size="64x48", frames=6, batch_size=4, device="cuda", compile=True, references=False, progress=False)
    assert result.config.precision == "fp16" and result.config.compile
    assert all(v > 0 for v in result.fps.values())


def test_encode_timing_with_yuv420p_planes_as_on_a_gpu(tmp_path):
    from vsrgan.benchmark.bench import time_encode
    from vsrgan.io.video import probe

    seconds = time_encode(tmp_path / "e.mp4", width=64, height=48, frames=5, encode=EncodeOptions(codec="libx264", preset="ultrafast", crf=23), i420=True)
    assert seconds > 0
    assert probe(tmp_path / "e.mp4").num_frames == 5


class Brighter(torch.nn.Module):
    """bicubic x2, then ``steps``/255 brighter: a network whose distance from bicubic is known."""

    scale, receptive_radius = 2, 2

    def __init__(self, steps: int):
        super().__init__()
        self.bicubic, self.steps = Bicubic(scale=2), steps

    def forward(self, x):
        return self.bicubic(x) + self.steps / 255


def test_each_backend_is_checked_against_the_reference_not_itself(tmp_path):
    """compare_backends' max diff is |backend - reference|: with a reference 3/255 brighter than the
    network, eager must report 3 (an eager-vs-itself check would say 0, as the bench's own run does)."""
    from vsrgan.benchmark.backends import compare_backends
    from vsrgan.inference.upscaler import Upscaler

    clip = tmp_path / "in.mp4"
    make_clip(clip, frames=2, width=32, height=24)
    frames = np.stack([pattern(32, 24, i) for i in range(2)]) // 2  # darker than 252: no clipping at 255
    reference = Upscaler(Brighter(3), device="cpu", precision="fp32")
    results, skipped = compare_backends(
        Bicubic(scale=2), ["eager"], reference=reference, clip=clip, check_frames=frames, workdir=tmp_path,
        sizes=[1], batch_size=1, encode=EncodeOptions(preset="ultrafast"), threads=1, model_threads=1,
    )
    assert not skipped
    assert results["eager"].max_diff == 3


def result(model_fps: float, e2e_fps: float) -> BackendResult:
    return BackendResult(model_only_fps=model_fps, end_to_end_fps=e2e_fps, max_diff=0, warmup_seconds=0.0)


def test_auto_is_set_beside_the_fastest_and_flagged_when_more_than_5_percent_slower():
    measured = {"eager": result(1.0, 0.8), "openvino": result(1.5, 1.0), "ncnn": result(1.45, 1.1)}
    near = auto_pick("ncnn", measured)
    assert (near.fastest_model_only, near.fastest_end_to_end) == ("openvino", "ncnn")
    assert near.model_only_ratio == pytest.approx(1.45 / 1.5) and near.end_to_end_ratio == 1.0 and not near.slower
    far = auto_pick("eager", measured)
    assert far.model_only_ratio == pytest.approx(1 / 1.5) and far.slower
    assert "more than 5% slower" in format_auto(far) and "slower" not in format_auto(near)
    unmeasured = auto_pick("ncnn", {"eager": result(1.0, 0.8)})
    assert unmeasured.model_only_ratio is None and not unmeasured.slower and "not among the measured" in format_auto(unmeasured)


def test_backends_take_turns_in_alternating_order(tmp_path):
    """Each round times every backend, the order reversed every other round, so load drift falls on all alike."""
    from vsrgan.benchmark.backends import compare_backends
    from vsrgan.inference.upscaler import Upscaler

    pytest.importorskip("ncnn")
    clip = tmp_path / "in.mp4"
    make_clip(clip, frames=2, width=32, height=24)
    said = []
    results, _ = compare_backends(
        Bicubic(scale=2), ["eager", "ncnn"], reference=Upscaler(Bicubic(scale=2), device="cpu"), clip=clip,
        check_frames=np.stack([pattern(32, 24, 0)]), workdir=tmp_path, sizes=[1, 1], batch_size=1,
        encode=EncodeOptions(preset="ultrafast"), threads=1, model_threads=1, rounds=3, say=said.append,
    )
    rounds = [line for line in said if "round" in line]
    assert [line.endswith(order) for line, order in zip(rounds, ("(eager, ncnn)", "(ncnn, eager)", "(eager, ncnn)"))] == [True] * 3
    for b in results.values():
        assert len(b.model_only_rounds) == 3 and b.model_only_fps == pytest.approx(sorted(b.model_only_rounds)[1])
    with pytest.raises(ConfigError, match="--rounds must be at least 1, got 0"):
        compare_backends(Bicubic(scale=2), ["eager"], reference=Upscaler(Bicubic(scale=2), device="cpu"), clip=clip,
                         check_frames=np.stack([pattern(32, 24, 0)]), workdir=tmp_path, sizes=[1], batch_size=1,
                         encode=EncodeOptions(), threads=1, model_threads=1, rounds=0)
