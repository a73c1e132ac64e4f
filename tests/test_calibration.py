"""--backend auto's calibration: measured here, written whole for this machine's key, followed only on it.

Nothing here asserts which engine is faster: a calibration's content is checked against its own
numbers, and the picks against rankings the tests write themselves.
"""

import importlib.util
import json
import logging
import signal
import subprocess
import sys

import pytest
import torch
from conftest import perturbed

from vsrgan.benchmark.calibrate import calibrate
from vsrgan.inference.backends import AUTO_TABLE, auto_origin, pick_backend
from vsrgan.inference.calibration import ENGINES, ISA_FLAGS, VARIABLE, calibration_path, cpu_flags, cpu_name, write_calibration
from vsrgan.inference.upscaler import Upscaler
from vsrgan.models import GeneratorConfig, build_generator
from vsrgan.models.vgg import cache_dir

CPU = torch.device("cpu")
AT_270P, AT_1080P = (480, 270), (1920, 1080)
INSTALLED = [e for e in ENGINES if e == "eager" or importlib.util.find_spec(e) is not None]  # the engine names are their packages'


def compact(features: int):
    return perturbed(build_generator(GeneratorConfig(arch="compact", skip="bicubic", num_features=features, num_blocks=1))).fused()


def ranked(*engines: str) -> dict[str, float]:
    """Model-only fps that put ``engines`` in this order, fastest first."""
    return {e: float(len(engines) - i) for i, e in enumerate(engines)}


def write(path, rows: dict, threads: int = 1):
    return write_calibration(rows, threads=threads, frames=dict.fromkeys(rows, 1), rounds=1, path=path)


@pytest.fixture
def calibration_file(tmp_path, monkeypatch):
    """The calibration file auto reads here (VSRGAN_CALIBRATION), not yet written."""
    path = tmp_path / "cache" / "auto-backends.json"
    monkeypatch.setenv(VARIABLE, str(path))
    return path


def auto(features: int, size=AT_270P, threads: int = 1, **kwargs) -> str:
    return pick_backend("auto", CPU, compact(features), size=size, threads=threads, **kwargs)


def test_the_file_lives_in_the_cache_folder_unless_the_variable_says_otherwise(monkeypatch, tmp_path):
    monkeypatch.delenv(VARIABLE)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert calibration_path() == cache_dir() / "auto-backends.json" == tmp_path / "vsrgan" / "auto-backends.json"
    monkeypatch.setenv(VARIABLE, str(tmp_path / "mine.json"))
    assert calibration_path() == tmp_path / "mine.json"
    monkeypatch.setenv(VARIABLE, "off")
    assert calibration_path() is None


def test_a_short_calibration_ranks_what_it_measured_for_this_machine(calibration_file):
    """A real measurement (tiny networks at 270p, one frame, one round) writes this machine's key and
    each row's installed engines ranked by their own fps; auto then follows the file, and only with the
    threads it was measured at, and only for the rows it has."""
    result = calibrate(sizes="270p", frames=1, rounds=1, threads=1, nets={32: compact(32), 64: compact(64)}, progress=False)
    assert result.path == calibration_file
    data = json.loads(calibration_file.read_text())
    assert data["format"] == 1 and len(data["calibrations"]) == 1
    entry = data["calibrations"][0]
    machine = entry["machine"]
    assert machine["cpu"] == cpu_name() and machine["threads"] == 1
    assert set(machine["flags"]) == cpu_flags() & set(ISA_FLAGS)
    assert machine["versions"]["torch"] == torch.__version__
    for package in ("onnxruntime", "openvino", "ncnn"):
        assert (machine["versions"][package] is None) == (importlib.util.find_spec(package) is None), package
    assert {(r["features"], r["size"]) for r in entry["rows"]} == {(32, "270p"), (64, "270p")}
    for row in entry["rows"]:
        assert row["frames"] == 1 and sorted(row["fastest_first"]) == sorted(INSTALLED) == sorted(row["fps"])
        speeds = [row["fps"][e] for e in row["fastest_first"]]
        assert speeds == sorted(speeds, reverse=True) and all(s > 0 for s in speeds)
        first = row["fastest_first"][0]
        assert auto(row["features"]) == first, row
        assert auto_origin(CPU, compact(row["features"]), torch.float32, AT_270P, threads=1) == f"the calibration at {calibration_file}"
    # another thread count, a row not measured: the package table
    assert auto_origin(CPU, compact(32), torch.float32, AT_270P, threads=3) == "the package table"
    assert auto_origin(CPU, compact(32), torch.float32, AT_1080P, threads=1) == "the package table"
    assert auto(32, AT_1080P, installed=("ncnn",)) == "ncnn"  # AUTO_TABLE[32, "1080p"]


def test_auto_follows_the_calibrations_ranking_of_the_installed_engines(calibration_file):
    """Whatever the calibration ranks first runs, if it is installed; else the next one; eager where it
    ranks eager first. Picks the package's table never makes (ONNX Runtime; eager over ncnn) show it is the file."""
    write(calibration_file, {
        (32, "270p"): ranked("onnxruntime", "ncnn", "eager"),
        (64, "270p"): ranked("eager", "ncnn", "openvino"),
        (64, "1080p"): ranked("openvino", "ncnn", "eager"),
        (32, "1080p"): ranked("ncnn", "openvino", "eager"),
    })
    assert auto(32) == "onnxruntime"  # the table: openvino
    assert auto(32, installed=("ncnn", "openvino")) == "ncnn"
    assert auto(32, installed=()) == "eager"
    assert auto(64) == "eager"  # the table: ncnn
    assert auto(64, AT_1080P, installed=("openvino", "ncnn")) == "openvino"  # the table: ncnn
    assert auto(64, AT_1080P, installed=("ncnn",)) == "ncnn"
    assert AUTO_TABLE[64, "1080p"][0] == "ncnn" and AUTO_TABLE[32, "270p"] == ("openvino",)
    up = Upscaler(compact(32), device="cpu", backend="auto", threads=1)  # the job's own path: fit picks for the frame size
    up.fit(width=480, height=270, batch_size=1)
    assert up.backend == "onnxruntime"
    up.fit(width=1920, height=1080, batch_size=1)
    assert up.backend == "ncnn"
    other = Upscaler(compact(32), device="cpu", backend="auto", threads=2)  # not the threads calibrated: the table
    other.fit(width=480, height=270, batch_size=1)
    assert other.backend == ("openvino" if "openvino" in INSTALLED else "eager")


def test_a_calibration_of_another_machine_is_not_followed(calibration_file, caplog):
    """Another CPU, other vector flags, other engine versions, other threads: the package table, and one
    warning line naming what differs, however often auto picks. Calibrations of several machines share
    the file: writing one keeps the others."""
    write(calibration_file, {(32, "270p"): ranked("onnxruntime", "eager")}, threads=2)
    write(calibration_file, {(32, "270p"): ranked("ncnn", "eager")}, threads=1)
    assert len(json.loads(calibration_file.read_text())["calibrations"]) == 2
    assert auto(32, threads=2) == "onnxruntime" and auto(32, threads=1) == "ncnn"
    mine = json.loads(calibration_file.read_text())["calibrations"][1]

    changes = {
        "cpu": lambda m: m.update(cpu="Some Other CPU 9000"),
        "flags": lambda m: m.update(flags=[f for f in m["flags"] if f != "avx2"] if "avx2" in m["flags"] else m["flags"] + ["avx2"]),
        "torch": lambda m: m["versions"].update(torch="1.0.0"),
        "openvino": lambda m: m["versions"].update(openvino=None if m["versions"]["openvino"] else "2024.0.0"),
        "ncnn": lambda m: m["versions"].update(ncnn="1.0.20200101"),
    }
    for what, change in changes.items():
        entry = json.loads(json.dumps(mine))
        change(entry["machine"])
        calibration_file.write_text(json.dumps({"format": 1, "calibrations": [entry]}))
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="vsrgan"):
            for _ in range(3):
                assert auto(32, installed=("ncnn", "onnxruntime")) == "eager", what  # AUTO_TABLE[32, "270p"]: openvino, not installed
                assert auto_origin(CPU, compact(32), torch.float32, AT_270P, threads=1) == "the package table"
        assert len(caplog.records) == 1, (what, caplog.text)
        assert f"the calibration at '{calibration_file}' is for another machine ({what} " in caplog.records[0].getMessage()
    calibration_file.write_text(json.dumps({"format": 1, "calibrations": [mine]}))
    assert auto(32, threads=1) == "ncnn"
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="vsrgan"):
        assert auto(32, threads=4, installed=("ncnn", "onnxruntime")) == "eager"
    assert "threads 1, here 4" in caplog.text


def one_row(engines: str, fps: str) -> bytes:
    return ('{"format": 1, "calibrations": [{"machine": {}, "rows": [{"features": 32, "size": "270p", "fastest_first": %s, "fps": %s}]}]}'
            % (engines, fps)).encode()


@pytest.mark.parametrize(("name", "content"), [
    ("not JSON", b'{"format": 1, "calibrations": [{"machine": {'),
    ("not text", b"\xff\xfe\x00\x01 binary"),
    ("empty", b""),
    ("a list", b"[1, 2]"),
    ("another format", b'{"format": 2, "calibrations": []}'),
    ("no rows", b'{"format": 1, "calibrations": [{"machine": {}}]}'),
    ("an unknown engine", one_row('["tensorrt"]', "{}")),
    ("no engine", one_row("[]", "{}")),
    ("fps as a list", one_row('["eager"]', "[1]")),
    ("a folder", None),
])
def test_a_damaged_calibration_is_one_warning_and_the_table(calibration_file, caplog, name, content):
    calibration_file.parent.mkdir(parents=True)
    if content is None:
        calibration_file.mkdir()
    else:
        calibration_file.write_bytes(content)
    with caplog.at_level(logging.WARNING, logger="vsrgan"):
        for _ in range(3):
            assert auto(32, installed=("ncnn", "onnxruntime")) == "eager"  # AUTO_TABLE[32, "270p"]: openvino, not installed
            assert auto(64, installed=("ncnn", "onnxruntime")) == "ncnn"
    assert len(caplog.records) == 1, caplog.text
    assert caplog.records[0].getMessage().startswith(f"ignoring '{calibration_file}': not a calibration file (")
    if content is not None:  # calibrating replaces a damaged file
        write(calibration_file, {(32, "270p"): ranked("onnxruntime", "eager")})
        assert auto(32) == "onnxruntime"


def test_a_job_with_a_damaged_calibration_runs_on_the_table_with_one_warning(calibration_file, tmp_path):
    from clips import make_clip

    clip = tmp_path / "in.mp4"
    make_clip(clip, frames=3, width=48, height=32)
    calibration_file.parent.mkdir(parents=True)
    calibration_file.write_text("{ not json")
    result = subprocess.run([sys.executable, "-m", "vsrgan", "upscale", str(clip), str(tmp_path / "out.mp4"), "-m", "x4", "--device", "cpu",
                             "--preset", "ultrafast", "-q"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    said = [line for line in result.stderr.splitlines() if not line.startswith("wrote ")]
    assert len(said) == 1 and said[0].startswith(f"vsrgan: ignoring '{calibration_file}': not a calibration file ("), result.stderr


def test_a_write_that_fails_midway_leaves_the_old_calibration(calibration_file):
    """The disk fills while the file is rewritten: the old calibration stays whole, nothing else is left
    in the folder, and the error is one line."""
    write(calibration_file, {(32, "270p"): ranked("ncnn", "eager")})
    before = calibration_file.read_bytes()
    limit = len(before) + 200  # the rewrite holds two machines' calibrations: longer than this

    def small_disk():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        import resource

        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    child = ("import sys; from pathlib import Path; from vsrgan.inference.calibration import write_calibration\n"
             "rows = {(f, s): {'eager': 1.0, 'ncnn': 2.0} for f in (32, 64) for s in ('270p', '540p', '1080p')}\n"
             "write_calibration(rows, threads=7, frames=dict.fromkeys(rows, 1), rounds=1, path=Path(sys.argv[1]))")
    result = subprocess.run([sys.executable, "-c", child, str(calibration_file)], capture_output=True, text=True, timeout=300, preexec_fn=small_disk)
    assert calibration_file.read_bytes() == before, result.stderr
    assert list(calibration_file.parent.iterdir()) == [calibration_file]
    assert result.returncode != 0 and "DiskFullError: no space left on" in result.stderr, result.stderr
    assert auto(32) == "ncnn"


def test_the_cli_calibrates_into_the_file_and_refuses_what_it_cannot_rank(calibration_file):
    cli = [sys.executable, "-m", "vsrgan", "bench", "--calibrate"]
    ok = subprocess.run([*cli, "--backends", "eager", "--sizes", "270p", "--frames", "1", "--rounds", "1", "--threads", "1", "-q"],
                        capture_output=True, text=True, timeout=300)
    assert ok.returncode == 0, ok.stderr
    rows = json.loads(calibration_file.read_text())["calibrations"][0]["rows"]
    assert [(r["features"], r["size"], r["fastest_first"]) for r in rows] == [(32, "270p", ["eager"]), (64, "270p", ["eager"])]
    assert str(calibration_file) in ok.stdout and "270p    eager" in ok.stdout
    for flags, said in ((["--sizes", "720p"], "--sizes: got '720p'; expected some of 270p, 540p, 1080p, comma-separated"),
                        (["--backends", "compile"], "--calibrate ranks the engines auto may pick (eager, onnxruntime, openvino, ncnn); got compile")):
        bad = subprocess.run([*cli, *flags], capture_output=True, text=True, timeout=300)
        assert bad.returncode == 1 and bad.stderr.strip().splitlines() == [f"vsrgan: error: {said}"], bad.stderr
