#!/usr/bin/env bash
# Does sharing a GPU between segments (`--segments-per-gpu N`) pay for a large model too, or only for
# a small one whose GPU time is dwarfed by its encoder's? The cluster path on one lent GPU machine,
# 540p -> 4K, twice: x4 (163k parameters, the bundled default) and an RRDBNet the size of
# Real-ESRGAN's x4plus (16.7M parameters; random weights, made there: speed does not depend on the
# values), each a run of bench_cluster_gpu.sh, against its single process and reference (b) in the
# same run. What `--segments-per-gpu auto` picks comes from this (BENCHMARKS.md, "Segments sharing the GPU").
#
#   bash scripts/gpu/bench_share_sizes.sh    # the device tool's run; carry [".whl", "data/samples/bigbuckbunny.mp4"]
#
# Writes $OUT/share-x4.json, $OUT/share-rrdb.json and their logs. Knobs: MODELS ("x4 rrdb"), GOP (30:
# a segment per 30 frames; RRDB_FRAMES=120 GOP=15 gives the RRDBNet 8 segments), RRDB_FRAMES (60).
set -euo pipefail
cd "$(dirname "$0")/../.."
python=${PYTHON:-python3}
. scripts/gpu/gpu_env.sh
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
rrdb=/tmp/rrdb-x4plus-random.pth
"$python" - "$rrdb" <<'EOF'
import re, sys, torch
from vsrgan.models.foreign.rrdb import RRDBNet
state = RRDBNet().state_dict()  # Real-ESRGAN x4plus's shape: 64 features, 23 RRDBs, two x2 steps
torch.save({re.sub(r"^upsample\.(\d+)\.1\.", lambda m: f"conv_up{int(m[1]) + 1}.", k): v for k, v in state.items()}, sys.argv[1])
EOF
case " ${MODELS:-x4 rrdb} " in *" x4 "*) NAME=share-x4 MODEL=x4 FRAMES=240 SHARES="1 4 8" bash scripts/gpu/bench_cluster_gpu.sh ;; esac
case " ${MODELS:-x4 rrdb} " in *" rrdb "*) NAME=share-rrdb MODEL=$rrdb FRAMES=${RRDB_FRAMES:-60} SHARES="1 2 4" bash scripts/gpu/bench_cluster_gpu.sh ;; esac
