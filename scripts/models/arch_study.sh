#!/usr/bin/env bash
# Issue #26's architecture study: every candidate of configs/study/ trained from scratch for the same
# CPU time, one after another (never two trainings at once on a small CPU), each resumable:
#
#   nice -n 10 bash scripts/models/arch_study.sh MINUTES [CPU_HOURS [NAME...]]   # defaults: 1.0; x4 span rlfn halfres
#
# NAME is a config under configs/study/ (also x4-extra, the data study, and polish/base, polish/extra,
# polish/extra-c256, fine-tunes of the bundled x4); a config that names its own data.root trains on it.
#
# Each run stops when it has used CPU_HOURS of CPU time in all (train.cpu_hours: this process's CPU
# time, which other work on a shared machine does not eat, unlike wall minutes); the whole call stops,
# checkpointed, after MINUTES of wall time, and the same command continues where it stopped (a
# finished run takes no further step). Then score them on the evaluation photos:
#
#   python scripts/models/study_table.py
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
minutes=${1:?usage: arch_study.sh MINUTES [CPU_HOURS [NAME...]]}
budget=${2:-1.0}
shift $(( $# >= 2 ? 2 : 1 ))
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(x4 span rlfn halfres)
deadline=$((SECONDS + minutes * 60))
[ -x .venv/bin/vsrgan ] || bash scripts/setup.sh
. .venv/bin/activate
[ -f data/train-x4/manifest.json ] || { echo "arch_study.sh: data/train-x4 is missing: run scripts/models/train_bundled.sh once (it prepares it)" >&2; exit 2; }
for name in "${names[@]}"; do
  left=$(( (deadline - SECONDS) / 60 ))
  [ "$left" -ge 2 ] || { echo "== out of time before $name"; break; }
  resume=()
  ls "training/study/$name"/checkpoints/step_*.pt >/dev/null 2>&1 && resume=(--resume)
  echo "== $name: up to $budget CPU-hours, at most $left minutes ($(date -u +%H:%M))"
  data=(--data data/train-x4)  # unless the config names its own dataset (x4-extra: scripts/models/prepare_extra.sh)
  grep -q '^root *=' "configs/study/$name.toml" && data=()
  vsrgan train -c "configs/study/$name.toml" "${data[@]}" --out "training/study/$name" \
    --cpu-hours "$budget" --minutes "$left" "${resume[@]}"
done
