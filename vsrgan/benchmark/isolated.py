"""Run a reference pipeline in a fresh Python process, as the program it stands for would run.

References (a) and (b) stand for other tools, so their clocks must not depend on what ran before
them in the bench's process: its warm caches, its threads, and above all its allocator's history.
glibc's malloc maps a large block afresh on every allocation until a larger one has been freed
(its dynamic mmap threshold), so the same model at 270p ran at 0.47 or 0.80 s a frame in NCHW
depending on which tensors the process happened to free first. Each reference therefore starts
clean, and with the heap setting of :mod:`vsrgan.inference.heap` on, as vsrgan's own pipeline has it: the
ratios then credit the pipeline (overlap, memory layout, conversions) and not the allocator.

:func:`run_reference` starts ``python -m vsrgan.benchmark.isolated`` with the model's name, the
clip and the settings; the child warms up as the bench does, times the pipeline alone (not its own
start-up) and prints one JSON line: wall seconds and CPU seconds (its own and its children's).
"""

import argparse
import json
import subprocess
import sys
from pathlib import Path

from ..errors import VsrganError
from ..io.encoding import EncodeOptions

KINDS = ("seed", "pipes")  # references (a) and (b)


def run_reference(kind: str, *, model: str, clip: Path, output: Path, workdir: Path, device: str, precision: str, threads: int, encode: EncodeOptions) -> tuple[float, float]:
    """``(wall seconds, CPU seconds)`` of reference ``kind`` ("seed" or "pipes") in a fresh process."""
    command = [
        sys.executable, "-m", "vsrgan.benchmark.isolated", kind, model, str(clip), str(output),
        "--workdir", str(workdir), "--device", device, "--precision", precision, "--threads", str(threads),
        "--codec", encode.codec, "--pix-fmt", encode.for_colour(False).pix_fmt,
        *(["--preset", encode.preset] if encode.preset is not None else []),
        *(["--crf", str(encode.crf)] if encode.crf is not None else []),
    ]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or ["no message"]
        raise VsrganError(f"reference ({kind}) failed on '{clip}': {lines[-1]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return result["seconds"], result["cpu"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vsrgan.benchmark.isolated")
    parser.add_argument("kind", choices=KINDS)
    parser.add_argument("model")
    parser.add_argument("clip", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--device", required=True)
    parser.add_argument("--precision", required=True)  # the bench's resolved one, for the warm-up
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--codec", required=True)
    parser.add_argument("--preset")
    parser.add_argument("--crf", type=int)
    parser.add_argument("--pix-fmt", required=True)
    args = parser.parse_args(argv)

    import torch  # after parsing: --help needs no PyTorch

    from ..inference.heap import reuse_freed_memory
    from ..inference.upscaler import Upscaler
    from ..io.video import probe
    from .nets import build_model
    from .references import pipes_pipeline, seed_pipeline
    from .timing import cpu_seconds, timed

    torch.set_num_threads(args.threads)
    reuse_freed_memory()
    net = build_model(args.model)
    device = torch.device(args.device)
    info = probe(args.clip)
    for precision in {"fp32", args.precision}:  # the references' settings, warmed like the bench's own
        Upscaler(net, device=device, precision=precision, channels_last=False)(torch.rand(1, 3, info.height, info.width))
    encode = EncodeOptions(codec=args.codec, crf=args.crf, preset=args.preset, pix_fmt=args.pix_fmt)  # FFmpeg's own threads
    if args.kind == "seed":
        def run():
            return seed_pipeline(net, args.clip, args.output, args.workdir, device=args.device, encode=encode)
    else:
        def run():
            return pipes_pipeline(net, args.clip, args.output, device=args.device, encode=encode)
    start = cpu_seconds()
    seconds = timed(run, device)
    print(json.dumps({"seconds": seconds, "cpu": cpu_seconds() - start}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
