#!/usr/bin/env bash
# Issue 6's GPU numbers in one command, on the lent GPU machine (see BENCHMARKS.md):
#
#   bash scripts/gpu/bench_gpu.sh [SIZE ...]          # default: 270p 540p
#
# For each size, the 16-block x4 generators with random weights (pixelshuffle and nearest):
# eager with the two reference pipelines, then torch.compile'd without them (the references
# do not depend on how our model is compiled). Writes to $OUT (default runs/bench):
#   bench-gpu.json  every run's full result      bench-gpu.md  tables and the targets
#   bench-gpu.log   what was printed             runs/NAME.json  each run, written as it ends
#
# On an H200 each eager run with references takes 60-95 s and each compiled one 50-75 s
# (2026-11-26): the default 8 runs need two calls of the device tool, one size each.
#
# That machine has PyTorch but no PyAV: scripts/gpu/gpu_env.sh installs it from .whl/. Run
# scripts/gpu/check_gpu.sh first: it checks in about a minute that the GPU paths work at all.
# Knobs, for a quick check anywhere: MODELS, MODES, FRAMES, BATCH, DEVICE, PYTHON.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
out=${OUT:-runs/bench}
python=${PYTHON:-python3}
models=${MODELS:-random-pixelshuffle random-nearest}
modes=${MODES:-eager compile}
batch=${BATCH:-4}
device=${DEVICE:-auto}
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(270p 540p)
mkdir -p "$out"
log=$out/bench-gpu.log
: >"$log"

. scripts/gpu/gpu_env.sh

{
    echo "bench_gpu: $(date -u +%FT%TZ) $(git rev-parse --short HEAD 2>/dev/null || echo 'no git') on $(nproc) CPUs"
    command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,power.limit --format=csv,noheader
    "$python" -c "import torch, av; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'PyAV', av.__version__)"
} 2>&1 | tee -a "$log"

runs=$out/runs  # each run's JSON as soon as it ends: a call cut off at its time limit keeps them
mkdir -p "$runs"
failed=()
for size in "${sizes[@]}"; do
    case $size in
        270p) frames=${FRAMES:-240} ;;
        *) frames=${FRAMES:-120} ;;
    esac
    for model in $models; do
        for mode in $modes; do
            name=$size-$model-$mode
            flags=()
            [ "$mode" = compile ] && flags=(--compile --no-references)
            echo "== $name" | tee -a "$log"
            start=$SECONDS
            if ! "$python" -m vsrgan bench --model "$model" --size "$size" --frames "$frames" --batch-size "$batch" \
                --device "$device" "${flags[@]}" --json "$runs/$name.json" -q 2>&1 | tee -a "$log"; then
                failed+=("$name")
            fi
            echo "($((SECONDS - start)) s)" | tee -a "$log"
        done
    done
done

if compgen -G "$runs/*.json" >/dev/null; then
    "$python" scripts/bench/bench_summary.py --json "$out/bench-gpu.json" "$runs"/*.json | tee "$out/bench-gpu.md"
fi
if [ ${#failed[@]} -gt 0 ]; then
    echo "bench_gpu: failed: ${failed[*]} (see $log)" >&2
    exit 1
fi
