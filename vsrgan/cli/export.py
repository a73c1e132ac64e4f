"""The ``export`` subcommand: a model to ONNX."""

import argparse
import sys


def add_export_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "export",
        help="write a model as ONNX (for ONNX Runtime, OpenVINO, TensorRT, ncnn)",
        description="Write a bundled or trained generator as ONNX: input 'input', float32 (N, 3, H, W) RGB in [0, 1], "
        "NCHW; output 'output', float32 (N, 3, sH, sW) RGB in [0, 1], clamped in the graph. Batch, height and width "
        "are dynamic; the scale and receptive radius are in the file's metadata.",
        epilog="examples:\n  vsrgan export -m x4 x4.onnx\n  vsrgan export -m runs/pre/generator.safetensors g.onnx --opset 18",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("output", help="the .onnx file to write")
    p.add_argument("-m", "--model", default=None, help="a bundled model name, bicubic, or a weights file (.safetensors, .pth, .pt, ncnn .param) (default: the bundled default)")
    p.add_argument("--opset", type=int, default=17, help="ONNX opset (default: %(default)s)")
    p.add_argument("--overwrite", action="store_true", help="replace the output if it exists")
    p.set_defaults(run=run_export)


def run_export(args) -> None:
    from ..inference.export import export_onnx
    from ..models import default_model, load_model

    path = export_onnx(load_model(args.model or default_model()), args.output, opset=args.opset, overwrite=args.overwrite)
    print(f"wrote {path}", file=sys.stderr)
