"""Install a training run's generator as a bundled model, with its model card in the metadata.

    python scripts/models/export_model.py training/x4 x4
    python scripts/models/export_model.py training/x4-gan-gpu x4-gan --trained-on "an H200 GPU"   # wall minutes, not CPU-hours

Scores the run's EMA generator (``RUN/generator.safetensors``) against bicubic with
``vsrgan evaluate`` on scikit-image's three photos (written by scripts/data/fetch_eval_photos.py to
data/eval-photos), and writes ``vsrgan/weights/NAME.safetensors``: the same weights, with a
one-line card (steps, CPU-hours or, with ``--trained-on``, minutes on that GPU, PSNR-Y gain; the
VGG16 distance where scripts/data/fetch_vgg16.sh installed VGG16, the number x4-gan is trained to lower)
that `vsrgan models` prints. Prints the card.
"""

import argparse
import json
from pathlib import Path

from vsrgan.evaluation.evaluate import evaluate
from vsrgan.models import BUNDLED, CARD_KEY, WEIGHTS_DIR, load_generator, save_generator
from vsrgan.models.vgg import default_weights_path
from vsrgan.models.weights import read_metadata
from vsrgan.training.curve import read_records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a training run folder (it holds generator.safetensors and metrics.jsonl)")
    parser.add_argument("name", choices=sorted(BUNDLED), help="the bundled model to write")
    parser.add_argument("--weights", type=Path, default=None, help="which of the run's generators (default: RUN/generator.safetensors, the newest EMA)")
    parser.add_argument("--trained-on", default=None, metavar="GPU",
                        help="the run trained on this GPU (e.g. 'an H200 GPU'): the card gives its wall-clock minutes, not CPU-hours")
    parser.add_argument("--photos", type=Path, default=Path("data/eval-photos"), help="evaluation photos (default: %(default)s)")
    args = parser.parse_args()

    weights = args.weights or args.run / "generator.safetensors"
    meta = read_metadata(weights)
    step = int(meta.get("vsrgan.step", 0))
    records = [r for r in read_records(args.run / "metrics.jsonl") if r.get("step", -1) <= step and "time/cpu_hours" in r]
    last = records[-1] if records else {}
    if args.trained_on:
        spent = f"{last.get('time/wall_hours', 0.0) * 60:.1f} minutes on {args.trained_on}"
    else:
        spent = f"{last.get('time/cpu_hours', 0.0):.1f} CPU-hours"
    vgg = "auto" if default_weights_path("vgg16").is_file() else None
    result = evaluate([args.photos], models=[str(weights)], vgg_weights=vgg, device="cpu", progress=False)
    model = result.methods[1]
    gain = result.summary[model]["psnr_y"] - result.summary["bicubic"]["psnr_y"]
    generator = load_generator(weights)
    params = sum(p.numel() for p in generator.parameters())
    card = (
        f"{params / 1000:.0f}k parameters, {step:,} steps, {spent}; "
        f"PSNR-Y {result.summary[model]['psnr_y']:.2f} dB on astronaut/coffee/chelsea ({gain:+.2f} dB over bicubic)"
    )
    if vgg:
        card += f", VGG distance {result.summary[model]['perceptual']:.3f} (bicubic {result.summary['bicubic']['perceptual']:.3f})"
    out = WEIGHTS_DIR / BUNDLED[args.name][0]
    save_generator(generator, out, metadata={"vsrgan.step": str(step), CARD_KEY: card, "vsrgan.scores": json.dumps(result.summary)})
    print(f"{out}: {card}")


if __name__ == "__main__":
    main()
