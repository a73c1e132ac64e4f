#!/usr/bin/env bash
# The README's first command: set up, fetch the sample clip, upscale it x4 with the default model,
# and write the side-by-side comparison video beside it; then the same for a compressed copy, which the
# default (--denoise auto) reads as such and runs x4-real on at full strength.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh
. .venv/bin/activate
bash scripts/data/fetch_samples.sh >/dev/null
vsrgan upscale data/samples/sample.mp4 data/samples/sample_x4.mp4 --overwrite
vsrgan compare data/samples/sample.mp4 data/samples/sample_compare.mp4 --input-is-lr --layout side --overwrite
# the real-world case: the same clip as a web video would carry it (libx264 CRF 32, re-encoded by
# bicubic at x1), upscaled by the default, which reads its QP and blends in x4-real, the model trained on compressed input
vsrgan upscale data/samples/sample.mp4 data/samples/sample_crf32.mp4 -m bicubic -s 1 --crf 32 --overwrite -q
vsrgan compare data/samples/sample_crf32.mp4 data/samples/sample_crf32_compare.mp4 --input-is-lr --layout side --overwrite
ls -l data/samples/sample*.mp4
