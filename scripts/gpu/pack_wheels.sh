#!/usr/bin/env bash
# What the lent GPU machine lacks, packed under the device tool's 64 MiB carry limit into .whl/
# (ignored by git), once, on a developer machine with the package index:
#
#   bash scripts/gpu/pack_wheels.sh            # .whl/av.tar.xz (25 MB) + .whl/ray.tar.xz (25 MB)
#
# That machine has PyTorch (Python 3.12) but neither PyAV nor Ray. PyAV's wheel is 36 MB, Ray's
# 79 MB: too much to carry beside the checkout. Both are unpacked here and packed again with xz;
# Ray loses what a local `--cluster auto` never loads (its Java jars, RLlib, Serve, Tune, Train,
# Data, LLM and the dashboard's web page) and the symbols of its three binaries. The trimmed Ray
# was checked against the full one on this machine (same 2.60.0, Python 3.11): a local Ray with a
# declared GPU ran two half-GPU tasks at once. scripts/gpu/gpu_env.sh unpacks both into /tmp/site.
set -euo pipefail
cd "$(dirname "$0")/../.."
python=${PYTHON:-python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$python" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d "$work/wheels" \
  av==18.1.0 ray==2.60.0 jsonschema==4.26.0 referencing==0.37.0 rpds-py jsonschema-specifications
mkdir -p .whl "$work/av" "$work/ray"
(cd "$work/av" && unzip -q "$work"/wheels/av-*.whl)
for w in "$work"/wheels/*.whl; do
  case $(basename "$w") in av-*) ;; *) (cd "$work/ray" && unzip -qo "$w") ;; esac
done
r=$work/ray/ray
rm -rf "$r"/jars "$r"/rllib "$r"/serve "$r"/llm "$r"/data "$r"/train "$r"/tune "$r"/dashboard/client/build
strip --strip-unneeded "$r"/_raylet.so "$r"/core/src/ray/gcs/gcs_server "$r"/core/src/ray/raylet/raylet
tar -cJf .whl/av.tar.xz -C "$work/av" .
tar -cJf .whl/ray.tar.xz -C "$work/ray" .
ls -l .whl/av.tar.xz .whl/ray.tar.xz
