"""Score the bundled models next to bicubic, as MODELS.md's model cards report them.

    python scripts/models/model_card.py                 # every installed bundled model; rewrites MODELS.md's table

`vsrgan evaluate` on scikit-image's photos (data/eval-photos, never trained on) and on the
held-out tail of each sample clip (the last 15%: the frames `prepare --test-fraction 0.15` kept
out of data/train-x4), with the VGG16 distance: PSNR-Y, SSIM-Y, VGG distance and, on the clips,
tOF (temporal flow difference to the original; lower is steadier). At most ``--max-frames``
consecutive frames per clip keep it to minutes on a CPU. Writes ``training/scores.json`` and the
table between the ``<!-- scores -->`` markers in MODELS.md.
"""

import argparse
import json
import re
from pathlib import Path

from vsrgan.evaluation.evaluate import evaluate
from vsrgan.evaluation.results import METRICS, format_value
from vsrgan.models import BUNDLED, WEIGHTS_DIR
from vsrgan.models.weights import read_metadata

CLIPS = ("cockatoo", "bigbuckbunny", "bikes", "carphone_pristine")
SHOWN = ("psnr_y", "ssim_y", "perceptual", "tof")
BEGIN, END = "<!-- scores -->", "<!-- /scores -->"


def table(groups: dict[str, dict]) -> str:
    """One Markdown row per source and method; the best value of each source in bold."""
    lines = ["| source | method | " + " | ".join(METRICS[m][0] for m in SHOWN) + " |", "| --- | --- |" + " ---: |" * len(SHOWN)]
    for source, group in groups.items():
        methods = group["methods"]
        best = {}
        for m in SHOWN:
            values = [v for scores in methods.values() if (v := scores.get(m)) is not None and v == v]
            best[m] = (max if METRICS[m][1] else min)(values) if values else None
        for name, scores in methods.items():
            cells = []
            for m in SHOWN:
                value = scores.get(m, float("nan"))
                text = format_value(m, value)
                cells.append(f"**{text}**" if value == best[m] and len(methods) > 1 else text)
            lines.append(f"| {source} ({group['samples']}) | {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=Path, default=Path("data/eval-photos"))
    parser.add_argument("--clips", type=Path, default=Path("data/samples"), help="folder with the sample clips (scripts/data/fetch_samples.sh)")
    parser.add_argument("--held-out", type=float, default=0.15, help="the clips' held-out tail (default: %(default)s, as train_bundled.sh)")
    parser.add_argument("--max-frames", type=int, default=8, help="consecutive held-out frames scored per clip (default: %(default)s)")
    parser.add_argument("--vgg-weights", default="auto")
    parser.add_argument("--out", type=Path, default=Path("training/scores.json"))
    parser.add_argument("--models-md", type=Path, default=Path("MODELS.md"))
    args = parser.parse_args()

    models = [name for name, (file, _) in BUNDLED.items() if (WEIGHTS_DIR / file).is_file()]
    common = dict(models=models, vgg_weights=args.vgg_weights, device="cpu", progress=False)
    photos = evaluate([args.photos], **common)
    clips = evaluate([args.clips / f"{c}.mp4" for c in CLIPS], held_out=args.held_out, max_frames=args.max_frames, **common)
    groups = {"scikit-image photos": {"samples": photos.sources[0]["samples"], "methods": photos.summary}}
    for source in clips.sources:
        groups[f"{source['name']}, held out"] = {"samples": source["samples"], "methods": clips.per_source[source["name"]]}
    args.out.write_text(json.dumps(groups, indent=1) + "\n")
    text = args.models_md.read_text()
    if BEGIN in text and END in text:
        steps = ", ".join(f"`{m}` after {int(read_metadata(WEIGHTS_DIR / BUNDLED[m][0]).get('vsrgan.step', 0)):,} steps" for m in models)
        block = f"{BEGIN}\nScored: {steps}.\n\n{table(groups)}\n{END}"
        args.models_md.write_text(re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: block, text, flags=re.S))
    print(table(groups))


if __name__ == "__main__":
    main()
