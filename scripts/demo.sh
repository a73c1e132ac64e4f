#!/usr/bin/env bash
# The README's first command: set up, fetch the sample clip, upscale it x4 with the default model,
# and write the side-by-side comparison video beside it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh
. .venv/bin/activate
bash scripts/data/fetch_samples.sh >/dev/null
vsrgan upscale data/samples/sample.mp4 data/samples/sample_x4.mp4 --overwrite
vsrgan compare data/samples/sample.mp4 data/samples/sample_compare.mp4 --input-is-lr --layout side --overwrite
ls -l data/samples/sample*.mp4
