"""Shared fixtures (a clip, the sample clips, a tiny generator and dataset, Ray, job milestones) and small
readers of what tests write. The clips themselves are made by :mod:`clips`."""

import os
import select
import threading
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import torch
from clips import make_clip, pattern

from vsrgan.io import events as job_events

# Real clips the project's scripts fetch (scripts/data/fetch_samples.sh); tests that need them skip
# when they are absent, so the suite never needs the network.
SAMPLES = Path(os.environ.get("VSRGAN_SAMPLES", Path(__file__).resolve().parent.parent / "data" / "samples"))

# --backend auto follows the package's table in the tests (and in the CLI runs they start), never a
# calibration made on this machine (vsrgan bench --calibrate); tests of calibrations name their own file.
os.environ["VSRGAN_CALIBRATION"] = "off"


def video_end(path: Path) -> float:
    """Where the video ends (s), as FFmpeg reads it: the container's duration, counted from 0."""
    with av.open(str(path)) as c:
        return c.duration / av.time_base


def read_pts(path: Path) -> tuple[list[int], Fraction]:
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        return [f.pts for f in c.decode(s)], s.time_base


def decoded(path: Path) -> list[np.ndarray]:
    """Every frame of ``path``'s video as uint8 RGB, in display order, decoded by PyAV itself."""
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def stream_summary(path: Path) -> dict:
    """Types, codecs and durations (seconds) of every stream, by decoding/demuxing the file."""
    ends = {}
    with av.open(str(path)) as c:
        for packet in c.demux():
            if packet.pts is not None:
                end = float((packet.pts + (packet.duration or 0)) * packet.time_base)
                ends[packet.stream.index] = max(end, ends.get(packet.stream.index, end))
        out = {}
        for s in c.streams:
            out.setdefault(s.type, []).append({"codec": s.codec_context.name, "end": ends.get(s.index, 0.0)})
    return out


@pytest.fixture
def clip(tmp_path) -> Path:
    path = tmp_path / "clip.mp4"
    make_clip(path, audio=True)
    return path


@pytest.fixture
def cockatoo() -> Path:
    path = SAMPLES / "cockatoo.mp4"
    if not path.is_file():
        pytest.skip(f"{path} missing: run scripts/data/fetch_samples.sh")
    return path


@pytest.fixture
def tiny_generator():
    from vsrgan.models import Generator

    torch.manual_seed(0)
    return Generator(scale=4, num_blocks=1, num_features=8).eval()


# ---- training data (tests/test_data.py, tests/test_train.py) -----------------------------------


def make_image_folder(folder: Path, *, count: int = 8, width: int = 66, height: int = 50) -> list[Path]:
    """``count`` textured PNGs of an odd size (not a multiple of 4), each a different frame of :func:`pattern`."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"img{i:03d}.png"
        Image.fromarray(pattern(width, height, 7 * i)).save(path)
        paths.append(path)
    return paths


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory) -> Path:
    """A prepared x4 dataset from 8 images of 66x50: 6 train and 2 test pairs of 64x48 / 16x12."""
    from vsrgan.dataset.prepare import prepare

    root = tmp_path_factory.mktemp("tiny_dataset")
    make_image_folder(root / "images")
    prepare([root / "images"], root / "data", scale=4, test_fraction=0.4, progress=False)  # 2 of these 8 names hash below 0.4
    return root / "data"


def tiny_train_overrides(data: Path, out: Path, *extra: str) -> list[str]:
    """``section.key=value`` settings for a seconds-long CPU run on :func:`tiny_dataset`."""
    return [
        f"data.root={data}", f"train.out={out}", "data.crop=32", "data.batch_size=2", "data.num_workers=0",
        "data.val_images=2", "model.num_blocks=1", "model.num_features=8", "model.disc_features=4",
        "train.steps=4", "train.device=cpu", "log.log_every=2", "log.val_every=2", "log.ckpt_every=2",
        "log.progress=false", "log.tensorboard=false", "loss.vgg_weights=random",
        "loss.perceptual_layers=vgg16.relu1_2", *extra,
    ]


def perturbed(model: torch.nn.Module, scale: float = 0.05) -> torch.nn.Module:
    """``model`` with every parameter moved a little (seeded), as training would: init alone hides bugs."""
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=g) * scale)
    return model.eval()


class Events:
    """The milestones vsrgan processes announce (:mod:`vsrgan.io.events`) on the FIFO ``path``, open
    for reading while in the ``with`` block: a test waits for the job to reach a point, then acts.

    The test holds a write end too, so the FIFO never reads as ended between two writers, and
    :meth:`end` (from another thread: the job exited, or the call running it returned) wakes a
    :meth:`wait` that would otherwise wait for a milestone that will never come.
    """

    def __init__(self, path: Path):
        self.path = path
        if not path.exists():
            os.mkfifo(path)
        self.env = {job_events.VARIABLE: str(path)}  # for the job's environment

    def __enter__(self) -> "Events":
        self._read = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
        self._write = os.open(self.path, os.O_WRONLY)
        self._lines = b""
        self._closing = threading.Lock()  # end() from another thread never writes to a closed (or reused) fd
        return self

    def __exit__(self, *exc) -> None:
        with self._closing:
            os.close(self._write)
            self._write = None
        os.close(self._read)

    def end(self, why: str) -> None:
        with self._closing:
            if self._write is not None:
                os.write(self._write, f"ended {why}\n".encode())

    def wait(self, milestone: str, timeout: float = 300) -> int:
        """Block until a process reaches ``milestone``; return its pid. Fails if :meth:`end` comes
        first; the timeout only turns a hung job into a failure, it never decides when to act."""
        deadline = time.monotonic() + timeout
        while True:
            while b"\n" in self._lines:
                line, self._lines = self._lines.split(b"\n", 1)
                name, _, rest = line.decode().partition(" ")
                if name == milestone:
                    return int(rest)
                assert name != "ended", f"{rest} before {milestone}"
            readable, _, _ = select.select([self._read], [], [], max(0.0, deadline - time.monotonic()))
            assert readable, f"no {milestone} in {timeout:g} s"
            self._lines += os.read(self._read, 4096)


@pytest.fixture
def events(tmp_path_factory):
    """An :class:`Events` FIFO outside ``tmp_path`` (tests list what a job left there), open for reading."""
    with Events(tmp_path_factory.mktemp("events") / "events.fifo") as e:
        yield e


@pytest.fixture(scope="module")
def ray_events(tmp_path_factory) -> Events:
    """The milestones of :func:`ray_local`'s workers: ``with ray_events:`` to hear them (unread, they are dropped)."""
    return Events(tmp_path_factory.mktemp("ray-events") / "events.fifo")


@pytest.fixture(scope="module")
def ray_local(ray_events):
    """A local Ray of 2 workers for one test module (skipped where Ray, the extra vsrgan[cluster], is absent);
    its workers announce their milestones to :func:`ray_events`."""
    ray = pytest.importorskip("ray")
    with pytest.MonkeyPatch.context() as mp:  # Ray's processes inherit it; this one does not keep it
        for name, value in ray_events.env.items():
            mp.setenv(name, value)
        ray.init(num_cpus=2, include_dashboard=False, object_store_memory=200 * 1024**2, log_to_driver=False, logging_level="error")
    yield ray
    ray.shutdown()
