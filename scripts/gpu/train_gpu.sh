#!/usr/bin/env bash
# A training run on a lent GPU, inside one call of the device tool (see MODELS.md, x4-gan):
#
#   here:   python scripts/gpu/pack_regions.py data/train-x4 data/gpu-x4      # 27 MB of regions + 7 MB of VGG16
#   there:  bash scripts/gpu/train_gpu.sh NAME MINUTES [--set SECTION.KEY=VALUE ...]      carry: data/gpu-x4
#
# CONFIG picks the config (default configs/x4-gan.toml, the x4-gan stage; configs/x4.toml: stage 1).
# The device tool carries 64 MiB with the working tree, so the run reads a pack of the most textured
# regions of the x4 dataset, not the dataset itself. x4-gan.toml runs from its train.init
# (stage 1's generator, training/x4/generator.safetensors) on CUDA with bf16 autocast, stops after
# MINUTES with a checkpoint, and puts into $OUT/NAME what comes back: the EMA generator, the metrics,
# the resolved config and (with CKPT=1) the checkpoint, split in 15 MB parts, the tool's per-file
# limit: join them with `cat step_*.part-* > step.pt`. Runs with other --set values can share the GPU
# (each is bound by kernel launches, not by the GPU: three at once ran at 0.7x the speed of one), but
# at most 8 files come back: two runs, or one with CKPT=1 (5 files) and one without.
# No PyAV is needed there: training reads images only.
set -euo pipefail
cd "$(dirname "$0")/../.."
usage="usage: train_gpu.sh NAME MINUTES [--set SECTION.KEY=VALUE ...]"
name=${1:?$usage}
minutes=${2:?$usage}
shift 2
out=${OUT:-runs/gpu-out}/$name
config=${CONFIG:-configs/x4-gan.toml}
run=runs/gpu-$name
mkdir -p "$out"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
PYTHONUNBUFFERED=1 PYTHONPATH=. python3 -m vsrgan train -c "$config" --data data/gpu-x4 --out "$run" \
    --device cuda --vgg-weights data/gpu-x4/vgg16.safetensors --minutes "$minutes" \
    --set data.num_workers=4 "$@" 2>&1 | sed "s/^/$name: /"
cp "$run"/generator.safetensors "$run"/metrics.jsonl "$run"/config.toml "$out"/
if [ "${CKPT:-0}" = 1 ]; then
    ckpt=$(ls "$run"/checkpoints/step_*.pt | tail -1)
    split -b 15M "$ckpt" "$out/$(basename "$ckpt" .pt).part-"
fi
ls -la "$out"
