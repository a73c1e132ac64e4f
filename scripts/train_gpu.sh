#!/usr/bin/env bash
# The x4-gan stage on a lent GPU, inside one call of the device tool (see MODELS.md):
#
#   here:   python scripts/pack_regions.py data/train-x4 data/gpu-x4 --budget-mb 27
#           (plus data/vgg16-to-relu3_3.safetensors: the VGG16 layers the loss uses, 7 MB)
#   there:  bash scripts/train_gpu.sh NAME MINUTES [--set ...]      carry: data/gpu-x4 data/vgg16-to-relu3_3.safetensors
#
# The device tool carries 64 MiB with the working tree, so the run reads a pack of the most textured
# regions of the x4 dataset rather than the dataset itself. It runs configs/x4-gan.toml from the bundled
# stage-1 generator with a batch of 16 (a GPU step costs about the same at 8 or 16), stops after
# MINUTES with a checkpoint, and puts what comes back into $OUT/NAME: the weights, the metrics and
# (with CKPT=1) the checkpoint split in 15 MB parts, the tool's per-file limit: join them with
# `cat ckpt.part-* > step.pt`. Several runs with other --set values can share the GPU at once (each
# is bound by kernel launches, not by the GPU): at most 8 files come back, so give CKPT=1 to one.
# No PyAV is needed: training reads images only.
set -euo pipefail
cd "$(dirname "$0")/.."
name=${1:?usage: train_gpu.sh NAME MINUTES [--set SECTION.KEY=VALUE ...]}
minutes=${2:?usage: train_gpu.sh NAME MINUTES [--set SECTION.KEY=VALUE ...]}
shift 2
out=${OUT:-runs/gpu-out}/$name
run=runs/x4-gan-gpu-$name
mkdir -p "$out"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
PYTHONUNBUFFERED=1 PYTHONPATH=. python3 -m vsrgan train -c configs/x4-gan.toml --data data/gpu-x4 --out "$run" \
    --device cuda --vgg-weights data/vgg16-to-relu3_3.safetensors --minutes "$minutes" \
    --set data.batch_size=16 --set data.num_workers=4 --set data.val_crop=0 "$@" 2>&1 | sed "s/^/$name: /"
cp "$run"/generator.safetensors "$run"/metrics.jsonl "$out"/
if [ "${CKPT:-0}" = 1 ]; then
    ckpt=$(ls "$run"/checkpoints/step_*.pt | tail -1)
    split -b 15M "$ckpt" "$out/$(basename "$ckpt" .pt).part-"
fi
ls -la "$out"
