"""Cost of the x4 generator candidates beside the bundled x4's shape: parameters, GMAC, time per frame.

    python scripts/models/arch_table.py                      # the candidates of configs/study/
    python scripts/models/arch_table.py --try span:28:4 --try halfres:64:18   # more shapes, arch:features:blocks

Every network is measured in its deployed form (re-parameterised branches folded), with random
weights, through :class:`vsrgan.inference.upscaler.Upscaler` (eager PyTorch, fp32, channels-last, the CPU
defaults; ``--backend auto``: the candidates on the engine ``vsrgan upscale`` would pick for them, x4
still in eager, as issue #26's budget reads) on one 480x270 frame (-> 1920x1080). The networks take turns within each round (the
order rotating), so a load that comes and goes on the machine slows them all alike; the median
over rounds, as a ratio to x4's, is the number to read: the budget of issue #26 is 1.10.
Prints a Markdown table.
"""

import argparse
import statistics
import time

import torch

from vsrgan.benchmark.flops import count_flops
from vsrgan.inference.upscaler import Upscaler
from vsrgan.models import GeneratorConfig, build_generator

CONTROL = "x4"
# name -> the shape of configs/study/<name>.toml's [model] table
CANDIDATES = {
    "x4": GeneratorConfig(arch="compact", skip="bicubic", num_features=32, num_blocks=16),
    "span": GeneratorConfig(arch="span", skip="bicubic", num_features=32, num_blocks=4),
    "rlfn": GeneratorConfig(arch="rlfn", skip="bicubic", num_features=32, num_blocks=3),
    "halfres": GeneratorConfig(arch="halfres", skip="bicubic", num_features=64, num_blocks=16),
}
BUDGET = 1.10


def parse_shape(text: str) -> tuple[str, GeneratorConfig]:
    """``arch:features:blocks`` -> (that text, its config)."""
    arch, features, blocks = text.split(":")
    return text, GeneratorConfig(arch=arch, skip="bicubic", num_features=int(features), num_blocks=int(blocks))


def deployed(config: GeneratorConfig) -> torch.nn.Module:
    """The network as it ships: built with branches, weights moved off their init, folded."""
    torch.manual_seed(0)
    model = build_generator(GeneratorConfig(**{**config.to_dict(), "reparam": True}))
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.01)
    return model.fused().eval()


def time_frame(upscaler: Upscaler, frame: torch.Tensor) -> float:
    start = time.perf_counter()
    upscaler(frame)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--try", dest="extra", action="append", default=[], metavar="ARCH:F:B", help="another shape to measure")
    parser.add_argument("--only-extra", action="store_true", help="measure x4 and the --try shapes only")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None, help="PyTorch threads (default: PyTorch's count)")
    parser.add_argument("--backend", default="eager", help="the candidates' engine (x4 runs in eager): eager, or auto as vsrgan upscale picks (default: %(default)s)")
    parser.add_argument("--width", type=int, default=480)
    parser.add_argument("--height", type=int, default=270)
    args = parser.parse_args()

    configs = {CONTROL: CANDIDATES[CONTROL]} if args.only_extra else dict(CANDIDATES)
    configs.update(parse_shape(text) for text in args.extra)
    threads = args.threads or torch.get_num_threads()
    frame = torch.rand(1, 3, args.height, args.width)
    upscalers = {}
    for name, c in configs.items():
        upscalers[name] = Upscaler(deployed(c), device="cpu", precision="fp32", threads=threads, backend="eager" if name == CONTROL else args.backend)
        upscalers[name].fit(width=args.width, height=args.height, batch_size=1)  # auto picks its engine for this frame size
    times: dict[str, list[float]] = {name: [] for name in configs}
    for upscaler in upscalers.values():  # warm-up: oneDNN picks its kernels, the heap grows
        time_frame(upscaler, frame)
    names = list(configs)
    for r in range(args.rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            times[name].append(time_frame(upscalers[name], frame))
    medians = {name: statistics.median(t) for name, t in times.items()}

    print(f"{args.width}x{args.height} -> x4, {threads} thread(s), median of {args.rounds} interleaved rounds; budget {BUDGET:.2f}x {CONTROL}\n")
    print("| network | arch | features | blocks | engine | params | GMAC/frame | ms/frame | vs x4 |")
    print("|---|---|---:|---:|---|---:|---:|---:|---:|")
    for name, c in configs.items():
        model = upscalers[name].model
        params = sum(p.numel() for p in model.parameters())
        gmac = count_flops(model, width=args.width, height=args.height) / 2e9
        ratio = medians[name] / medians[CONTROL]
        flag = "" if ratio <= BUDGET else " (over)"
        print(f"| {name} | {c.arch} | {c.num_features} | {c.num_blocks} | {upscalers[name].backend} | {params / 1e3:.0f}k | {gmac:.1f} | {medians[name] * 1e3:.0f} | {ratio:.2f}{flag} |")


if __name__ == "__main__":
    main()
