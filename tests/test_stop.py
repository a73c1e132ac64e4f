"""SIGTERM and SIGHUP (what ``timeout``, ``docker stop``, systemd and schedulers send, and a closed
terminal) stop every job the way Ctrl-C does: nothing half-written, exit 128 + the signal, one line.

Each test signals the moment the job announces that it has done part of its work
(:mod:`vsrgan.io.events`: the first frame given to the encoder, a dataset frame saved, a frame
scored, a training step taken), on inputs long enough that the rest takes far longer than the
signal does to arrive: no sleeps, no polls.
"""

import json
import os
import re
import signal
import subprocess
import sys
import threading

import pytest
import torch
from clips import make_clip
from conftest import tiny_train_overrides

CLI = [sys.executable, "-m", "vsrgan"]


def default_sighup():
    """In the child: SIGHUP as a terminal delivers it. Under ``nohup`` the test runner ignores SIGHUP,
    children inherit that, and vsrgan rightly keeps an ignored SIGHUP ignored."""
    signal.signal(signal.SIGHUP, signal.SIG_DFL)


class Job:
    """A CLI job in a subprocess that announces its milestones to ``events``, its stderr collected as it comes."""

    def __init__(self, events, *args):
        self.events = events
        self.proc = subprocess.Popen([*CLI, *map(str, args)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                     preexec_fn=default_sighup, env={**os.environ, **events.env})
        self.stderr = ""
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        while chunk := self.proc.stderr.read(1):
            self.stderr += chunk
        self.events.end("the job ended")  # its stderr closed: it exited

    def signal_at(self, milestone, signum):
        try:
            assert self.events.wait(milestone) == self.proc.pid
        except AssertionError as e:
            raise AssertionError(f"{e}: {self.stderr}") from None
        self.proc.send_signal(signum)
        self.proc.wait(timeout=120)
        self.reader.join(timeout=10)
        return self.proc.returncode, [line for line in re.split(r"[\r\n]", self.stderr) if line.strip()]


def names(folder):
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory):
    path = tmp_path_factory.mktemp("long") / "long.mp4"
    make_clip(path, frames=400, width=160, height=120, audio=True)
    return path


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_upscale_stopped_by_a_signal_leaves_nothing(tmp_path, long_clip, events, signum):
    job = Job(events, "upscale", long_clip, tmp_path / "out.mp4", "-m", "bicubic", "--batch-size", "1", "--preset", "slow", "-q")
    code, lines = job.signal_at("frame-written", signum)
    assert code == 128 + signum
    assert lines == [f"vsrgan: stopped by {signal.Signals(signum).name}; no output was written"]
    assert names(tmp_path) == []


def test_compare_stopped_by_sigterm_leaves_nothing(tmp_path, long_clip, events):
    job = Job(events, "compare", long_clip, tmp_path / "cmp.mp4", "-m", "bicubic", "--batch-size", "1", "--preset", "slow", "-q")
    code, lines = job.signal_at("frame-written", signal.SIGTERM)
    assert code == 143 and lines == ["vsrgan: stopped by SIGTERM; no output was written"]
    assert names(tmp_path) == []


def test_evaluate_out_stopped_by_sigterm_writes_no_report(tmp_path, long_clip, events):
    job = Job(events, "evaluate", long_clip, "--out", tmp_path / "report", "--device", "cpu")
    code, lines = job.signal_at("frame-scored", signal.SIGTERM)
    assert code == 143 and lines[-1] == "vsrgan: stopped by SIGTERM; no output was written"
    assert not (tmp_path / "report").exists() or names(tmp_path / "report") == []


def test_an_interrupted_report_is_removed(tmp_path, monkeypatch, tiny_dataset):
    from vsrgan.evaluation import report
    from vsrgan.evaluation.evaluate import evaluate
    from vsrgan.io.stop import Stopped

    result = evaluate([tiny_dataset], device="cpu", progress=False)

    def stopped(_):
        raise Stopped(signal.SIGTERM)

    monkeypatch.setattr(report, "plot_bars", stopped)  # a signal while the fourth file is made
    with pytest.raises(Stopped):
        report.write_report(result, tmp_path / "report")
    assert not (tmp_path / "report").exists()  # the folder it made, removed again


def test_prepare_stopped_by_sigterm_leaves_no_half_dataset(tmp_path, long_clip, events):
    job = Job(events, "prepare", long_clip, "-o", tmp_path / "data", "--every", "1", "--test-fraction", "0.2", "-q")
    code, lines = job.signal_at("pair-written", signal.SIGTERM)
    assert code == 143 and lines == ["vsrgan: stopped by SIGTERM; no output was written"]
    assert names(tmp_path) == []


def test_train_stopped_by_sigterm_checkpoints_at_a_step_boundary(tmp_path, tiny_dataset, events):
    out = tmp_path / "run"
    settings = tiny_train_overrides(tiny_dataset, out, "train.steps=100000", "log.log_every=1", "log.val_every=100000", "log.ckpt_every=100000")
    job = Job(events, "train", *[arg for s in settings for arg in ("--set", s)])
    code, lines = job.signal_at("step-done", signal.SIGTERM)
    assert code == 143, job.stderr
    [checkpoint] = sorted((out / "checkpoints").glob("step_*.pt"))
    step = int(checkpoint.stem.split("_")[1])
    assert lines[-1] == f"vsrgan: stopped by SIGTERM; checkpoint of step {step} saved in '{out / 'checkpoints'}'; --resume continues"
    assert torch.load(checkpoint, weights_only=False)["step"] == step
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert max(r["step"] for r in records) == step  # the loop ended after the step it was in
    from vsrgan.models.weights import read_metadata

    assert read_metadata(out / "generator.safetensors")["vsrgan.step"] == str(step)  # the checkpoint's EMA, for upscale -m


def test_a_signal_whose_stopped_was_dropped_still_stops_the_job(tmp_path):
    """PyAV's log callback cannot pass an exception on: a signal handled inside it has its Stopped
    printed and dropped. The frame loop and the final rename raise it again, so the job stops and
    nothing is written."""
    from vsrgan.inference.pipeline import run_pipeline
    from vsrgan.io import stop
    from vsrgan.io.atomic import atomic_path
    from vsrgan.io.video import read_frames

    src = tmp_path / "clip.mp4"
    make_clip(src, frames=8)
    with stop.handle_signals():
        try:
            stop._on_signal(signal.SIGINT, None)  # as the handler runs inside the callback ...
        except stop.Stopped:
            pass  # ... which drops it
        written = []
        with pytest.raises(stop.Stopped) as raised:
            run_pipeline(read_frames(src), lambda x: x, lambda image, pts, duration: written.append(pts), batch_size=1)
        assert raised.value.exit_code == 130 and written == []
        out = tmp_path / "out.png"
        with pytest.raises(stop.Stopped), atomic_path(out) as tmp:
            tmp.write_bytes(b"complete, but a signal came")
        assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"]
    stop.check()  # outside the job the signal is forgotten
