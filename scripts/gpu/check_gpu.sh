#!/usr/bin/env bash
# The GPU paths, checked in about a minute on a lent GPU machine, before any benchmark or training
# there: tests/test_gpu.py (the fp16 default against fp32 on the CPU, tiles, a batch, compare, the
# memory plan) and the CUDA tests of training (AMP, crops cut on the GPU) and of the bench
# (torch.compile). On a machine without CUDA they skip; VSRGAN_GPU_TEST_DEVICE=cpu runs
# test_gpu.py on the CPU at fp16 instead, to check the tests themselves.
#
#   bash scripts/gpu/check_gpu.sh          # on the GPU machine: the device tool's run, carry [".whl"]
#
# Writes the pytest output to $OUT/check-gpu.log too when OUT is set.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
python=${PYTHON:-python3}
. scripts/gpu/gpu_env.sh
log=${OUT:+$OUT/check-gpu.log}
"$python" -m pytest -q -rs -p no:cacheprovider tests/test_gpu.py tests/test_train.py tests/test_bench.py -k "gpu or cuda" \
    2>&1 | tee "${log:-/dev/null}"
