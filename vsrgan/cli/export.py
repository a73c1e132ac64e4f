"""The ``export`` subcommand: a model to ONNX, or to ncnn's .param/.bin for realesrgan-ncnn-vulkan and video2x."""

import argparse
import sys

from ..errors import ConfigError
from .options import add_denoise_arg, add_scale_arg


def add_export_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "export",
        help="write a model as ONNX (ONNX Runtime, OpenVINO, TensorRT) or ncnn (realesrgan-ncnn-vulkan, video2x)",
        description="Write a bundled or trained generator as ONNX: input 'input', float32 (N, 3, H, W) RGB in [0, 1], "
        "NCHW; output 'output', float32 (N, 3, sH, sW) RGB in [0, 1], clamped in the graph. Batch, height and width "
        "are dynamic; the scale and receptive radius are in the file's metadata. With --format ncnn: NAME-xS.param and "
        "NAME-xS.bin in the output folder, as Real-ESRGAN's ncnn models (blob 'data' in, 'output' out, RGB CHW in [0, 1]), "
        "for the compact networks and bicubic.",
        epilog="examples:\n  vsrgan export -m x4 x4.onnx\n  vsrgan export -m runs/pre/generator.safetensors g.onnx --opset 18\n"
        "  vsrgan export -m x4 --denoise 0.3 x4-dn30.onnx           # the blend upscale runs at 0.3 (auto, with no video: 0.5)\n"
        "  vsrgan export -m bicubic -s 2 bicubic-x2.onnx\n"
        "  vsrgan export --format ncnn -m x4 -o models            # models/vsrgan-x4.param, .bin\n"
        "  realesrgan-ncnn-vulkan -m models -n vsrgan-x4 -s 4 -i in.png -o out.png",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("output", nargs="?", default=None, help="the .onnx file to write (or use -o)")
    p.add_argument("-o", "--output", dest="output_option", default=None, metavar="PATH",
                   help="the .onnx file, or with --format ncnn the folder for the .param and .bin")
    p.add_argument("-m", "--model", default=None, help="a bundled model name, bicubic, or a weights file (.safetensors, .pth, .pt, ncnn .param) (default: the bundled default)")
    add_scale_arg(p)
    add_denoise_arg(p)
    p.add_argument("--format", choices=("onnx", "ncnn"), default="onnx", help="onnx (default) or ncnn (.param + .bin)")
    p.add_argument("--name", default=None, help="ncnn: the NAME of NAME-xS.param (default: vsrgan for x4, vsrgan-real for x4-real, "
                   "vsrgan-STEM for a weights file; realesr-animevideov3 to stand in for that model in video2x)")
    p.add_argument("--opset", type=int, default=17, help="ONNX opset (default: %(default)s)")
    p.add_argument("--overwrite", action="store_true", help="replace the output if it exists")
    p.set_defaults(run=run_export)


def run_export(args) -> None:
    from ..inference.upscaler import ModelOptions
    from ..models import model_label

    if (args.output is None) == (args.output_option is None):
        raise ConfigError("give the output once: vsrgan export -m x4 x4.onnx, or --format ncnn -o FOLDER")
    output = args.output or args.output_option
    options = ModelOptions(model=args.model, scale=args.scale, denoise=args.denoise)
    strength = options.denoise_strength  # auto, the default, with no video to read: x4 at --denoise 0.5
    model = options.load()
    label = model_label(options.model_name) if strength is None else f"{model_label(options.model_name)}-dn{round(strength * 100)}"
    if args.format == "ncnn":
        from ..inference.export_ncnn import default_name, export_ncnn

        param, weights = export_ncnn(model, output, name=args.name or default_name(label, model.scale), overwrite=args.overwrite)
        print(f"wrote {param} and {weights}; realesrgan-ncnn-vulkan: -m {param.parent} -n {param.stem} -s {model.scale} "
              "(its -m folder's path must contain 'models')", file=sys.stderr)
        return
    from ..inference.export import export_onnx

    path = export_onnx(model, output, opset=args.opset, overwrite=args.overwrite)
    print(f"wrote {path}", file=sys.stderr)
