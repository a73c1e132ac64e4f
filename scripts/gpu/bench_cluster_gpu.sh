#!/usr/bin/env bash
# The cluster path on one lent GPU machine: 540p -> 4K with x4, the segments sharing the GPU
# (`vsrgan upscale --cluster auto --segments-per-gpu N`), each with its own libx264 encoder (one
# encoder caps 4K at about 20 fps), against the single process and reference (b) on the same clip,
# side by side in one run (scripts/bench/bench_cluster.py --references):
#
#   bash scripts/gpu/bench_cluster_gpu.sh      # the device tool's run; carry [".whl", "data/samples/bigbuckbunny.mp4"]
#
# .whl/ holds PyAV and Ray (scripts/gpu/pack_wheels.sh). The clip is bigbuckbunny (720p, 132 frames,
# scripts/data/fetch_samples.sh) resized to 960x540 and played forth and back to FRAMES frames, a
# keyframe every GOP. Writes $OUT/NAME.json (every run, as each ends) and $OUT/NAME.log.
# Knobs: FRAMES (480), GOP (30), SHARES ("1 2 4 8"), DEVICE (cuda), SIZE (960x540), MODEL (x4), NAME (cluster-gpu).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
out=${OUT:-runs/bench}
python=${PYTHON:-python3}
mkdir -p "$out"
. scripts/gpu/gpu_env.sh
"$python" -c "import ray" || { echo "bench_cluster_gpu.sh: Ray is not installed: scripts/gpu/pack_wheels.sh packs it into .whl/" >&2; exit 1; }
# shellcheck disable=SC2086  # SHARES is a list
"$python" scripts/bench/bench_cluster.py --input data/samples/bigbuckbunny.mp4 --size "${SIZE:-960x540}" \
    --frames "${FRAMES:-480}" --gop "${GOP:-30}" --model "${MODEL:-x4}" --device "${DEVICE:-cuda}" \
    --segments-per-gpu ${SHARES:-1 2 4 8} --references --join-k --json "$out/${NAME:-cluster-gpu}.json" 2>&1 | tee "$out/${NAME:-cluster-gpu}.log"
