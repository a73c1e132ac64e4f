"""Planted bugs: does the test suite catch realistic mistakes? (issue 23)

    python scripts/mutants.py              # every mutant, each against the tests that should catch it
    python scripts/mutants.py --only tile-overlap pts-shift

Each mutant is one small, plausible change to the code (an off-by-one tile margin, a dropped
audio packet, a shifted timestamp, a state skipped on resume, the wrong colour matrix, a metric
on RGB instead of Y ...) and the test files that should fail because of it. The script copies the
working tree to a temporary folder, plants one mutant at a time there, runs those tests (``-x``,
stopping at the first failure) and reports CAUGHT or MISSED; the working tree is never touched.
A MISSED mutant is a hole in the suite: write the test that catches it. TESTING.md lists them.
Exit code: the number of missed mutants.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COPIED = ("vsrgan", "tests", "configs", "scripts", "pyproject.toml", "ARCHITECTURE.md")


@dataclass(frozen=True)
class Mutant:
    name: str
    area: str  # frame path, training, evaluation, cluster
    file: str
    old: str  # must occur exactly once in file
    new: str
    tests: tuple[str, ...]  # the test files that should catch it
    why: str


MUTANTS = [
    Mutant("tile-overlap", "frame path", "vsrgan/inference/tiling.py",
           "y0, y1 = max(top - pad, 0) // ALIGN * ALIGN", "y0, y1 = max(top - pad + 1, 0) // ALIGN * ALIGN",
           ("tests/test_frames.py",), "a tile's top margin one pixel short of the receptive radius"),
    Mutant("uint8-truncate", "frame path", "vsrgan/io/frames.py",
           "t = tensor.detach().mul_(255).round_()", "t = tensor.detach().mul_(255).floor_()",
           ("tests/test_frames.py",), "floats truncated to uint8 instead of rounded"),
    Mutant("audio-packet-dropped", "frame path", "vsrgan/io/passthrough.py",
           "            packet.stream = out\n            output.mux(packet)",
           "            packet.stream = out\n            if packet.pts != 0:\n                output.mux(packet)",
           ("tests/test_passthrough.py", "tests/test_upscale.py"), "the first copied audio packet lost"),
    Mutant("pts-shift", "frame path", "vsrgan/io/writer.py",
           "        if not self.constant_rate:\n            return pts", "        if not self.constant_rate:\n            return pts + 1",
           ("tests/test_frames.py", "tests/test_upscale.py"), "every frame shown one tick late"),
    Mutant("hd-matrix", "frame path", "vsrgan/io/colour.py",
           "return BT709 if width >= 1280 or height > 576 else BT601", "return BT709 if width > 1280 or height > 720 else BT601",
           ("tests/test_colour.py",), "720p taken for SD: the wrong YUV matrix"),
    Mutant("ema-not-restored", "training", "vsrgan/training/setup.py",
           '    nets.ema.load_state_dict(checkpoint["ema"])\n', "",
           ("tests/test_train.py",), "resume skips the EMA generator"),
    Mutant("init-ignored", "training", "vsrgan/training/setup.py",
           "    if checkpoint is None and c.train.init:", "    if checkpoint is None and c.train.init and c.train.stage == 'gan':",
           ("tests/test_train.py",), "a pixel-loss fine-tune (x4-real) starts from random weights"),
    Mutant("crop-misaligned", "training", "vsrgan/dataset/crops.py",
           "hr = hr_image[:, y * s : (y + p) * s, x * s : (x + p) * s]", "hr = hr_image[:, y * s + 1 : (y + p) * s + 1, x * s : (x + p) * s]",
           ("tests/test_data.py",), "HR crops one pixel below their LR crops"),
    Mutant("downscale-aliased", "training", "vsrgan/dataset/degrade.py",
           'y = F.interpolate(x, size=(h // scale, w // scale), mode="bicubic", antialias=True, align_corners=False)',
           'y = F.interpolate(x, size=(h // scale, w // scale), mode="bicubic", antialias=False, align_corners=False)',
           ("tests/test_data.py",), "the LR kernel without antialiasing"),
    Mutant("wrong-target-frame", "training", "vsrgan/dataset/realistic.py",
           "lr = round_trip(lr_frames, d.codec)[d.target][m:-m, m:-m]", "lr = round_trip(lr_frames, d.codec)[d.target - 1][m:-m, m:-m]",
           ("tests/test_realistic.py",), "the LR sample taken from the wrong frame of its sequence: misaligned with its HR"),
    Mutant("psnr-on-rgb", "evaluation", "vsrgan/metrics.py",
           "def psnr(a: torch.Tensor, b: torch.Tensor, *, crop_border: int = 0, y_channel: bool = True)",
           "def psnr(a: torch.Tensor, b: torch.Tensor, *, crop_border: int = 0, y_channel: bool = False)",
           ("tests/test_metrics.py",), "PSNR on RGB where the literature reports Y"),
    Mutant("codec-skipped", "evaluation", "vsrgan/evaluation/degraded.py",
           "zip(held, round_trip([s.lr for s in held], codec), strict=True)", "zip(held, [s.lr for s in held], strict=True)",
           ("tests/test_evaluate_degrade.py",), "--degrade scores clean input"),
    Mutant("segments-unordered", "cluster", "vsrgan/cluster/join.py",
           "            for part in parts:", "            for part in sorted(parts, key=lambda p: p.stat().st_size):",
           ("tests/test_cluster.py",), "segments joined in the wrong order"),
    Mutant("denoise-reversed", "frame path", "vsrgan/models/blend.py",
           "torch.lerp(a[name].float(), b[name].float(), strength)", "torch.lerp(a[name].float(), b[name].float(), 1 - strength)",
           ("tests/test_denoise.py",), "--denoise 0.25 gives three quarters of the twin"),
    Mutant("threads-to-encoder", "frame path", "vsrgan/options.py",
           'ENCODE_KEYWORDS = tuple(f.name for f in fields(EncodeOptions) if f.name != "threads")',
           "ENCODE_KEYWORDS = tuple(f.name for f in fields(EncodeOptions))",
           ("tests/test_options.py",), "a job's --threads budget also pins the encoder's threads"),
    Mutant("auto-ncnn-narrow", "frame path", "vsrgan/inference/backends.py",
           '(32, "270p"): ("openvino",),', '(32, "270p"): ("ncnn", "openvino"),',
           ("tests/test_backends.py",), "--backend auto runs the 32-feature x4 at 270p in ncnn, measured no faster than eager there (OpenVINO 1.5x)"),
    Mutant("budget-overrun", "training", "vsrgan/training/loop.py",
           "stop = progress.step if checkpoint is not None and clock.budget_spent() else steps", "stop = steps",
           ("tests/test_train.py",), "a run resumed with its CPU-hours spent trains one more step"),
    Mutant("last-batch-dropped", "frame path", "vsrgan/inference/pipeline.py",
           "        if batch and not _put(q_in, batch, stop):", "        if False and batch and not _put(q_in, batch, stop):",
           ("tests/test_pipeline.py", "tests/test_upscale.py"), "the last, partial batch of a video never upscaled"),
    Mutant("ssim-constant", "evaluation", "vsrgan/metrics.py",
           "SSIM_C1, SSIM_C2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2", "SSIM_C1, SSIM_C2 = (0.01 * 255) ** 2, (0.3 * 255) ** 2",
           ("tests/test_metrics.py",), "SSIM's C2 ten times too large: every score nearer 1"),
    Mutant("ema-swapped", "training", "vsrgan/training/steps.py",
           "        e.lerp_(p, 1 - decay)", "        e.lerp_(p, decay)",
           ("tests/test_train.py",), "the EMA keeps 0.1% of itself each step: it is the raw network"),
    Mutant("segment-frames-short", "cluster", "vsrgan/cluster/segments.py",
           "        last = len(pts) if end is None else bisect.bisect_left(pts, end)",
           "        last = len(pts) - 1 if end is None else bisect.bisect_left(pts, end)",
           ("tests/test_cluster.py",), "the last segment counted one frame short"),
    Mutant("rotation-dropped", "frame path", "vsrgan/io/writer.py",
           "                self.stream.set_display_rotation(rotation)", "                pass",
           ("tests/test_upscale.py", "tests/test_video.py"), "a phone video's rotation not written: it plays sideways"),
    Mutant("input-overwritten", "frame path", "vsrgan/io/atomic.py",
           "        if path.resolve() == source.resolve():", "        if False:",
           ("tests/test_cli.py", "tests/test_upscale.py", "tests/test_damage.py"), "an output path that is the input is accepted"),
    Mutant("cosine-flat", "training", "vsrgan/training/loop.py",
           "factor = floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(step / steps, 1.0)))", "factor = 1.0",
           ("tests/test_train.py",), "the cosine schedule never decays"),
]


def plant(tree: Path, mutant: Mutant) -> str:
    """Apply ``mutant`` in ``tree``; return the file's original text."""
    path = tree / mutant.file
    text = path.read_text()
    if text.count(mutant.old) != 1:
        raise SystemExit(f"mutant {mutant.name}: its code no longer occurs exactly once in {mutant.file}; update MUTANTS")
    path.write_text(text.replace(mutant.old, mutant.new))
    return text


def run_tests(tree: Path, tests: tuple[str, ...]) -> bool:
    """True if the tests fail (the mutant is caught)."""
    env = {**os.environ, "PYTHONPATH": str(tree), "VSRGAN_SAMPLES": str(ROOT / "data" / "samples")}
    done = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests], cwd=tree, env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return done.returncode != 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", default=None, metavar="NAME", help="run only these mutants")
    args = parser.parse_args()
    chosen = [m for m in MUTANTS if args.only is None or m.name in args.only]
    missed = 0
    with tempfile.TemporaryDirectory(prefix="vsrgan-mutants.") as folder:
        tree = Path(folder)
        for name in COPIED:
            source = ROOT / name
            (shutil.copytree if source.is_dir() else shutil.copy2)(source, tree / name)
        files = tuple(sorted({t for m in chosen for t in m.tests}))
        if run_tests(tree, files):
            raise SystemExit(f"{' '.join(files)} fail without any mutant; fix them first")
        for mutant in chosen:
            start = time.monotonic()
            original = plant(tree, mutant)
            try:
                caught = run_tests(tree, mutant.tests)
            finally:
                (tree / mutant.file).write_text(original)
            missed += not caught
            print(f"{'CAUGHT' if caught else 'MISSED'}  {mutant.name:22s} {mutant.area:11s} {time.monotonic() - start:5.0f} s  {mutant.why}", flush=True)
    print(f"{len(chosen) - missed} of {len(chosen)} caught")
    return missed


if __name__ == "__main__":
    sys.exit(main())
