"""Flags shared by several subcommands: how the model runs, and how the output video is encoded;
and the subcommands' parser class."""

import argparse


class SubcommandParser(argparse.ArgumentParser):
    """A subcommand's parser; one with ``intermixed = True`` takes positionals after options too
    (``vsrgan upscale in.mp4 -m bicubic out.mp4``).

    Plain parsing fills a ``nargs="*"`` positional from the first run of plain words only, so a
    path after an option is "unrecognized". ``parse_intermixed_args`` cannot run on the top parser
    (it refuses subparsers), but the subparsers action parses a subcommand's words with that
    parser's ``parse_known_args``: here it parses them intermixed. Words after ``--`` are
    paths whatever they look like; intermixed parsing would drop those that start with ``-``, so a
    command line with ``--`` is parsed plainly (its paths then come after the options, as ``--`` asks).
    """

    intermixed = False
    _mixing = False  # parse_known_intermixed_args calls parse_known_args (Python < 3.13): plain then

    def parse_known_args(self, args=None, namespace=None):
        if not self.intermixed or self._mixing or (args is not None and "--" in args):
            return super().parse_known_args(args, namespace)
        self._mixing = True
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self._mixing = False


def add_model_run_args(p, *, batch_size: int | None = 4) -> None:
    """How the model runs: tiles, batch, device, precision (upscale and compare). ``batch_size`` None: chosen per device."""
    p.add_argument("--tile", type=int, default=0, help="process frames in tiles of N input pixels to save memory (0: off)")
    p.add_argument("--batch-size", type=int, default=batch_size,
                   help="frames per model call (default: " + (f"{batch_size})" if batch_size else "1 on the CPU, 4 on a GPU)"))
    p.add_argument("--device", default="auto", help="auto (cuda, then mps, then cpu), cpu, cuda, cuda:N or mps")
    p.add_argument("--precision", default="auto", choices=["auto", "fp32", "fp16", "bf16"], help="auto: fp16 on GPUs, fp32 on CPU")


def add_scale_arg(p) -> None:
    """-s/--scale: checked against the model's (upscale, compare, export)."""
    p.add_argument("-s", "--scale", type=int, default=None, help="upscaling factor; must match the model's (default: the model's, 4 for bicubic)")


def add_denoise_arg(p) -> None:
    """--denoise: between a model and its real-world twin (upscale, compare, export)."""
    p.add_argument("--denoise", type=denoise, default=None, metavar="S|auto",
                   help="0..1: blend the weights of the clean x4 (0) and x4-real (1), for compressed or noisy video; "
                   "with -m x4 or x4-real. auto (the default when no -m is given): for how hard each video was "
                   "compressed, read from its bitstream (H.264, MPEG-2/4, VP9; 0.5 where unknown: images, HEVC, AV1); "
                   "with -m, the model as it is")


def denoise(text: str) -> float | str:
    """``--denoise``'s value: a number, else the text; ModelOptions checks it (auto, or 0..1) in one line."""
    try:
        return float(text)
    except ValueError:
        return text


def add_video_output_args(p) -> None:
    """How the output video is encoded and written (upscale and compare)."""
    p.add_argument("--codec", default="libx264", help="video encoder (default: %(default)s)")
    p.add_argument("--crf", type=int, default=18, help="constant rate factor, lower is better quality (default: %(default)s)")
    p.add_argument("--preset", default=None, help="encoder speed preset, e.g. ultrafast ... veryslow for libx264 (default: the encoder's own; medium for libx264/libx265)")
    p.add_argument("--pix-fmt", default=None, help="output pixel format (default: yuv420p, which every player plays; "
                   "yuv420p10le for an HDR or BT.2020 source, whose colours the output keeps)")
    p.add_argument("--overwrite", action="store_true", help="replace the output if it exists")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def add_backend_args(p, *, default: str = "auto") -> None:
    """Which engine runs the model, and the thread budget (upscale and bench)."""
    p.add_argument("--backend", default=default, choices=["auto", "eager", "compile", "onnxruntime", "openvino", "ncnn"],
                   help="engine for the model: eager PyTorch, torch.compile, ONNX Runtime, OpenVINO or ncnn (the last three: CPU, optional extras; "
                   "ncnn: compact networks only); auto: the measured fastest installed one for the network and frame size: "
                   "OpenVINO or ncnn for compact networks on the CPU in fp32, else eager PyTorch (default: %(default)s)")
    p.add_argument("--threads", type=int, default=None,
                   help="threads shared by the model, the encoder and the decoder (default: every core this process may use)")


def job_options(args):
    """The one :class:`vsrgan.options.JobOptions` a subcommand's flags say: each of the model's and
    the encoder's options that the subcommand has a flag for, ``--overwrite`` and ``--quiet``."""
    from ..options import ENCODE_KEYWORDS, MODEL_KEYWORDS, JobOptions

    given = {name: getattr(args, name) for name in MODEL_KEYWORDS + ENCODE_KEYWORDS if hasattr(args, name)}
    return JobOptions.of(**given, overwrite=args.overwrite, progress=not args.quiet)
