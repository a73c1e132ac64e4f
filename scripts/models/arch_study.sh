#!/usr/bin/env bash
# Issue #26's architecture study: every candidate of configs/study/ trained from scratch for the same
# wall-clock chunk, one after another (never two trainings at once on a small CPU), each resumable:
#
#   nice -n 10 bash scripts/models/arch_study.sh MINUTES [NAME...]    # default: x4 span rlfn halfres
#
# A second call adds MINUTES more to each run (training/study/NAME resumes from its checkpoint).
# Then score them on the evaluation photos and write the table:
#
#   python scripts/models/study_table.py
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
minutes=${1:?usage: arch_study.sh MINUTES [NAME...]}
shift
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(x4 span rlfn halfres)
[ -x .venv/bin/vsrgan ] || bash scripts/setup.sh
. .venv/bin/activate
[ -f data/train-x4/manifest.json ] || { echo "arch_study.sh: data/train-x4 is missing: run scripts/models/train_bundled.sh once (it prepares it)" >&2; exit 2; }
for name in "${names[@]}"; do
  echo "== $name: $minutes minutes ($(date -u +%H:%M))"
  vsrgan train -c "configs/study/$name.toml" --data data/train-x4 --out "training/study/$name" --minutes "$minutes"
done
